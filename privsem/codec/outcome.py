"""What an encoded image is expected to deliver: its MSE as a function of the SNR at
the receiver, including what is lost when a digital part (softcast's metadata, the
hybrid's base layer) fails, and from it the PSNR expected over an AWGN link or a
Rayleigh block-fading one with the sender blind to the fade (no CSIT).

The sender computes this without sending anything: every analog transform is
orthonormal, so the LMMSE error of the pixels is that of the coefficients, which follows
from each coefficient's gain, its prior and the noise; a digital part is taken to
decode above its AWGN threshold (:data:`~privsem.codec.separated.MCS_THRESHOLD_DB`)
and to fail below it. ``--codec auto`` compares the codes by it (:mod:`.auto`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FADE_POINTS = 64  # quantiles of the Rayleigh power gain the expectation is taken over


def noise_per_real(snr_db) -> np.ndarray:
    """Noise variance per real dimension at unit complex symbol power."""
    return 10.0 ** (-np.asarray(snr_db, np.float64) / 10.0) / 2


@dataclass(frozen=True)
class LmmseError:
    """The LMMSE error of one image's analog part. Chunks are summed over: ``energy``
    float64 ``(c,)`` summed squared coefficients of each sent chunk, ``sizes`` their
    coefficient counts, ``gain2`` the squared gain each is sent with, ``lam`` the prior
    variance the receiver assumes (the quantized λ); ``unsent`` the energy of the chunks
    not sent; ``n_values`` the image's pixel values (3·H·W)."""

    energy: np.ndarray
    sizes: np.ndarray
    gain2: np.ndarray
    lam: np.ndarray
    unsent: float
    n_values: int

    def mse(self, snr_db) -> np.ndarray:
        """MSE per pixel value at receive SNR(s) ``snr_db`` (dB, any shape): a sent
        coefficient x leaves ``(x² N² + G² λ² N) / (G² λ + N)²`` at noise N per real."""
        N = noise_per_real(snr_db)[..., None]
        G2, lq = self.gain2, self.lam
        err = np.sum((self.energy * N * N + self.sizes * G2 * lq * lq * N) / (G2 * lq + N) ** 2, axis=-1)
        return (err + self.unsent) / self.n_values


@dataclass(frozen=True)
class SoftCastOutcome:
    """softcast: the LMMSE error while the metadata decodes (receive SNR ≥ ``meta_db``),
    else mid-grey (``grey_mse``: the image's MSE against 0.5)."""

    analog: LmmseError
    meta_db: float
    grey_mse: float

    def mse(self, snr_db) -> np.ndarray:
        s = np.asarray(snr_db, np.float64)
        return np.where(s >= self.meta_db, self.analog.mse(s), self.grey_mse)


@dataclass(frozen=True)
class HybridOutcome:
    """hda: the residual's LMMSE error when both parts decode; the base layer's own
    error (``base_mse``) when only it does; when the base layer fails (receive SNR <
    ``base_db``), the residual on mid-grey (``offset_mse``: the base layer's MSE against
    0.5, plus the residual's error), or mid-grey alone (``grey_mse``)."""

    residual: LmmseError
    meta_db: float
    base_db: float
    base_mse: float
    offset_mse: float
    grey_mse: float

    def mse(self, snr_db) -> np.ndarray:
        s = np.asarray(snr_db, np.float64)
        res = self.residual.mse(s)
        meta, base = s >= self.meta_db, s >= self.base_db
        return np.where(base, np.where(meta, res, self.base_mse),
                        np.where(meta, self.offset_mse + res, self.grey_mse))


def rayleigh_snrs(mean_snr_db: float, points: int = FADE_POINTS) -> np.ndarray:
    """Receive SNRs (dB) at ``points`` equally likely quantiles of Rayleigh block fading
    (power gain ~ Exp(1)) around ``mean_snr_db``."""
    u = (np.arange(points) + 0.5) / points
    return mean_snr_db + 10 * np.log10(-np.log1p(-u))


def expected_psnr(outcome, snr_db: float, fading: bool = False) -> float:
    """The PSNR (dB, peak 1) ``outcome`` is expected to deliver: at ``snr_db`` over AWGN,
    or the mean PSNR over Rayleigh block fading of mean ``snr_db`` (``fading``; the mean
    of dB, as the benchmarks report it)."""
    snrs = rayleigh_snrs(snr_db) if fading else np.array([snr_db], np.float64)
    return float(np.mean(10 * np.log10(1 / np.maximum(outcome.mse(snrs), 1e-12))))
