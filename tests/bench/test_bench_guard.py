"""The guard bench on a few held-out scenes: structure and value ranges (the figures
themselves are reported by `privsem bench guard`, not asserted here)."""

from privsem.bench.guard import _auc, run
from privsem.metrics.image import mask_iou as _iou


def test_bench_guard_structure(example_db):
    r = run(example_db[0], n_scenes=6)
    assert set(r) >= {"tpr", "fpr", "mask_iou", "seconds_per_image", "roc_auc"}
    assert 0 <= r["tpr"] <= 1 and 0 <= r["fpr"] <= 1 and 0 <= r["roc_auc"] <= 1
    assert r["positives"] == r["negatives"] == 3 and r["seconds_per_image"] > 0


def test_helpers():
    import numpy as np

    a = np.zeros((4, 4), bool)
    a[:2] = True
    assert _iou(a, a) == 1.0 and _iou(a, ~a) == 0.0
    assert _auc([0.9, 0.8], [0.1, 0.2]) == 1.0 and _auc([0.1], [0.9]) == 0.0
