"""A second identity judge for people: dlib's face recogniser, the one an attacker
would use.

The guard decides what is removed; judging what was restored with the same features
would let one model grade its own work. For an entity whose DB samples show a face,
this judge finds faces in an output image and measures the 128-d descriptor distance
of the nearest one to the entity's sample faces (dlib's ResNet, 99.38 % on LFW at 0.6).
``recognized`` is distance < 0.6; an output with no face found is not recognized.
Entities without faces (animals) get no verdict (None).

It searches as an attacker would, harder than the guard's face path: the detector scans
a copy whose long side is 1 280 px (the guard's 896 misses faces under ~32 px in a
512-px picture), and where it finds no upright face it tries the picture turned by
±15° and ±30° (dlib's HOG detector finds frontal faces within about ±15° of upright),
keeping the nearest face found. On the 12 held-out astronaut scenes of
:mod:`privsem.database.scenes` it finds the face in 11 of the untouched scenes, where the
guard's encoder alone found 9.

Given the privacy region (``region``), only faces at least half inside it count: the
question is whether the restored region shows the individual. Without it, a face
elsewhere in the picture counts too; on the held-out ``coins`` backgrounds one of the
coins' heads passes within 0.6 of the astronaut's faces, whatever fills the hole.
"""

from __future__ import annotations

import numpy as np

NO_FACE = 2.0  # the "distance" of an image with no face: farther than any face
DETECT_SIDE = 1280  # px, the long side of the copy the detector scans
TURNS = (15.0, -15.0, 30.0, -30.0)  # degrees tried, in this order, when no upright face is found
IN_REGION = 0.5  # share of a face's box that must lie in the region for the face to count


def _turn(a: np.ndarray, degrees: float, **warp) -> np.ndarray:
    import cv2

    h, w = a.shape[:2]
    return cv2.warpAffine(a, cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0), (w, h), **warp)


def turned(img: np.ndarray, degrees: float) -> np.ndarray:
    """``img`` (float32 ``(H, W, 3)``) turned by ``degrees`` about its centre, same size,
    the border reflected (no dark corners for the detector)."""
    import cv2

    return _turn(img, degrees, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def turned_region(region: np.ndarray, degrees: float) -> np.ndarray:
    """bool ``(H, W)`` ``region`` turned as :func:`turned` turns a picture (outside: False)."""
    import cv2

    return _turn(region.astype(np.uint8), degrees, flags=cv2.INTER_NEAREST) > 0


def in_region(box: tuple[int, int, int, int], region: np.ndarray) -> bool:
    """Whether at least :data:`IN_REGION` of ``box`` (top, left, bottom, right) lies in
    bool ``region``."""
    t, l, b, r = box
    area = max(b - t, 0) * max(r - l, 0)
    return area > 0 and region[t:b, l:r].sum() >= IN_REGION * area


class FaceJudge:
    """``FaceJudge(db)``: ``distance(img, entity) -> float | None`` and
    ``recognized(img, entity) -> bool | None`` (None: the entity has no face path).

    Args:
        db: the privacy DB (its entities' sample face descriptors).
        detect_side: long side (px) of the detector's copy of an image.
        turns: angles (degrees) tried when no upright face is found; () for upright only.
    """

    def __init__(self, db, detect_side: int = DETECT_SIDE, turns=TURNS) -> None:
        from ..guard import face

        self.faces = {e.name: e.faces for e in db.entities if e.faces is not None and len(e.faces)}
        self.encoder = face.FaceEncoder(detect_side) if (self.faces and face.available()) else None
        self.turns = tuple(turns)

    def distance(self, img: np.ndarray, entity: str, region: np.ndarray | None = None) -> float | None:
        """Distance of the nearest face in ``img`` (float32 ``(H, W, 3)`` in [0, 1]) to
        ``entity``'s sample faces, only faces at least half inside bool ``(H, W)``
        ``region`` if given; :data:`NO_FACE` when none is found; None when the entity has
        no face path or dlib is missing."""
        if entity not in self.faces or self.encoder is None:
            return None
        found = self._faces(img, region, 0.0)
        if not found:  # an attacker turns the picture before giving up
            found = [f for t in self.turns for f in self._faces(turned(img, t), region, t)]
        if not found:
            return NO_FACE
        d = np.linalg.norm(self.faces[entity][None] - np.stack([f.descriptor for f in found])[:, None], axis=-1)
        return float(d.min())

    def _faces(self, img: np.ndarray, region: np.ndarray | None, degrees: float) -> list:
        found = self.encoder.faces(img)
        if region is None:
            return found
        where = turned_region(region, degrees) if degrees else region
        return [f for f in found if in_region(f.box, where)]

    def recognized(self, img: np.ndarray, entity: str, region: np.ndarray | None = None) -> bool | None:
        from ..guard.face import MATCH_DISTANCE

        d = self.distance(img, entity, region)
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
