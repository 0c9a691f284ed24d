"""Image quality and privacy metrics (PSNR, SSIM, on the whole image and a region)."""

from .image import psnr, region_psnr, region_ssim, ssim

__all__ = ["psnr", "region_psnr", "region_ssim", "ssim"]
