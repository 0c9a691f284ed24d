import numpy as np
import pytest

from privsem.database import PrivacyDB
from privsem.guard import Guard, apply_guard
from privsem.imageio import load_image

# Rough boxes of the entities in the scenes (y0, y1, x0, x1), read off the pictures.
CAT_BOX = (0, 300, 0, 370)
ASTRONAUT_BOX = (30, 512, 20, 380)


@pytest.fixture(scope="module")
def guard(example_db):
    return Guard(PrivacyDB.open(example_db[0]))


def _inside(mask, box):
    y0, y1, x0, x1 = box
    return mask[y0:y1, x0:x1].sum() / mask.sum()


def test_finds_the_cat(guard, example_db):
    img = load_image(example_db[1] / "chelsea.png")
    r = guard(img)
    assert r.entity == "chelsea" and r.prompt == "the cat Chelsea"
    assert r.detected == ["chelsea"]
    assert 0.4 < r.mask.mean() < 0.8  # the cat fills most of the frame
    assert _inside(r.mask, CAT_BOX) > 0.95
    assert r.score >= PrivacyDB.open(example_db[0]).entity_info("chelsea")["threshold"]
    a = apply_guard(img, r.mask)
    assert np.all(a[r.mask] == 0) and np.array_equal(a[~r.mask], img[~r.mask])


def test_finds_the_astronaut(guard, example_db):
    r = guard(load_image(example_db[1] / "astronaut.png"))
    assert r.entity == "astronaut"
    assert 0.15 < r.mask.mean() < 0.6
    assert _inside(r.mask, ASTRONAUT_BOX) > 0.95


def test_negative_scene_untouched(guard, example_db):
    r = guard(load_image(example_db[1] / "coffee.png"))
    assert r.entity is None and r.prompt is None and not r.mask.any()
    assert guard.identify(load_image(example_db[1] / "coffee.png"))[0] is None


def test_identify_agrees(guard, example_db):
    for name in ("chelsea", "astronaut"):
        found, score = guard.identify(load_image(example_db[1] / f"{name}.png"))
        assert found == name and score > 0.3


def test_removing_the_entity_removes_its_identity(guard, example_db):
    img = load_image(example_db[1] / "chelsea.png")
    r = guard(img)
    assert guard.identify(apply_guard(img, r.mask))[0] is None
