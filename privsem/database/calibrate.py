"""Γ per entity from an ROC: detection scores on scenes that show the entity
(positives) and on scenes that do not (negatives: no entity, or another one).

The operating point is the lowest Γ whose false-positive rate stays at or below
``max_fpr`` (so the highest TPR under that FPR), placed halfway to the next higher
negative score for margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class OperatingPoint:
    """Γ and the rates it gives on the calibration scenes."""

    entity: str
    threshold: float
    tpr: float
    fpr: float
    positives: int
    negatives: int


def choose_threshold(pos: np.ndarray, neg: np.ndarray, max_fpr: float = 0.05) -> float:
    """Γ with FPR ≤ ``max_fpr`` and the highest TPR on scores ``pos`` / ``neg``."""
    neg = np.sort(np.asarray(neg, np.float64))[::-1]
    allowed = int(np.floor(max_fpr * neg.size))  # negatives that may pass
    if neg.size == 0:
        return float(np.min(pos))
    # Γ must exceed the (allowed+1)-th highest negative score
    floor_neg = neg[allowed] if allowed < neg.size else -1.0
    above = np.sort(np.asarray(pos, np.float64))
    above = above[above > floor_neg]
    if above.size == 0:  # no threshold separates them: stay just above the negatives
        return float(floor_neg + 1e-6)
    return float(0.5 * (floor_neg + above[0]))


def calibrate(db, n_scenes: int = 80, seed: int = 0, max_fpr: float = 0.05) -> list[OperatingPoint]:
    """Score the calibration scenes with every entity of ``db`` and set each Γ."""
    from ..guard.matcher import detection_score, similarity_map
    from .scenes import CUTOUTS, scene_set

    names = [e.name for e in db.entities]
    known = tuple(n for n in names if n in CUTOUTS)
    scenes = scene_set("calibration", n_scenes, seed, entities=known or tuple(CUTOUTS))
    enc = db.encoder()
    feats = [enc.features(s.image) for s in scenes]
    points = []
    for e in db.entities:
        scores = np.array([detection_score(similarity_map(f, e.feature, db.mu)) for f in feats])
        is_pos = np.array([s.entity == e.name for s in scenes])
        if not is_pos.any():  # no generated scene shows it: its own samples are the positives
            own = [detection_score(similarity_map(enc.features(db.read_sample(p)), e.feature, db.mu))
                   for p in e.samples]
            pos, neg = np.asarray(own), scores
        else:
            pos, neg = scores[is_pos], scores[~is_pos]
        gamma = choose_threshold(pos, neg, max_fpr)
        points.append(OperatingPoint(e.name, round(gamma, 4), float(np.mean(pos >= gamma)),
                                     float(np.mean(neg >= gamma)), int(pos.size), int(neg.size)))
    return points
