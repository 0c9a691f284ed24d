"""The default mask decoder M_χ (used without SAM): GrabCut from the coarse patch map.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..imageio import cv2_one_thread


def grabcut_mask(image: np.ndarray, coarse: np.ndarray, sure: np.ndarray | None = None,
                 max_side: int = 192, iters: int = 3, grow: int = 2) -> np.ndarray:
    """Snap a coarse mask to the object's boundary with GrabCut (OpenCV).

    The coarse mask says "probably the object", a band around it "probably not", pixels
    farther away "surely not" and ``sure`` (e.g. around the point prompts) "surely";
    GrabCut's colour models and edge term then move the outline onto the object's real
    edges. It runs on a crop around the coarse mask downscaled to ``max_side`` pixels,
    then the outline is upsampled and smoothed.

    Args:
        image: float32 ``(H, W, 3)`` RGB in [0, 1].
        coarse: bool ``(H, W)`` coarse mask (e.g. the upsampled patch-score map).
        sure: bool ``(H, W)`` pixels that are certainly the object, or None.
        max_side: working resolution of the crop, pixels.
        iters: GrabCut iterations.
        grow: dilation of the result in pixels (a rim left outside would leak the entity).

    Returns:
        bool ``(H, W)``; empty if ``coarse`` is.
    """
    import cv2

    H, W = coarse.shape
    if not coarse.any():
        return np.zeros((H, W), bool)
    ys, xs = np.nonzero(coarse)
    size = max(np.ptp(ys), np.ptp(xs)) + 1
    pad = int(0.25 * size) + 8
    y0, y1, x0, x1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, H), max(xs.min() - pad, 0), min(xs.max() + pad + 1, W)
    f = min(1.0, max_side / max(y1 - y0, x1 - x0))
    hw = (max(8, round((x1 - x0) * f)), max(8, round((y1 - y0) * f)))  # (w, h) for OpenCV
    crop = cv2.resize(image[y0:y1, x0:x1], hw, interpolation=cv2.INTER_AREA)
    u8 = np.ascontiguousarray((np.clip(crop, 0, 1) * 255 + 0.5).astype(np.uint8)[..., ::-1])
    c = cv2.resize(coarse[y0:y1, x0:x1].astype(np.uint8), hw, interpolation=cv2.INTER_NEAREST)
    band = max(3, int(0.12 * max(hw)))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    gc = np.full(c.shape, cv2.GC_BGD, np.uint8)
    gc[cv2.dilate(c, k) > 0] = cv2.GC_PR_BGD
    gc[c > 0] = cv2.GC_PR_FGD
    if sure is not None:
        s = cv2.resize(sure[y0:y1, x0:x1].astype(np.uint8), hw, interpolation=cv2.INTER_NEAREST)
        gc[s > 0] = cv2.GC_FGD
    # the crop's edges where the image continues are not evidence of background
    if not (gc == cv2.GC_BGD).any():
        gc[0, :] = gc[-1, :] = cv2.GC_PR_BGD
    try:
        with cv2_one_thread():
            cv2.setRNGSeed(0)
            cv2.grabCut(u8, gc, None, np.zeros((1, 65)), np.zeros((1, 65)), iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # a degenerate crop (one colour): keep the coarse mask
        return ndimage.binary_dilation(coarse, iterations=grow) if grow else coarse.copy()
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.float32)
    up = cv2.resize(cv2.GaussianBlur(fg, (0, 0), 0.6), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) >= 0.5
    out = np.zeros((H, W), bool)
    out[y0:y1, x0:x1] = up
    labels, n = ndimage.label(out)
    if n > 1:  # keep the parts that touch the coarse mask's core
        keep = np.unique(labels[coarse & out])
        out = np.isin(labels, keep[keep > 0])
    out = ndimage.binary_fill_holes(out)
    return ndimage.binary_dilation(out, iterations=grow) if grow else out
