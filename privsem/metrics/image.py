"""PSNR (eq. 17) and SSIM (eq. 18), whole image and inside a privacy region.

Images are float32 ``(H, W, 3)`` in ``[0, 1]`` (MaxValue = 1); masks bool ``(H, W)``.
SSIM is scikit-image's (Gaussian window, σ = 1.5, as in Wang et al. 2004); the region
SSIM is the mean of the SSIM map over the region's pixels.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

_PSNR_CAP_DB = 100.0  # reported for identical images instead of +inf (JSON-safe)


def _psnr_from_mse(mse: float) -> float:
    return _PSNR_CAP_DB if mse <= 1e-10 else float(10.0 * np.log10(1.0 / mse))


def psnr(ref: np.ndarray, img: np.ndarray) -> float:
    """PSNR in dB between two ``(H, W, 3)`` images in ``[0, 1]``."""
    return _psnr_from_mse(float(np.mean((ref.astype(np.float64) - img) ** 2)))


def region_psnr(ref: np.ndarray, img: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB over the pixels where ``mask`` is true (NaN for an empty mask)."""
    if not mask.any():
        return float("nan")
    diff = (ref.astype(np.float64) - img)[mask]
    return _psnr_from_mse(float(np.mean(diff**2)))


def _ssim_map(ref: np.ndarray, img: np.ndarray) -> tuple[float, np.ndarray]:
    score, smap = structural_similarity(ref, img, channel_axis=2, data_range=1.0,
                                        gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, full=True)
    return float(score), smap.mean(axis=2)


def ssim(ref: np.ndarray, img: np.ndarray) -> float:
    """SSIM in ``[−1, 1]`` between two ``(H, W, 3)`` images in ``[0, 1]``."""
    return _ssim_map(ref, img)[0]


def region_ssim(ref: np.ndarray, img: np.ndarray, mask: np.ndarray) -> float:
    """Mean of the SSIM map over ``mask`` (NaN for an empty mask)."""
    if not mask.any():
        return float("nan")
    return float(_ssim_map(ref, img)[1][mask].mean())


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
