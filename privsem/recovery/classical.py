"""Classical inpainting without any prior: push-pull (multi-resolution) diffusion fill.

The known pixels are averaged down a Gaussian pyramid (push), then the coarse
estimates are interpolated back up into the unknown pixels (pull). It fills a hole of
any size in O(H·W) and is smooth, with no content — what a receiver without the DB
and without a generative model can do.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .base import Recovery


def push_pull_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill ``mask`` pixels of ``image`` (float32 ``(H,W,3)``) from the known pixels."""
    known = (~mask).astype(np.float64)
    if known.sum() == 0:
        return np.full_like(image, 0.5)
    levels = [(image.astype(np.float64) * known[..., None], known)]
    while min(levels[-1][1].shape) > 2:
        val, w = levels[-1]
        val = ndimage.uniform_filter(val, size=(2, 2, 1))[::2, ::2]
        w = ndimage.uniform_filter(w, size=2)[::2, ::2]
        levels.append((val, w))
    val, w = levels[-1]
    est = val / np.maximum(w, 1e-8)[..., None]
    for val, w in reversed(levels[:-1]):
        up = ndimage.zoom(est, (val.shape[0] / est.shape[0], val.shape[1] / est.shape[1], 1), order=1)
        up = up[: val.shape[0], : val.shape[1]]
        if up.shape != val.shape:  # zoom rounding: pad by edge replication
            up = np.pad(up, [(0, val.shape[0] - up.shape[0]), (0, val.shape[1] - up.shape[1]), (0, 0)], mode="edge")
        wc = np.clip(w, 0, 1)[..., None]
        est = wc * (val / np.maximum(w, 1e-8)[..., None]) + (1 - wc) * up
    out = image.copy()
    out[mask] = est[mask].astype(np.float32)
    return np.clip(out, 0, 1)


class PushPullRecovery(Recovery):
    """Eve's skeleton recovery (and a classical baseline): ignores the prompt."""

    name = "pushpull"

    def __call__(self, image, mask, prompt_embedding=None, steps=0, seed=0):
        return push_pull_fill(image, mask)


class OpenCVRecovery(Recovery):
    """OpenCV's classical inpainting (``telea``: Telea's fast marching; ``ns``:
    Navier–Stokes) — the paper-era baselines, no prior and no DB.

    Args:
        method: ``telea`` | ``ns``.
        radius: neighbourhood radius in pixels.
    """

    METHODS = ("telea", "ns")

    def __init__(self, method: str = "telea", radius: float = 5.0) -> None:
        from ..errors import PrivsemError

        if method not in self.METHODS:
            raise PrivsemError(f"unknown OpenCV inpainting method {method!r} (known: telea, ns)")
        self.method, self.radius = method, float(radius)
        self.name = f"opencv-{method}"

    def __call__(self, image: np.ndarray, mask: np.ndarray, prompt_embedding: np.ndarray | None,
                 steps: int = 0, seed: int = 0) -> np.ndarray:
        import cv2

        if not mask.any():
            return image.copy()
        if mask.all():  # nothing to inpaint from
            return np.full_like(image, 0.5)
        flag = cv2.INPAINT_TELEA if self.method == "telea" else cv2.INPAINT_NS
        u8 = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
        filled = cv2.inpaint(u8, mask.astype(np.uint8), self.radius, flag).astype(np.float32) / 255.0
        out = image.copy()
        out[mask] = filled[mask]  # background stays bit-exact (eq. 13)
        return out
