"""A second identity judge for people: dlib's face recogniser, the one an attacker
would use.

The guard decides what is removed; judging what was restored with the same features
would let one model grade its own work. For an entity whose DB samples show a face,
this judge finds faces in an output image and measures the 128-d descriptor distance
of the nearest one to the entity's sample faces (dlib's ResNet, 99.38 % on LFW at 0.6).
``recognized`` is distance < 0.6; an output with no face found is not recognized.
Entities without faces (animals) get no verdict (None).
"""

from __future__ import annotations

import numpy as np

NO_FACE = 2.0  # the "distance" of an image with no face: farther than any face


class FaceJudge:
    """``FaceJudge(db)``: ``distance(img, entity) -> float | None`` and
    ``recognized(img, entity) -> bool | None`` (None: the entity has no face path)."""

    def __init__(self, db) -> None:
        from ..guard import face

        self.faces = {e.name: e.faces for e in db.entities if e.faces is not None and len(e.faces)}
        self.encoder = face.cached_encoder() if (self.faces and face.available()) else None

    def distance(self, img: np.ndarray, entity: str) -> float | None:
        """Distance of the nearest face in ``img`` (float32 ``(H, W, 3)`` in [0, 1]) to
        ``entity``'s sample faces; :data:`NO_FACE` when none is found; None when the
        entity has no face path or dlib is missing."""
        if entity not in self.faces or self.encoder is None:
            return None
        found = self.encoder.faces(img)
        if not found:
            return NO_FACE
        d = np.linalg.norm(self.faces[entity][None] - np.stack([f.descriptor for f in found])[:, None], axis=-1)
        return float(d.min())

    def recognized(self, img: np.ndarray, entity: str) -> bool | None:
        from ..guard.face import MATCH_DISTANCE

        d = self.distance(img, entity)
        return None if d is None else d < MATCH_DISTANCE


def roc_auc(pos, neg) -> float | None:
    """P(a positive scores above a negative), ties half; None without both."""
    pos, neg = [p for p in pos if p is not None], [n for n in neg if n is not None]
    if not pos or not neg:
        return None
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def tar_at_far(pos, neg, far: float = 0.01) -> float | None:
    """True-accept rate at the threshold where a share ``far`` of the negatives is
    (falsely) accepted: scores above the ⌈(1 − far)⌉ quantile of ``neg``."""
    pos, neg = [p for p in pos if p is not None], [n for n in neg if n is not None]
    if not pos or not neg:
        return None
    t = float(np.quantile(np.asarray(neg, np.float64), 1 - far, method="higher"))
    return float(np.mean(np.asarray(pos) > t))
