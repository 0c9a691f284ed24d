"""What real radios and propagation do to a sample stream, as composable, seeded stages.

Each stage is ``stage(x: complex64 (n,), rng: np.random.Generator) -> complex64 (m,)``
(a delay or a clock offset changes the length). :class:`RadioChannel` chains them and
adds AWGN last; it is a pure function of its seed like every :class:`Channel`.

Units: frequencies are normalised to the sample rate (cycles/sample, so 0.02 = 2 % of
fs), clock offsets in ppm, delays in samples, gains linear in amplitude.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .awgn import snr_db_to_no
from .base import Channel, ChannelOutput


@dataclass
class CFO:
    """Carrier frequency offset: ``x[n]·exp(j2π(f·n + φ0))``, random φ0."""

    f: float

    def __call__(self, x, rng):
        phi0 = rng.uniform(0, 2 * np.pi)
        n = np.arange(x.size, dtype=np.float64)
        return (x * np.exp(1j * (2 * np.pi * self.f * n + phi0))).astype(np.complex64)


def _sinc_interp(x: np.ndarray, t: np.ndarray, half: int = 8) -> np.ndarray:
    """Band-limited interpolation of ``x`` at fractional positions ``t`` (Hann-windowed
    sinc, ``2·half`` taps); positions outside ``x`` read zeros."""
    i0 = np.floor(t).astype(np.int64)
    mu = t - i0
    xp = np.concatenate([np.zeros(half, x.dtype), x, np.zeros(half + 1, x.dtype)])
    out = np.zeros(t.size, np.complex128)
    for k in range(-half + 1, half + 1):
        d = k - mu
        w = np.sinc(d) * (0.5 + 0.5 * np.cos(np.pi * d / half))
        idx = np.clip(i0 + k + half, 0, xp.size - 1)
        out += w * xp[idx]
    return out.astype(np.complex64)


@dataclass
class ClockOffset:
    """Sampling clock offset of ``ppm`` parts per million (the receiver samples at
    ``fs·(1 + ppm·1e-6)``), plus a fractional start offset in samples."""

    ppm: float
    frac: float | None = None

    def __call__(self, x, rng):
        frac = rng.uniform(0, 1) if self.frac is None else self.frac
        step = 1.0 / (1.0 + self.ppm * 1e-6)
        t = frac + step * np.arange(int((x.size - 1 - frac) / step) + 1)
        return _sinc_interp(x, t)


@dataclass
class Multipath:
    """Static multipath: ``taps`` complex gains at integer delays 0..L−1, unit total
    power. ``taps=None`` draws ``n_taps`` Rayleigh taps with an exponential power delay
    profile decaying ``decay_db`` per tap."""

    taps: np.ndarray | None = None
    n_taps: int = 3
    decay_db: float = 3.0

    def draw(self, rng) -> np.ndarray:
        if self.taps is not None:
            h = np.asarray(self.taps, np.complex128)
        else:
            p = 10 ** (-self.decay_db * np.arange(self.n_taps) / 10)
            h = np.sqrt(p / 2) * (rng.standard_normal(self.n_taps) + 1j * rng.standard_normal(self.n_taps))
        return h / np.sqrt(np.sum(np.abs(h) ** 2))

    def __call__(self, x, rng):
        return np.convolve(x, self.draw(rng))[: x.size].astype(np.complex64)


@dataclass
class Fading:
    """Flat fading, Rayleigh (``k_factor = 0``) or Rician (K linear), unit mean power.

    ``doppler = 0`` gives one gain for the whole stream (block fading); otherwise the
    gain varies with a Jakes spectrum of maximum normalised Doppler ``doppler``
    (cycles/sample), by sum of sinusoids (Zheng & Xiao) with ``n_paths`` paths.
    """

    k_factor: float = 0.0
    doppler: float = 0.0
    n_paths: int = 16

    def gains(self, n: int, rng) -> np.ndarray:
        los = np.sqrt(self.k_factor / (1 + self.k_factor)) * np.exp(1j * rng.uniform(0, 2 * np.pi))
        scale = np.sqrt(1 / (1 + self.k_factor))
        if self.doppler == 0:
            g = (rng.standard_normal() + 1j * rng.standard_normal()) / np.sqrt(2)
            return np.full(n, los + scale * g, np.complex64)
        t = np.arange(n)
        theta = rng.uniform(-np.pi, np.pi)
        m = np.arange(1, self.n_paths + 1)
        alpha = (2 * np.pi * m - np.pi + theta) / (4 * self.n_paths)
        phi, psi = rng.uniform(-np.pi, np.pi, (2, self.n_paths))
        wd = 2 * np.pi * self.doppler
        re = np.cos(wd * np.outer(t, np.cos(alpha)) + phi).sum(1)
        im = np.cos(wd * np.outer(t, np.sin(alpha)) + psi).sum(1)
        g = (re + 1j * im) / np.sqrt(self.n_paths)
        return (los + scale * g).astype(np.complex64)

    def __call__(self, x, rng):
        return (x * self.gains(x.size, rng)).astype(np.complex64)


@dataclass
class Delay:
    """Unknown start: ``samples`` leading zeros (None: uniform in [0, max_samples))."""

    samples: int | None = None
    max_samples: int = 4000

    def __call__(self, x, rng):
        d = int(rng.integers(0, self.max_samples)) if self.samples is None else int(self.samples)
        return np.concatenate([np.zeros(d, np.complex64), x])


@dataclass
class Gain:
    """Unknown receive gain (amplitude), fixed or log-uniform in ``[lo_db, hi_db]``."""

    value: float | None = None
    lo_db: float = -20.0
    hi_db: float = 20.0

    def __call__(self, x, rng):
        g = self.value if self.value is not None else 10 ** (rng.uniform(self.lo_db, self.hi_db) / 20)
        return (x * g).astype(np.complex64)


class RadioChannel(Channel):
    """Composable impairments followed by AWGN.

    ``RadioChannel(seed, stages=[Multipath(), CFO(0.01), ClockOffset(40), Delay()])(x,
    snr_db)``: the SNR is Es/N0 for unit-power ``x`` measured *before* any gain stage
    (the noise is referenced to the received signal power without the ``Gain``
    stage, as a radio's AGC would see it), so a gain changes levels, not SNR.
    """

    def __init__(self, seed: int = 0, stages: list | None = None) -> None:
        super().__init__(seed)
        self.stages = list(stages or [])

    def __call__(self, x: np.ndarray, snr_db: float) -> ChannelOutput:
        rng = np.random.default_rng(self.seed)
        y = np.ascontiguousarray(x, dtype=np.complex64).reshape(-1)
        gain = 1.0
        for stage in self.stages:
            if isinstance(stage, Gain):
                g = stage(np.ones(1, np.complex64), rng)[0]
                gain *= float(np.abs(g))
            else:
                y = stage(y, rng)
        no = snr_db_to_no(snr_db)
        noise = (rng.standard_normal(y.size) + 1j * rng.standard_normal(y.size)) * np.sqrt(no / 2)
        y = ((y + noise) * gain).astype(np.complex64)
        return ChannelOutput(y=y, h=np.full(1, gain, np.complex64), no=no * gain**2)
