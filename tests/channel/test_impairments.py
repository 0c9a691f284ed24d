import numpy as np
import pytest

from privsem.channel import CFO, ClockOffset, Delay, Fading, Gain, Multipath, RadioChannel, build_link_channel
from privsem.errors import PrivsemError


def _tone(n, f=0.01):
    return np.exp(2j * np.pi * f * np.arange(n)).astype(np.complex64)


def test_cfo_shifts_frequency():
    y = CFO(0.013)(_tone(4096, 0.0), np.random.default_rng(0))
    f = np.angle(np.vdot(y[:-1], y[1:])) / (2 * np.pi)
    assert f == pytest.approx(0.013, abs=1e-6)


def test_clock_offset_stretches_time():
    x = _tone(100_000, 0.01)
    y = ClockOffset(ppm=50, frac=0.0)(x, np.random.default_rng(0))
    assert y.size == pytest.approx(x.size * (1 + 50e-6), abs=2)  # a faster receiver clock
    # a tone sampled by a fast clock appears at a lower frequency
    f = np.angle(np.vdot(y[1000:-1001], y[1001:-1000])) / (2 * np.pi)
    assert f == pytest.approx(0.01 / (1 + 50e-6), rel=1e-6)
    # band-limited interpolation: the waveform stays a clean tone
    assert np.std(np.abs(y[100:-100])) < 1e-3


def test_multipath_and_delay_and_gain():
    rng = np.random.default_rng(0)
    taps = Multipath(n_taps=3).draw(rng)
    assert taps.size == 3 and np.sum(np.abs(taps) ** 2) == pytest.approx(1.0)
    x = np.zeros(10, np.complex64)
    x[0] = 1
    y = Multipath(taps=[1.0, 0.5j])(x, rng)
    np.testing.assert_allclose(y[:3], np.array([1, 0.5j, 0]) / np.sqrt(1.25), atol=1e-6)
    assert Delay(samples=7)(x, rng).size == 17
    assert np.abs(Gain(value=0.1)(x, rng)[0]) == pytest.approx(0.1)


@pytest.mark.parametrize("k_factor", [0.0, 10.0])
def test_fading_statistics(k_factor):
    g = np.array([Fading(k_factor=k_factor).gains(1, np.random.default_rng(s))[0] for s in range(4000)])
    assert np.mean(np.abs(g) ** 2) == pytest.approx(1.0, abs=0.08)
    deep = np.mean(np.abs(g) ** 2 < 0.1)
    if k_factor == 0:  # Rayleigh: P(|h|^2 < 0.1) = 1 - e^-0.1
        assert deep == pytest.approx(0.095, abs=0.02)
    else:  # a strong line of sight almost never fades that deep
        assert deep < 0.005


def test_doppler_fading_varies_slowly():
    g = Fading(doppler=1e-3).gains(20_000, np.random.default_rng(1))
    assert np.mean(np.abs(g) ** 2) == pytest.approx(1.0, abs=0.3)
    step = np.mean(np.abs(np.diff(g)) ** 2)
    assert step < 1e-3  # correlated sample to sample
    assert np.abs(np.vdot(g[:1000], g[-1000:])) / 1000 < 0.5  # decorrelated far apart


def test_radio_channel_snr_ignores_gain_and_is_seeded():
    x = _tone(50_000)
    a = RadioChannel(3, [Gain(value=10.0)])(x, 10.0)
    b = RadioChannel(3, [Gain(value=10.0)])(x, 10.0)
    np.testing.assert_array_equal(a.y, b.y)
    noise = a.y / 10.0 - x
    assert 10 * np.log10(1 / np.mean(np.abs(noise) ** 2)) == pytest.approx(10.0, abs=0.1)


def test_link_channel_registry():
    assert build_link_channel("rayleigh", 1).stages
    with pytest.raises(PrivsemError, match="unknown channel"):
        build_link_channel("pigeon")
