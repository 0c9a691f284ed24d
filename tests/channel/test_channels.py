import numpy as np
import pytest

from privsem.channel import build_channel, snr_db_to_no
from privsem.errors import PrivsemError


def _unit_symbols(n, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


@pytest.mark.parametrize("name", ["awgn", "rayleigh"])
def test_pure_function_of_seed(name):
    x = _unit_symbols(4096)
    a, b = build_channel(name, seed=7)(x, 5.0), build_channel(name, seed=7)(x, 5.0)
    c = build_channel(name, seed=8)(x, 5.0)
    assert a.y.dtype == np.complex64 and a.y.shape == x.shape
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.allclose(a.y, c.y)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_awgn_noise_power_matches_snr(snr_db):
    x = _unit_symbols(200_000)
    out = build_channel("awgn", seed=1)(x, snr_db)
    measured = np.mean(np.abs(out.y - x) ** 2)
    assert measured == pytest.approx(snr_db_to_no(snr_db), rel=0.02)


def test_rayleigh_block_structure_and_statistics():
    x = np.ones(256 * 2000, np.complex64)
    out = build_channel("rayleigh", seed=2, coherence=256)(x, 30.0)
    h = out.h.reshape(-1, 256)
    assert np.all(h == h[:, :1])  # constant within a block
    assert np.mean(np.abs(h[:, 0]) ** 2) == pytest.approx(1.0, abs=0.08)  # E|h|^2 = 1
    # |h|^2 of Rayleigh is exponential: P(|h|^2 < 0.1) = 1 - e^-0.1 ≈ 0.095
    assert np.mean(np.abs(h[:, 0]) ** 2 < 0.1) == pytest.approx(0.095, abs=0.02)
    assert np.mean(np.abs(out.y - out.h * x) ** 2) == pytest.approx(1e-3, rel=0.05)


def test_unknown_channel_is_a_user_error():
    with pytest.raises(PrivsemError, match="unknown channel 'rician5'"):
        build_channel("rician5")
