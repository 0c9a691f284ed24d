import numpy as np

from privsem.database.calibrate import choose_threshold


def test_threshold_keeps_fpr_and_maximises_tpr():
    pos = np.array([0.5, 0.6, 0.7, 0.45])
    neg = np.array([0.1, 0.2, 0.3, 0.48] + [0.0] * 16)  # 20 negatives: 1 may pass at 5 %
    g = choose_threshold(pos, neg, max_fpr=0.05)
    assert np.mean(neg >= g) <= 0.05 and np.mean(pos >= g) == 1.0
    g0 = choose_threshold(pos, neg, max_fpr=0.0)
    assert 0.48 < g0 < 0.5 and np.mean(pos >= g0) == 0.75
    assert choose_threshold(np.array([0.1]), np.array([0.9]), 0.0) > 0.9  # inseparable: FPR wins


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

    info = PrivacyDB.open(tmp_path / "db").entity_info("chelsea")
    assert info["threshold_method"].startswith("roc(") and 0.2 < info["threshold"] < 0.6
