"""The privacy identifier P(·) of Algorithm 1: patch scores against an entity's
prototypes and negative bank (:mod:`.prototypes`), the detection score, point prompts.

MobileNetV2 features are ReLU6 outputs, all non-negative, so their raw cosine is high
between any two patches. Every feature is therefore centred on ``mu``, the mean feature
of generic images (computed once when a DB is created and stored in it), before the
cosine: what remains is how a patch differs from "an average picture".
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .prototypes import normalize


def patch_scores(feats: np.ndarray, prototypes: np.ndarray, negatives: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """How much nearer each patch is to the entity than to anything else: its best
    cosine to the entity's prototypes minus its best cosine to the negative bank
    (:mod:`.prototypes`). float32 ``(h, w)`` in [−2, 2]; > 0 means "more like the entity".

    Args:
        feats: float32 ``(h, w, d)`` encoder features of the image.
        prototypes: float32 ``(P, d)``, negatives: float32 ``(N, d)``, centred unit rows.
        mu: float32 ``(d,)`` generic mean feature.
    """
    v = normalize(feats - mu)
    return ((v @ prototypes.T).max(-1) - (v @ negatives.T).max(-1)).astype(np.float32)


def detection_score(sim: np.ndarray, top: int = 5) -> float:
    """Evidence that the entity is in the image: mean of the ``top`` highest values of
    the 3×3-averaged similarity map (one noisy patch is not enough)."""
    smooth = ndimage.uniform_filter(sim, 3, mode="nearest")
    flat = np.sort(smooth.ravel())
    return float(flat[-min(top, flat.size):].mean())


def peak_points(sim: np.ndarray, threshold: float, image_shape: tuple[int, int],
                max_points: int = 8) -> np.ndarray:
    """Point prompts P: local maxima of the smoothed similarity above Γ.

    Returns:
        int ``(P, 2)`` (row, col) in image pixel coordinates, strongest first.
    """
    smooth = ndimage.uniform_filter(sim, 3, mode="nearest")
    is_peak = (smooth == ndimage.maximum_filter(smooth, size=3)) & (smooth >= threshold)
    rows, cols = np.nonzero(is_peak)
    order = np.argsort(-smooth[rows, cols])[:max_points]
    sy, sx = image_shape[0] / sim.shape[0], image_shape[1] / sim.shape[1]
    pts = np.stack([(rows[order] + 0.5) * sy, (cols[order] + 0.5) * sx], axis=1)
    return pts.astype(np.int64).reshape(-1, 2)
