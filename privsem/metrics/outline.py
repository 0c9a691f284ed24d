"""What an eavesdropper can infer of a removed region's outline without its mask.

:func:`flattest_region` is an optimistic attacker: told how large the region is, it
takes that many pixels where the received picture has the least fine detail (a
smoothly filled hole is the flattest part of a textured photo). The IoU of its guess
with the true mask measures how much of the outline the picture itself gives away.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def detail_map(img: np.ndarray, window: int = 9) -> np.ndarray:
    """float ``(H, W, 3)`` → float64 ``(H, W)``: local RMS of the high-pass luminance,
    smoothed so that regions, not pixels, compete."""
    g = np.asarray(img, np.float64).mean(axis=2)
    hp = g - ndimage.gaussian_filter(g, 1.5)
    return ndimage.gaussian_filter(np.sqrt(np.maximum(ndimage.uniform_filter(hp * hp, window), 0)), 3)


def flattest_region(img: np.ndarray, area: int) -> np.ndarray:
    """bool ``(H, W)``: the ``area`` pixels of least local detail."""
    d = detail_map(img).reshape(-1)
    out = np.zeros(d.size, bool)
    if area > 0:
        out[np.argsort(d, kind="stable")[:area]] = True
    return out.reshape(img.shape[:2])
