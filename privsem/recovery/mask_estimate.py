"""M̂: find the removed region in the received image Â.

The guard zeroes the privacy region (eq. 11, ``A = (1 − M) ⊙ S``), so after the channel
it is a large, smooth, near-black area with a sharp colour edge at its boundary. A
picture's own black (a night sky, a fundus photo's border) looks the same, so the
transmitter reserves black for removed pixels (:func:`find_removed`; held-out scenes:
mean IoU 0.75 → 0.98 at 0–20 dB, docs of ``privsem bench recovery``). We
low-pass Â (averaging out channel noise), threshold the brightest channel, and keep
only large components with morphological clean-up, so dark texture and noise specks
are not taken for the hole.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def estimate_mask(a_hat: np.ndarray, level: float = 0.09, sigma: float = 2.0,
                  min_fraction: float = 0.004, grow: int = 2) -> np.ndarray:
    """Estimate the privacy mask.

    Args:
        a_hat: float32 ``(H, W, 3)`` in ``[0, 1]``, the decoded guarded image.
        level: brightness below which a smoothed pixel counts as removed.
        sigma: Gaussian smoothing in pixels (noise suppression).
        min_fraction: smallest component kept, as a fraction of the image area.
        grow: pixels M̂ is dilated by (the codec blurs the hole's edge).

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
    return ndimage.binary_dilation(mask, iterations=grow)


def find_removed(a_hat: np.ndarray, reserved_black: float) -> tuple[np.ndarray, np.ndarray]:
    """M̂ and the restored Â from an image sent with a reserved black level ``b``
    (:func:`privsem.guard.apply_guard`): every kept pixel was ≥ b, the removed ones 0,
    so the threshold sits at 0.6·b, below any kept pixel even after channel noise.

    Returns:
        bool ``(H, W)`` M̂ and float32 ``(H, W, 3)`` Â with the black-level map undone.
    """
    from ..guard import restore_black

    # grow 4: the JSCC smears the hole's black a few pixels outward; regenerate that rim too
    return estimate_mask(a_hat, level=0.6 * reserved_black, grow=4), restore_black(a_hat, reserved_black)
