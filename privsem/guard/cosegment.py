"""Find an entity's silhouette in its own sample images when the user gives none.

What the samples of one entity have in common is the entity: a patch of sample i that
has a close match in the other samples, and no close match in generic pictures, is
taken to be the entity (co-segmentation by mutual nearest neighbours). The coarse map is
then snapped to the outline with GrabCut. A single sample has nothing to compare with:
the object GrabCut separates from the picture's border is taken, or the whole picture
when nothing separates from it (a close-up). Where the common part covers nearly the
whole picture, the whole picture is the entity.
"""

from __future__ import annotations

import numpy as np

from ..errors import PrivsemError
from .prototypes import normalize
from .refiner import grabcut_mask

MIN_FRACTION = 0.02  # a silhouette smaller than this share of its sample is "not found"
CLOSE_UP = 0.9  # a coarse map covering this share of the picture: the entity fills it


def _coarse(score: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    up = cv2.resize(score, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return up > 0


def find_silhouettes(encoder, images: list[np.ndarray], mu: np.ndarray, generic: np.ndarray,
                     names: list[str]) -> list[np.ndarray]:
    """The entity's silhouette in each image.

    Args:
        images: float32 ``(H, W, 3)`` RGB in [0, 1], one per sample.
        generic: centred unit patch features of generic pictures, float32 ``(g, d)``.
        names: file names, for the error message.

    Returns:
        bool ``(H, W)`` per image.

    Raises:
        PrivsemError: no entity found in a sample (names it, says to give ``--mask``).
    """
    feats = [normalize(encoder.features(im) - mu) for im in images]
    out = []
    for i, (im, f) in enumerate(zip(images, feats)):
        v = f.reshape(-1, f.shape[-1])
        if len(images) > 1:
            common = np.mean([(v @ g.reshape(-1, g.shape[-1]).T).max(1) for j, g in enumerate(feats) if j != i], axis=0)
            score = (common - (v @ generic.T).max(1)).reshape(f.shape[:2])
            coarse = _coarse(score, im.shape[:2])
        else:  # one sample: the central object
            coarse = np.zeros(im.shape[:2], bool)
            h, w = im.shape[:2]
            coarse[h // 8: h - h // 8, w // 8: w - w // 8] = True
        if coarse.mean() >= CLOSE_UP:
            out.append(np.ones(im.shape[:2], bool))
            continue
        mask = grabcut_mask(im, coarse, max_side=256, iters=5, grow=0)
        if len(images) == 1 and mask.mean() < MIN_FRACTION:  # nothing separates: a close-up
            mask = np.ones(im.shape[:2], bool)
        if mask.mean() < MIN_FRACTION:
            raise PrivsemError(f"no entity found in sample {names[i]}: give its silhouette with --mask "
                               "(a PNG, white where the entity is)")
        out.append(mask)
    return out
