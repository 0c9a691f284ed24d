"""``privsem bench guard``: per entity TPR, FPR on other people and animals and on empty
scenes, ROC AUC, mask IoU against the true silhouettes, and seconds per image, on
held-out scenes (:mod:`privsem.database.scenes`): new views of the entities (rotation up
to ±30°, perspective, scale, mirror, light, colour temperature, blur, noise, partial
occlusion) pasted along their real silhouettes on backgrounds calibration never used,
other people and animals calibration never saw, and empty backgrounds. Also the whole
photos: the entities' own pictures and Grace Hopper's portrait (not in the DB)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ..metrics.image import mask_iou


def _auc(pos: list[float], neg: list[float]) -> float | None:
    """Area under the ROC curve (probability a positive outscores a negative)."""
    if not pos or not neg:
        return None
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return round(float(np.mean((p > n) + 0.5 * (p == n))), 4)


def _rate(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def _evidence(r, name: str, gamma: float) -> float:
    """Detection evidence on one scale: the patch margin score − Γ, raised to the face
    match's margin (0.6 − distance) where a face matched, −1 where a face vetoed."""
    e = r.scores[name] - gamma
    if name in r.vetoed:
        return -1.0
    if name in r.faces and r.faces[name] < 0.6:
        e = max(e, 0.6 - r.faces[name])
    return e


def run(db_dir: str | Path | None = None, n_scenes: int = 120, seed: int = 0, figure: str | Path | None = None,
        device=None) -> dict:
    """Figures on ``n_scenes`` held-out scenes (half with an entity, a quarter with
    another person or animal, a quarter empty). Without ``db_dir`` the example DB is
    built (and calibrated) in a temporary folder. ``figure``: a PNG of the first 12
    scenes with the true outline (green) and what the guard removed (red). ``device``:
    where the guard's image encoder runs (default CPU)."""
    from ..codec.data import skimage_image
    from ..database import PrivacyDB
    from ..database.distractors import DISTRACTORS, available
    from ..database.example import build_example_db
    from ..database.scenes import CUTOUTS, scene_set
    from ..database.silhouettes import silhouette
    from ..guard import Guard

    with tempfile.TemporaryDirectory() as tmp:
        db = PrivacyDB.open(db_dir) if db_dir else build_example_db(Path(tmp) / "db")
        guard = Guard(db, device=device)
        gammas = {e.name: e.threshold for e in db.entities}
        face_path = {e.name: bool(e.faces is not None and len(e.faces)) for e in db.entities}
        names = tuple(n for n in gammas if n in CUTOUTS)
        scenes = scene_set("heldout", n_scenes, seed, entities=names)
        guard(scenes[0].image)  # warm-up
        per = {n: {"tp": 0, "pos": 0, "ious": [], "pos_ev": [], "fp_distractor": 0, "fp_empty": 0,
                   "fp_other_entity": 0, "neg_ev": []} for n in gammas}
        n_dis = n_empty = fp_dis = fp_empty = 0
        times, looks = [], []
        for s in scenes:
            t = time.perf_counter()
            r = guard(s.image)
            times.append(time.perf_counter() - t)
            n_dis += s.distractor is not None
            n_empty += s.entity is None and s.distractor is None
            fp_dis += bool(s.distractor and r.detected)
            fp_empty += bool(s.entity is None and s.distractor is None and r.detected)
            for name, p in per.items():
                ev = _evidence(r, name, gammas[name])
                hit = name in r.detected
                if s.entity == name:
                    p["pos"] += 1
                    p["pos_ev"].append(ev)
                    if hit:
                        p["tp"] += 1
                        p["ious"].append(mask_iou(r.masks[name], s.mask))
                else:
                    p["neg_ev"].append(ev)
                    key = ("fp_distractor" if s.distractor else "fp_other_entity" if s.entity else "fp_empty")
                    p[key] += hit
            if len(looks) < 12:
                looks.append((s, r))
        # the whole photos: its own pictures must be removed, a stranger's portrait kept
        photos = {}
        for name in names:
            img, true = silhouette(name)
            r = guard(img)
            photos[name] = {"removed": name in r.detected,
                            "mask_iou": round(mask_iou(r.masks[name], true), 4) if name in r.detected else None}
        from ..imageio import load_image

        import matplotlib.cbook

        hopper = load_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
        r = guard(hopper)
        photos["grace_hopper (not in the DB)"] = {"removed": bool(r.detected), "detected": r.detected,
                                                  "face_distance": r.faces, "vetoed": r.vetoed}
        big = skimage_image("astronaut")  # a real 512×512 photo, face path included
        t = time.perf_counter()
        for _ in range(3):
            guard(big)
        t_512 = (time.perf_counter() - t) / 3
    entities = {}
    for name, p in per.items():
        if not p["pos"]:
            continue
        n_other = n_scenes - p["pos"] - n_dis - n_empty
        entities[name] = {
            "tpr": _rate(p["tp"], p["pos"]), "positives": p["pos"],
            "fpr_distractors": _rate(p["fp_distractor"], n_dis), "fpr_empty": _rate(p["fp_empty"], n_empty),
            "fpr_other_entity": _rate(p["fp_other_entity"], n_other),
            "roc_auc": _auc(p["pos_ev"], p["neg_ev"]),
            "mask_iou": round(float(np.mean(p["ious"])), 4) if p["ious"] else None,
            "mask_iou_min": round(float(np.min(p["ious"])), 4) if p["ious"] else None,
            "gamma": gammas[name], "face_path": face_path[name],
        }
    if figure is not None:
        _figure(looks, figure)
    tp = sum(p["tp"] for p in per.values())
    pos = sum(p["pos"] for p in per.values())
    ious = [i for p in per.values() for i in p["ious"]]
    return {"tpr": _rate(tp, pos),
            "fpr_distractors": _rate(fp_dis, n_dis), "fpr_empty": _rate(fp_empty, n_empty),
            "mask_iou": round(float(np.mean(ious)), 4) if ious else None,
            "seconds_per_image": round(float(np.mean(times)), 4), "seconds_per_512x512": round(t_512, 4),
            "image_shape": list(scenes[0].image.shape[:2]), "scenes": n_scenes, "positives": pos,
            "distractor_scenes": n_dis, "empty_scenes": n_empty, "entities": entities, "photos": photos,
            "encoder": db.encoder_name,
            "distractors": sorted(available("heldout")),
            "data": ("held-out scenes of privsem.database.scenes: views of one photo per entity (skimage chelsea, "
                     "astronaut) along hand-drawn, GrabCut-snapped silhouettes, rotation ±30°, perspective, light, "
                     "colour, blur, noise, occlusion; backgrounds " + ", ".join(sorted(set(s.background for s in scenes)))
                     + "; other people and animals: " + ", ".join(
                         f"{n} ({DISTRACTORS[n].klass})" for n in sorted(available("heldout")))
                     + ". Views of one photo, not new photos of the individual.")}


def _figure(looks, path) -> None:
    """Scenes with the true outline (green) and the guard's mask (red tint)."""
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 4
    rows = (len(looks) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (s, r) in zip(axes.flat, looks):
        im = s.image.copy()
        im[r.mask] = 0.45 * im[r.mask] + 0.55 * np.array([1.0, 0.0, 0.0])
        u8 = np.ascontiguousarray((im * 255).astype(np.uint8))
        contours, _ = cv2.findContours(s.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(u8, contours, -1, (0, 255, 0), 2)
        ax.imshow(u8)
        truth = s.entity or (f"{s.distractor} (not listed)" if s.distractor else "empty")
        ax.set_title(f"{truth} → {', '.join(r.detected) or 'kept'}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
