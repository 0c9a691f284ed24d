import numpy as np

from privsem.database.scenes import BACKGROUNDS, CUTOUTS, cutout, scene_set


def test_cutouts_follow_the_hand_drawn_outline():
    import cv2

    from privsem.database.silhouettes import POLYGONS, silhouette

    for name in CUTOUTS:
        img, mask = silhouette(name)
        hand = np.zeros(mask.shape, np.uint8)
        cv2.fillPoly(hand, [np.asarray(POLYGONS[name][1], np.int32)], 1)
        inter, union = (mask & (hand > 0)).sum(), (mask | (hand > 0)).sum()
        assert inter / union > 0.9  # GrabCut moved the outline onto edges, not elsewhere
        pix, m = cutout(name)
        assert pix.shape[:2] == m.shape and m.dtype == bool and m.any(axis=0).all() and m.any(axis=1).all()


def test_views_are_split_and_transform_the_silhouette():
    from privsem.database.silhouettes import silhouette
    from privsem.database.views import make_view

    img, mask = silhouette("astronaut")
    a = make_view(img, mask, "heldout", np.random.default_rng(3))
    b = make_view(img, mask, "heldout", np.random.default_rng(3))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)  # deterministic
    assert a.image.shape[:2] == a.mask.shape and a.image.dtype == np.float32
    assert 0 <= a.image.min() and a.image.max() <= 1
    area = mask.sum()
    for seed in range(6):
        v = make_view(img, mask, "db", np.random.default_rng(seed))
        assert abs(v.params["rotation"]) <= 8 and v.params["occluded"] == 0
        assert 0.85 < v.mask.sum() / area < 1.15  # a similarity warp keeps the area
        h = make_view(img, mask, "heldout", np.random.default_rng(100 + seed))
        assert abs(h.params["rotation"]) <= 30 and h.params["occluded"] < 0.3


def test_scene_sets_are_labelled_and_split():
    assert not set(BACKGROUNDS["calibration"]) & set(BACKGROUNDS["heldout"])
    scenes = scene_set("heldout", 8, seed=1)
    assert [s.entity is None for s in scenes] == [False, True] * 4
    assert {s.entity for s in scenes} == {None, "chelsea", "astronaut"}
    assert all(s.distractor is None for s in scenes[1::4])  # empty, then another person or animal
    for s in scenes:
        assert s.image.shape == (384, 512, 3) and s.image.dtype == np.float32
        assert s.background in BACKGROUNDS["heldout"]
        assert (s.mask.any()) == (s.entity is not None)
        if s.entity:
            assert 0.03 < s.mask.mean() < 0.6
    again = scene_set("heldout", 8, seed=1)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(scenes, again))
