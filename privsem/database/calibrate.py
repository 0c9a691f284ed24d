"""Γ per entity from an ROC against hard negatives, and hard-negative mining.

Positives are calibration scenes showing a new view of one of the entity's own samples
(along its silhouette, :mod:`.views`); negatives are empty backgrounds, other people
and animals (:mod:`.distractors`, calibration split) and scenes of the DB's other
entities. The patches of negative scenes (one half of them) that the entity's
prototypes claim join its negative bank (hard negatives); then, on the other half, Γ is
the highest threshold that keeps a 97 % true-positive rate while at most ``max_fpr`` of
the negatives pass (:func:`choose_threshold`): the gap above the calibration negatives
is margin for the people and animals calibration never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HARD = 256  # hard-negative prototypes kept per entity


@dataclass
class OperatingPoint:
    """Γ and the rates it gives on the calibration scenes."""

    entity: str
    threshold: float
    tpr: float
    fpr: float
    positives: int
    negatives: int


def choose_threshold(pos: np.ndarray, neg: np.ndarray, max_fpr: float = 0.05, min_tpr: float = 0.97) -> float:
    """Γ on scores ``pos`` / ``neg``: the highest threshold that still passes a share
    ``min_tpr`` of the positives, as long as at most ``max_fpr`` of the negatives pass
    it. The gap above the calibration negatives is kept as margin for other people and
    animals calibration never saw. When no threshold meets both, the highest TPR at
    FPR ≤ ``max_fpr`` wins (halfway to the next positive)."""
    pos = np.sort(np.asarray(pos, np.float64))
    neg = np.sort(np.asarray(neg, np.float64))[::-1]
    allowed = int(np.floor(max_fpr * neg.size))  # negatives that may pass
    floor_neg = neg[allowed] if allowed < neg.size else -np.inf  # Γ must exceed it
    k = int(np.floor((1 - min_tpr) * pos.size))  # positives that may fall below Γ
    high = pos[min(k, pos.size - 1)]
    if high > floor_neg:
        return float(high - 1e-6)
    above = pos[pos > floor_neg]
    if above.size == 0:  # no threshold separates them: stay just above the negatives
        return float(floor_neg + 1e-6)
    return float(0.5 * (floor_neg + above[0]))


def calibration_scenes(db, n_scenes: int, seed: int = 0):
    """``n_scenes`` labelled scenes in two halves (mining, then Γ); in each half every
    other scene is a calibration view of one of the DB's samples, cycling through the
    entities, and the rest alternate between empty backgrounds and distractors."""
    from .distractors import available
    from .scenes import BACKGROUNDS, make_scene

    rng = np.random.default_rng([seed, 7])
    ents = db.entities
    others = available("calibration")
    bgs = BACKGROUNDS["calibration"]
    half = n_scenes // 2
    scenes = []
    for i in range(n_scenes):
        j = i if i < half else i - half  # position within its half
        bg = bgs[int(rng.integers(len(bgs)))]
        if j % 2 == 0:
            e = ents[(j // 2) % len(ents)]
            k = int(rng.integers(len(e.samples)))  # read one sample at a time: a DB may hold thousands
            src = (db.read_sample(e.samples[k]), e.read_mask(k))
            scenes.append(make_scene(e.name, bg, rng, split="calibration", source=src))
        else:
            other = others[(j // 4) % len(others)] if (others and j % 4 == 3) else None
            scenes.append(make_scene(None, bg, rng, split="calibration", distractor=other))
    return scenes


def default_scenes(n_entities: int) -> int:
    """Calibration scenes by default: 80, or 8 per entity for a larger DB (each entity
    then shows in two scenes of each half)."""
    return max(80, 8 * n_entities)


def calibrate(db, n_scenes: int | None = None, seed: int = 0, max_fpr: float = 0.05) -> list[OperatingPoint]:
    """Mine hard negatives and compute each entity's Γ on ``n_scenes`` calibration
    scenes (default :func:`default_scenes`); returns the operating points (the caller
    stores Γ with :meth:`~privsem.database.PrivacyDB.set_threshold`).

    Raises:
        PrivsemError: fewer than 4 scenes per entity (some would show in no half)."""
    from ..errors import PrivsemError
    from ..guard import Guard
    from ..guard.matcher import detection_score
    from ..guard.prototypes import kmeans, normalize

    db.require_current()
    k = len(db.entities)
    n_scenes = n_scenes or default_scenes(k)
    if n_scenes < 4 * k:
        raise PrivsemError(f"calibration needs at least 4 scenes per entity: --scenes {4 * k} or more for {k} entities")
    scenes = calibration_scenes(db, n_scenes, seed)
    enc = db.encoder()
    feats = [enc.features(s.image) for s in scenes]
    half = len(scenes) // 2  # mine on one half, choose Γ on the other (no score on seen patches)
    guard = Guard(db)
    maps = [guard.score_maps(f) for f in feats[:half]]  # every entity's map, once per scene
    for e in db.entities:  # patches of negative scenes that the entity claims
        hard = [normalize(f[m[e.name] > 0] - db.mu)
                for s, f, m in zip(scenes[:half], feats[:half], maps) if s.entity != e.name]
        hard = np.concatenate([db.hard_negatives(e.name), *hard])  # a second calibration adds to the first
        db.set_hard_negatives(e.name, kmeans(hard, HARD, seed=2) if len(hard) else hard)
    guard = Guard(db)
    maps = [guard.score_maps(f) for f in feats[half:]]
    points = []
    for e in db.entities:
        scores = np.array([detection_score(m[e.name]) for m in maps])
        is_pos = np.array([s.entity == e.name for s in scenes[half:]])
        pos, neg = scores[is_pos], scores[~is_pos]
        gamma = choose_threshold(pos, neg, max_fpr)
        points.append(OperatingPoint(e.name, round(gamma, 4), float(np.mean(pos >= gamma)),
                                     float(np.mean(neg >= gamma)), int(pos.size), int(neg.size)))
    return points


def calibrate_db(db, n_scenes: int | None = None, seed: int = 0, max_fpr: float = 0.05) -> list[OperatingPoint]:
    """:func:`calibrate`, then store each entity's Γ in the DB (what ``db calibrate`` does)."""
    n_scenes = n_scenes or default_scenes(len(db.entities))
    points = calibrate(db, n_scenes, seed, max_fpr)
    for p in points:
        db.set_threshold(p.entity, p.threshold, f"roc(max_fpr={max_fpr}, scenes={n_scenes})")
    return points
