import numpy as np
import pytest

from privsem.metrics import psnr, region_psnr, region_ssim, ssim


def test_psnr_of_known_mse():
    a = np.zeros((32, 32, 3), np.float32)
    b = a + 0.1  # MSE = 0.01 -> 20 dB
    assert psnr(a, b) == pytest.approx(20.0, abs=1e-4)


def test_region_metrics_only_see_the_region():
    rng = np.random.default_rng(0)
    a = rng.random((64, 64, 3)).astype(np.float32)
    b = a.copy()
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    b[mask] = np.clip(b[mask] + 0.1, 0, 1)
    assert region_psnr(a, b, ~mask) == 100.0  # untouched outside
    assert region_psnr(a, b, mask) < 25.0
    assert region_ssim(a, b, mask) < region_ssim(a, b, ~mask)
    assert np.isnan(region_psnr(a, b, np.zeros_like(mask)))


def test_ssim_bounds():
    rng = np.random.default_rng(1)
    a = rng.random((64, 64, 3)).astype(np.float32)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, rng.random((64, 64, 3)).astype(np.float32)) < 0.1
