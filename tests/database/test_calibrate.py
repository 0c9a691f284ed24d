import numpy as np
import pytest

from privsem.database.calibrate import choose_threshold


def test_threshold_keeps_fpr_and_leaves_margin_above_the_negatives():
    pos = np.array([0.5, 0.6, 0.7, 0.45])
    neg = np.array([0.1, 0.2, 0.3, 0.48] + [0.0] * 16)  # 20 negatives: 1 may pass at 5 %
    g = choose_threshold(pos, neg, max_fpr=0.05)
    assert np.mean(neg >= g) <= 0.05 and np.mean(pos >= g) == 1.0
    assert g == pytest.approx(0.45, abs=1e-5)  # as high as TPR 1 allows, not halfway to 0.3
    g0 = choose_threshold(pos, neg, max_fpr=0.0)
    assert 0.48 < g0 < 0.5 and np.mean(pos >= g0) == 0.75  # the FPR bound wins over TPR
    assert choose_threshold(np.array([0.1]), np.array([0.9]), 0.0) > 0.9  # inseparable: FPR wins
    many = np.linspace(0.3, 0.9, 100)  # 97 % of 100 positives: the 3 lowest may fall below Γ
    g97 = choose_threshold(many, np.zeros(20), 0.05)
    assert np.sum(many < g97) == 3


def test_calibrate_command(tmp_path, example_db):
    import shutil
    import subprocess
    import sys

    shutil.copytree(example_db[0], tmp_path / "db")
    p = subprocess.run([sys.executable, "-m", "privsem", "db", "calibrate", str(tmp_path / "db"), "--scenes", "12"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "chelsea" in p.stdout and "astronaut" in p.stdout
    from privsem.database import PrivacyDB

    db = PrivacyDB.open(tmp_path / "db")
    info = db.entity_info("chelsea")
    assert info["threshold_method"].startswith("roc(") and 0.05 < info["threshold"] < 0.6
    e = next(e for e in db.entities if e.name == "chelsea")
    assert len(e.negatives) > 1024  # the hard negatives mined (then and now) are in the bank
    assert len(db.hard_negatives("chelsea")) >= len(PrivacyDB.open(example_db[0]).hard_negatives("chelsea"))
