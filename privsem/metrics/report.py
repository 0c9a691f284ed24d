"""Per-role numbers of a loopback run, as written to ``report.json``."""

from __future__ import annotations

import math

import numpy as np

from .image import psnr, region_psnr, region_ssim, ssim


def _num(x: float) -> float | None:
    """Rounded float, or None for NaN (an empty region) so the JSON stays valid."""
    return None if x is None or math.isnan(x) else round(float(x), 4)


def role_metrics(original: np.ndarray, recovered: np.ndarray, mask: np.ndarray,
                 identity: tuple[str | None, float], entity: str | None) -> dict:
    """PSNR/SSIM whole, inside the privacy region ``mask`` (the guard's M) and outside it,
    and the identity decision of eq. 8 (the guard re-identifies the sent entity)."""
    found, score = identity
    return {
        "psnr": _num(psnr(original, recovered)),
        "ssim": _num(ssim(original, recovered)),
        "psnr_region": _num(region_psnr(original, recovered, mask)),
        "ssim_region": _num(region_ssim(original, recovered, mask)),
        "psnr_background": _num(region_psnr(original, recovered, ~mask)),
        "identity_recognized": bool(entity is not None and found == entity),
        "identity_score": _num(score),
    }
