import numpy as np

from privsem.database.scenes import BACKGROUNDS, CUTOUTS, cutout, scene_set


def test_cutouts_have_true_elliptical_masks():
    for name in CUTOUTS:
        pix, mask = cutout(name)
        assert pix.shape[:2] == mask.shape and mask.dtype == bool
        assert 0.7 < mask.mean() < 0.8  # π/4 of the bounding box, give or take the edges


def test_scene_sets_are_labelled_and_split():
    assert not set(BACKGROUNDS["calibration"]) & set(BACKGROUNDS["heldout"])
    scenes = scene_set("heldout", 8, seed=1)
    assert [s.entity is None for s in scenes] == [False, True] * 4
    assert {s.entity for s in scenes} == {None, "chelsea", "astronaut"}
    for s in scenes:
        assert s.image.shape == (384, 512, 3) and s.image.dtype == np.float32
        assert s.background in BACKGROUNDS["heldout"]
        assert (s.mask.any()) == (s.entity is not None)
        if s.entity:
            assert 0.03 < s.mask.mean() < 0.6
    again = scene_set("heldout", 8, seed=1)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(scenes, again))
