"""The guard bench on a few held-out scenes: structure and value ranges (the figures
themselves are reported by `privsem bench guard`, not asserted here)."""

from privsem.bench.guard import _auc, run
from privsem.metrics.image import mask_iou as _iou


def test_bench_guard_on_held_out_scenes(example_db, tmp_path):
    r = run(example_db[0], n_scenes=8, figure=tmp_path / "looks.png")
    assert set(r) >= {"tpr", "fpr_distractors", "fpr_empty", "mask_iou", "seconds_per_image", "entities", "photos"}
    assert r["positives"] == 4 and r["distractor_scenes"] + r["empty_scenes"] == 4 and r["seconds_per_image"] > 0
    # the values: every entity found along its outline, nothing else removed (bench: 120 scenes)
    assert r["tpr"] == 1.0 and r["fpr_empty"] == 0.0 and r["mask_iou"] > 0.85
    for name in ("chelsea", "astronaut"):
        e = r["entities"][name]
        assert e["tpr"] == 1.0 and e["roc_auc"] > 0.9 and e["gamma"] > 0
        assert r["photos"][name]["removed"] and r["photos"][name]["mask_iou"] > 0.75
    assert r["entities"]["astronaut"]["face_path"] and not r["entities"]["chelsea"]["face_path"]
    assert r["photos"]["grace_hopper (not in the DB)"]["removed"] is False
    assert "views of one photo" in r["data"].lower()
    assert (tmp_path / "looks.png").read_bytes()[:4] == b"\x89PNG"


def test_helpers():
    import numpy as np

    a = np.zeros((4, 4), bool)
    a[:2] = True
    assert _iou(a, a) == 1.0 and _iou(a, ~a) == 0.0
    assert _auc([0.9, 0.8], [0.1, 0.2]) == 1.0 and _auc([0.1], [0.9]) == 0.0 and _auc([], [0.1]) is None
