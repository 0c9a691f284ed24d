"""OFDM numerology and the grid ↔ sample mapping.

128-point FFT, 16-sample cyclic prefix (multipath up to 16 taps), 108 used subcarriers
(±1…±54, DC empty, 10 guard bins each side), of which 8 are pilots (±7, ±21, ±35, ±49)
and 100 carry data. Time samples have unit mean power.
"""

from __future__ import annotations

import numpy as np

N_FFT = 128
CP = 16
SYMBOL_LEN = N_FFT + CP
USED = np.r_[-54:0, 1:55]
PILOTS = np.array([-49, -35, -21, -7, 7, 21, 35, 49])
DATA = np.array([k for k in USED if k not in set(PILOTS)])
N_DATA = DATA.size  # 100
PILOT_VALUES = np.array([1, -1, 1, 1, -1, 1, -1, -1], np.complex64)
_SCALE = N_FFT / np.sqrt(USED.size)


def bins(k: np.ndarray) -> np.ndarray:
    """Subcarrier index (−N/2…N/2−1) → FFT bin (0…N−1)."""
    return np.mod(k, N_FFT)


def grid_to_samples(data: np.ndarray) -> np.ndarray:
    """Data subcarrier values complex ``(m, 100)`` → time samples complex64
    ``(m·144,)`` with pilots inserted and a cyclic prefix per symbol."""
    m = data.shape[0]
    X = np.zeros((m, N_FFT), np.complex64)
    X[:, bins(DATA)] = data
    X[:, bins(PILOTS)] = PILOT_VALUES
    x = np.fft.ifft(X, axis=1) * _SCALE
    return np.concatenate([x[:, -CP:], x], axis=1).reshape(-1).astype(np.complex64)


def samples_to_grid(y: np.ndarray, m: int, backoff: int) -> np.ndarray:
    """Time samples starting at the first symbol's CP → FFT bins complex64 ``(m, 128)``.

    ``backoff`` samples of the CP are kept before the FFT window (timing margin: a
    window that starts early only rotates phases, which the channel estimate absorbs).
    """
    sym = y[: m * SYMBOL_LEN].reshape(m, SYMBOL_LEN)[:, CP - backoff : CP - backoff + N_FFT]
    return (np.fft.fft(sym, axis=1) / _SCALE).astype(np.complex64)


def symbols_needed(n: int) -> int:
    """OFDM symbols needed for ``n`` data values."""
    return -(-n // N_DATA)
