"""``privsem bench guard``: detection TPR / FPR, mask IoU against the true masks, and
time per image, on held-out generated scenes (:mod:`privsem.database.scenes`)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ..metrics.image import mask_iou


def _auc(pos: list[float], neg: list[float]) -> float:
    """Area under the ROC curve (probability a positive outscores a negative)."""
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def run(db_dir: str | Path | None = None, n_scenes: int = 60, seed: int = 0) -> dict:
    """Figures on ``n_scenes`` held-out scenes (half with an entity). Without ``db_dir``
    the example DB is built in a temporary folder."""
    from ..database import PrivacyDB
    from ..database.example import build_example_db
    from ..database.scenes import scene_set
    from ..guard import Guard

    with tempfile.TemporaryDirectory() as tmp:
        db = PrivacyDB.open(db_dir) if db_dir else build_example_db(Path(tmp) / "db")
        guard = Guard(db)
        names = [e.name for e in db.entities]
        scenes = scene_set("heldout", n_scenes, seed, entities=tuple(n for n in names if n in ("chelsea", "astronaut")))
        guard(scenes[0].image)  # warm-up
        tp = fp = n_pos = n_neg = 0
        ious, times, pos_scores, neg_scores = [], [], [], []
        for s in scenes:
            t = time.perf_counter()
            r = guard(s.image)
            times.append(time.perf_counter() - t)
            if s.entity is None:
                n_neg += 1
                fp += bool(r.detected)
                neg_scores.append(max(r.scores.values()))
            else:
                n_pos += 1
                pos_scores.append(r.scores[s.entity])
                if s.entity in r.detected:
                    tp += 1
                    ious.append(mask_iou(r.masks[s.entity], s.mask))
        from ..codec.data import skimage_image

        big = skimage_image("astronaut")  # a real 512×512 photo
        t = time.perf_counter()
        for _ in range(3):
            guard(big)
        t_512 = (time.perf_counter() - t) / 3
    return {"tpr": round(tp / max(n_pos, 1), 4), "seconds_per_512x512": round(t_512, 4), "fpr": round(fp / max(n_neg, 1), 4),
            "mask_iou": round(float(np.mean(ious)), 4) if ious else None,
            "seconds_per_image": round(float(np.mean(times)), 4), "image_shape": list(scenes[0].image.shape[:2]),
            "roc_auc": round(_auc(pos_scores, neg_scores), 4), "scenes": n_scenes, "positives": n_pos,
            "negatives": n_neg, "encoder": db.encoder_name,
            "data": "held-out generated scenes: elliptical cut-outs of skimage chelsea/astronaut on "
                    "held-out skimage backgrounds (privsem.database.scenes)"}
