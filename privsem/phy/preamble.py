"""Preamble: detection, timing and carrier frequency offset (Schmidl-Cox style).

* STF: a 16-sample period repeated 10 times (160 samples). The normalised
  autocorrelation at lag 16 finds it at any carrier offset, and its phase gives the
  coarse CFO over ±1/32 of the sample rate (±3.1 %, covering ±2 %).
* LTF: a 32-sample CP then a known 128-sample OFDM symbol twice (288 samples).
  Cross-correlation gives fine timing; the phase between the two copies gives the fine
  CFO (±1/256 of fs, well beyond the coarse estimate's error); the two copies give the
  channel estimate and the noise variance.
"""

from __future__ import annotations

import numpy as np

from .ofdm import N_FFT, USED, bins

STF_PERIOD = 16
STF_REPS = 10
LTF_CP = 32
STF_LEN = STF_PERIOD * STF_REPS
LTF_LEN = LTF_CP + 2 * N_FFT
PREAMBLE_LEN = STF_LEN + LTF_LEN
WINDOW = 112  # autocorrelation window (samples); 7 periods


def _stf() -> np.ndarray:
    rng = np.random.default_rng(16)
    X = np.zeros(N_FFT, np.complex128)
    k = np.array([k for k in USED if k % (N_FFT // STF_PERIOD) == 0])
    X[bins(k)] = np.exp(1j * np.pi / 2 * rng.integers(0, 4, k.size) + 1j * np.pi / 4)
    x = np.fft.ifft(X)[:STF_PERIOD]
    return (np.tile(x, STF_REPS) / np.sqrt(np.mean(np.abs(x) ** 2))).astype(np.complex64)


def _ltf() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(128)
    X = np.zeros(N_FFT, np.complex128)
    X[bins(USED)] = 1 - 2 * rng.integers(0, 2, USED.size)
    x = np.fft.ifft(X)
    x /= np.sqrt(np.mean(np.abs(x) ** 2))
    return np.concatenate([x[-LTF_CP:], x, x]).astype(np.complex64), X[bins(USED)].astype(np.complex64)


STF = _stf()
LTF, LTF_FREQ = _ltf()
LTF_SYMBOL = LTF[LTF_CP : LTF_CP + N_FFT]
PREAMBLE = np.concatenate([STF, LTF])


def autocorrelation_metric(y: np.ndarray, step: int = STF_PERIOD) -> tuple[np.ndarray, np.ndarray]:
    """Schmidl-Cox metric over a stream, evaluated every ``step`` samples.

    Returns:
        ``(metric float32 (m,), P complex64 (m,))`` where, for the window starting at
        sample ``i·step``, ``P = Σ y[n+16]·conj(y[n])`` over ``WINDOW`` samples and
        ``metric = |P|² / (Σ|y[n+16]|²·Σ|y[n]|²)`` ∈ [0, 1] (≈ (SNR/(1+SNR))² on the STF,
        ≈ 1/window on noise, 0 on silence). Sums are built from per-``step`` block sums,
        so the cost is a few operations per sample.
    """
    if WINDOW % step:
        raise ValueError("step must divide the window")
    n_blocks = (y.size - STF_PERIOD) // step
    per = WINDOW // step
    m = n_blocks - per + 1
    if m <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.complex64)
    a = y[: n_blocks * step]
    b = y[STF_PERIOD : STF_PERIOD + n_blocks * step]
    prod = (b * np.conj(a)).reshape(n_blocks, step).sum(axis=1)
    ea = (a.real * a.real + a.imag * a.imag).reshape(n_blocks, step).sum(axis=1)
    eb = (b.real * b.real + b.imag * b.imag).reshape(n_blocks, step).sum(axis=1)

    def window_sums(v: np.ndarray) -> np.ndarray:
        # Added block by block, not as differences of a running sum: a burst of huge
        # (or overflowing) samples then spoils only the windows that contain it.
        out = v[:m].astype(np.complex128 if v.dtype.kind == "c" else np.float64)
        for k in range(1, per):
            out += v[k : k + m]
        return out

    P = window_sums(prod).astype(np.complex64)
    e0, e1 = window_sums(ea).astype(np.float32), window_sums(eb).astype(np.float32)
    metric = (P.real * P.real + P.imag * P.imag) / np.maximum(e0 * e1, np.float32(1e-30))
    return metric.astype(np.float32), P


def find_plateaus(metric: np.ndarray, threshold: float, min_len: int = 1) -> list[tuple[int, int]]:
    """Runs ``(start, end)`` (in metric indices) where ``metric > threshold`` for at
    least ``min_len`` consecutive values."""
    above = np.concatenate([[False], metric > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    runs = edges.reshape(-1, 2)
    return [(int(a), int(b)) for a, b in runs if b - a >= min_len]


def fine_timing(y: np.ndarray, search_from: int, search_to: int) -> int:
    """Index of the first LTF symbol (after its CP) by cross-correlation with the known
    symbol, taking the earliest path within 6 samples of the strongest (multipath)."""
    lo, hi = max(search_from, 0), min(search_to, y.size - N_FFT)
    if hi <= lo:
        return -1
    seg = y[lo : hi + N_FFT]
    corr = np.abs(np.correlate(seg, LTF_SYMBOL, mode="valid"))
    corr = corr + np.concatenate([corr[N_FFT:], np.zeros(min(N_FFT, corr.size))])[: corr.size]
    if not np.isfinite(corr).all():  # samples so large that the correlation overflowed
        return -1
    peak = int(np.argmax(corr))
    early = corr[max(peak - 6, 0) : peak + 1]
    first = int(np.flatnonzero(early >= 0.5 * corr[peak])[0]) + max(peak - 6, 0)
    return lo + first
