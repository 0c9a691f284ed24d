"""The privacy identifier P(·) of Algorithm 1: patch-wise cosine similarity to f_k.

MobileNetV2 features are ReLU6 outputs, all non-negative, so their raw cosine is high
between any two patches. We therefore centre every feature on ``mu``, the mean feature
of generic images (computed once when a DB is created and stored in it), before the
cosine: what remains is how a patch differs from "an average picture", which is what
identifies an entity.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def entity_feature(feature_maps: list[np.ndarray], mu: np.ndarray) -> np.ndarray:
    """f_k: global average pool of each sample's map, averaged, centred, L2-normalised.

    Args:
        feature_maps: per sample image, float32 ``(h, w, d)``.
        mu: float32 ``(d,)`` generic mean feature.

    Returns:
        float32 ``(d,)``.
    """
    pooled = np.mean([f.reshape(-1, f.shape[-1]).mean(axis=0) for f in feature_maps], axis=0)
    return _normalize(pooled - mu).astype(np.float32)


def patch_scores(feats: np.ndarray, prototypes: np.ndarray, negatives: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """How much nearer each patch is to the entity than to anything else: its best
    cosine to the entity's prototypes minus its best cosine to the negative bank
    (:mod:`.prototypes`). float32 ``(h, w)`` in [−2, 2]; > 0 means "more like the entity".

    Args:
        feats: float32 ``(h, w, d)`` encoder features of the image.
        prototypes: float32 ``(P, d)``, negatives: float32 ``(N, d)``, centred unit rows.
        mu: float32 ``(d,)`` generic mean feature.
    """
    v = _normalize(feats - mu)
    return ((v @ prototypes.T).max(-1) - (v @ negatives.T).max(-1)).astype(np.float32)


def similarity_map(feats: np.ndarray, f_k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Cosine similarity of every centred patch to f_k: float32 ``(h, w)`` in [−1, 1]."""
    return (_normalize(feats - mu) @ f_k).astype(np.float32)


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
