import json

import numpy as np
import pytest

from privsem.codec.data import skimage_image
from privsem.database import PrivacyDB
from privsem.errors import IntegrityError, PrivsemError
from privsem.imageio import save_image


@pytest.fixture()
def samples(tmp_path):
    img = skimage_image("chelsea")
    files = []
    for i, (y0, y1, x0, x1) in enumerate([(20, 300, 60, 380), (60, 180, 110, 360)]):
        f = tmp_path / f"s{i}.png"
        save_image(f, img[y0:y1, x0:x1])
        files.append(f)
    return files


def test_create_add_list_remove(tmp_path, samples):
    root = tmp_path / "db"
    PrivacyDB.create(root)
    db = PrivacyDB.open(root)
    e = db.add("vicky", "the cat Vicky", samples)
    assert e.feature.shape == (96,) and e.feature.dtype == np.float32
    assert np.linalg.norm(e.feature) == pytest.approx(1.0, abs=1e-5)
    info = db.entity_info("vicky")
    # Γ sits between what generic pictures score and what the samples score.
    assert info["generic_max_score"] < e.threshold < info["samples_min_score"]
    again = PrivacyDB.open(root)
    assert [x.name for x in again.entities] == ["vicky"]
    assert all(p.is_file() for p in again.entities[0].samples)
    assert len(again.key) == 32
    again.remove("vicky")
    assert PrivacyDB.open(root).entities == []
    assert not (root / "features" / "vicky.safetensors").exists()


@pytest.mark.parametrize("target", ["samples/vicky/00.png", "features/vicky.safetensors",
                                    "encoder_mean.safetensors"])
def test_tampering_is_refused(tmp_path, samples, target):
    root = tmp_path / "db"
    PrivacyDB.create(root).add("vicky", "the cat Vicky", samples)
    with open(root / target, "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(IntegrityError, match="modified"):
        PrivacyDB.open(root)


def test_missing_file_is_refused(tmp_path, samples):
    root = tmp_path / "db"
    PrivacyDB.create(root).add("vicky", "the cat Vicky", samples)
    (root / "samples/vicky/01.png").unlink()
    with pytest.raises(IntegrityError, match="missing file samples/vicky/01.png"):
        PrivacyDB.open(root)


def test_user_errors(tmp_path, samples):
    with pytest.raises(PrivsemError, match="not a privacy database"):
        PrivacyDB.open(tmp_path / "nothing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(PrivsemError, match="not a privacy database"):
        PrivacyDB.open(bad)
    root = tmp_path / "db"
    db = PrivacyDB.create(root)
    with pytest.raises(PrivsemError, match="bad entity name"):
        db.add("Bad Name!", "x", samples)
    with pytest.raises(PrivsemError, match="image not found"):
        db.add("ok", "x", [tmp_path / "missing.png"])
    with pytest.raises(PrivsemError, match="not an empty directory"):
        PrivacyDB.create(root)
    with pytest.raises(PrivsemError, match="unknown encoder"):
        PrivacyDB.create(tmp_path / "db2", encoder="resnet9000")
