import numpy as np
import pytest

from privsem.database import distractors as dm
from privsem.database.distractors import DISTRACTORS, available, distractor
from privsem.errors import PrivsemError


def test_every_available_distractor_is_an_rgb_float_crop():
    names = available()
    assert names, "matplotlib's and scikit-image's pictures are always there"
    for name in names:
        img = distractor(name)
        assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] == 3, name
        assert img.shape[0] >= 64 and img.shape[1] >= 64, name
        assert 0.0 <= img.min() and img.max() <= 1.0, name
        assert img.std() > 0.05, f"{name}: crop is flat"
        y0, y1, x0, x1 = DISTRACTORS[name].box
        assert img.shape[:2] == (y1 - y0, x1 - x0), f"{name}: box exceeds its picture"


def test_table_is_well_formed():
    for d in DISTRACTORS.values():
        assert d.klass in dm.CLASSES and d.split in dm.SPLITS and d.source in ("matplotlib", "skimage", "opencv")
    assert DISTRACTORS["grace_hopper"].split == "heldout" and DISTRACTORS["dog"].split == "heldout"
    for split in dm.SPLITS:
        assert {d.klass for d in DISTRACTORS.values() if d.split == split} == set(dm.CLASSES)


def test_grace_hopper_is_always_available():
    assert "grace_hopper" in available("heldout")
    assert "grace_hopper" not in available("calibration")


def test_each_split_has_a_person_and_an_animal():
    if dm.photos_dir() is None:
        pytest.skip("OpenCV sample pictures not installed (apt-get install opencv-doc, or ./setup.sh)")
    assert set(available()) == set(DISTRACTORS)
    for split in dm.SPLITS:
        classes = {DISTRACTORS[n].klass for n in available(split)}
        assert classes == {"person", "animal"}, split


def test_missing_picture_is_a_user_error(monkeypatch, tmp_path):
    monkeypatch.setattr(dm, "photos_dir", lambda: None)
    assert all(DISTRACTORS[n].source != "opencv" for n in available())
    assert "cameraman" in available() and "grace_hopper" in available()

    monkeypatch.setattr(dm, "photos_dir", lambda: tmp_path)
    names = available()
    assert "grace_hopper" in names and "dog" not in names and "messi" not in names
    with pytest.raises(PrivsemError, match="opencv-doc"):
        distractor("dog")
    with pytest.raises(PrivsemError, match="unknown distractor"):
        distractor("chelsea")


def test_photos_dir_search_order(monkeypatch, tmp_path):
    (tmp_path / "messi5.jpg").write_bytes(b"")
    monkeypatch.setattr(dm, "DEBIAN_PHOTOS", tmp_path / "absent")
    monkeypatch.setenv("PRIVSEM_PHOTOS", str(tmp_path))
    assert dm.photos_dir() == tmp_path
    monkeypatch.setenv("PRIVSEM_PHOTOS", str(tmp_path / "nowhere"))
    monkeypatch.setattr(dm.sys, "prefix", str(tmp_path / "prefix"))
    assert dm.photos_dir() is None
