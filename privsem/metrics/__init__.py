"""Image quality and privacy metrics (PSNR, SSIM, on the whole image and a region;
identity recognition and leakage)."""

from .identity import leakage, recognition_rate
from .image import psnr, region_psnr, region_ssim, ssim

__all__ = ["leakage", "psnr", "recognition_rate", "region_psnr", "region_ssim", "ssim"]
