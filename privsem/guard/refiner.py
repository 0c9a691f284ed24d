"""The default mask decoder M_χ (used without SAM): superpixels that follow edges.

SLIC superpixels of the image are kept when their mean (upsampled) similarity to f_k
reaches the mask level and they belong to a connected region containing a point
prompt; holes are filled and the mask is grown by a few pixels so that it covers the
entity's outline (a leftover rim would leak the entity).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.segmentation import slic
from skimage.transform import resize


def refine_mask(image: np.ndarray, sim: np.ndarray, level: float, points: np.ndarray,
                n_segments: int = 400, grow: int = 3) -> np.ndarray:
    """Mask from similarity + points.

    Args:
        image: float32 ``(H, W, 3)`` in [0, 1].
        sim: float32 ``(h, w)`` similarity map on the encoder grid.
        level: similarity a superpixel needs on average to be kept.
        points: int ``(P, 2)`` (row, col) point prompts in image pixels.
        n_segments: SLIC superpixels (about) in the image.
        grow: dilation in pixels after filling.

    Returns:
        bool ``(H, W)``.
    """
    H, W = image.shape[:2]
    if len(points) == 0:
        return np.zeros((H, W), bool)
    sim_up = resize(sim, (H, W), order=1, mode="edge", anti_aliasing=False)
    segments = slic(image, n_segments=n_segments, compactness=10, start_label=0, channel_axis=2)
    mean_sim = ndimage.mean(sim_up, labels=segments, index=np.arange(segments.max() + 1))
    candidate = np.asarray(mean_sim)[segments] >= level
    labels, _ = ndimage.label(candidate)
    seeds = {int(labels[r, c]) for r, c in points if labels[r, c] > 0}
    mask = np.isin(labels, list(seeds)) if seeds else np.zeros((H, W), bool)
    mask = ndimage.binary_fill_holes(mask)
    return ndimage.binary_dilation(mask, iterations=grow) if grow else mask
