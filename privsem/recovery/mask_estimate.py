"""M̂: find the removed region in the received image Â.

The guard zeroes the privacy region (eq. 11, ``A = (1 − M) ⊙ S``), so after the channel
it is a large, smooth, near-black area with a sharp colour edge at its boundary. We
low-pass Â (averaging out channel noise), threshold the brightest channel, and keep
only large components with morphological clean-up, so dark texture and noise specks
are not taken for the hole.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def estimate_mask(a_hat: np.ndarray, level: float = 0.09, sigma: float = 2.0,
                  min_fraction: float = 0.004) -> np.ndarray:
    """Estimate the privacy mask.

    Args:
        a_hat: float32 ``(H, W, 3)`` in ``[0, 1]``, the decoded guarded image.
        level: brightness below which a smoothed pixel counts as removed.
        sigma: Gaussian smoothing in pixels (noise suppression).
        min_fraction: smallest component kept, as a fraction of the image area.

    Returns:
        bool ``(H, W)``.
    """
    bright = ndimage.gaussian_filter(a_hat.max(axis=2), sigma)
    dark = bright < level
    dark = ndimage.binary_opening(dark, iterations=2)
    labels, n = ndimage.label(dark)
    if n == 0:
        return dark
    sizes = ndimage.sum_labels(dark, labels, index=np.arange(1, n + 1))
    keep = np.flatnonzero(sizes >= min_fraction * dark.size) + 1
    mask = np.isin(labels, keep)
    mask = ndimage.binary_closing(mask, iterations=2)
    mask = ndimage.binary_fill_holes(mask)
    # The JSCC blurs the hole's edge by a pixel or two; grow M̂ to cover it.
    return ndimage.binary_dilation(mask, iterations=2)
