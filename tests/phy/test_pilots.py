import numpy as np
import pytest

from privsem.channel import build_channel
from privsem.phy import PilotBlockModem


def test_modulate_layout_and_power():
    m = PilotBlockModem(block_len=64, n_pilots=8)
    s = (np.exp(1j * np.linspace(0, 6, 100))).astype(np.complex64)
    out = m.modulate(s)
    assert out.dtype == np.complex64 and out.size == m.n_samples(100) == 2 * 64
    np.testing.assert_array_equal(out[:8], m.pilots)
    np.testing.assert_array_equal(out[8:64], s[:56])


def test_equalizer_removes_block_fading():
    m = PilotBlockModem()
    rng = np.random.default_rng(3)
    s = ((rng.standard_normal(5000) + 1j * rng.standard_normal(5000)) / np.sqrt(2)).astype(np.complex64)
    ch = build_channel("rayleigh", seed=4)(m.modulate(s), 30.0)
    eq, h_hat = m.demodulate(ch.y, s.size, ch.no)
    h_true = ch.h.reshape(-1, m.block_len)[:, 0]
    assert np.mean(np.abs(h_hat - h_true) ** 2) < 5e-3
    # Apart from the deepest fades (MMSE shrinks those), symbols come back to 30 dB-ish.
    good = np.repeat(np.abs(h_true) ** 2 > 0.1, m.payload_len)[: s.size]
    err = np.mean(np.abs(eq[good] - s[good]) ** 2)
    assert 10 * np.log10(1 / err) > 20.0


def test_rejects_bad_geometry():
    with pytest.raises(ValueError):
        PilotBlockModem(block_len=16, n_pilots=16)
