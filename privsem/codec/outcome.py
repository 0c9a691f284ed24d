"""What an encoded image is expected to deliver: its MSE as a function of the SNR at
the receiver, including what is lost when a digital part (softcast's metadata, hda's
base layer, the superposed code's digital layer) fails, and from it the PSNR expected
over an AWGN link or a Rayleigh-fading one with the sender blind to the fade (no CSIT):
slow fading (one fade per message) or block fading (many fades per message).

The sender computes this without sending anything: every analog transform is
orthonormal, so the LMMSE error of the pixels is that of the coefficients, which follows
from each coefficient's gain, its prior and the noise; a digital part is taken to
decode above its AWGN threshold (:data:`~privsem.codec.separated.MCS_THRESHOLD_DB`)
and to fail below it, and under block fading where its symbols' mean mutual
information reaches that at the threshold (:func:`decodes`). ``--codec auto`` compares
the codes by it (:mod:`.auto`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

FADINGS = ("slow", "block")
# In block fading the 5G LDPC codewords needed this much more than the AWGN threshold in
# mutual-information-equivalent SNR: on the held-out photos (bench codec, Rayleigh,
# 256-sample blocks) MCSs decoded with 0.77–1.87 dB to spare and failed with 0.09–0.58.
FADING_GAP_DB = 0.75
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

    def block_mse(self, mean_snr_db: float) -> float:
        s = rayleigh_snrs(mean_snr_db)
        return float(np.mean(self.analog.mse(s))) if decodes(self.meta_db, 2, s) else self.grey_mse


@dataclass(frozen=True)
class HybridOutcome:
    """hda: the residual's LMMSE error when both parts decode; the base layer's own
    error (``base_mse``) when only it does; when the base layer fails (receive SNR <
    ``base_db``), the residual on mid-grey (``offset_mse``: the base layer's MSE against
    0.5, plus the residual's error), or mid-grey alone (``grey_mse``). ``base_bits``:
    bits per symbol of the base layer's QAM (for :func:`decodes` under block fading)."""

    residual: LmmseError
    meta_db: float
    base_db: float
    base_mse: float
    offset_mse: float
    grey_mse: float
    base_bits: int = 2

    def mse(self, snr_db) -> np.ndarray:
        s = np.asarray(snr_db, np.float64)
        return self._combine(self.residual.mse(s), s >= self.meta_db, s >= self.base_db)

    def block_mse(self, mean_snr_db: float) -> float:
        s = rayleigh_snrs(mean_snr_db)
        return float(self._combine(np.mean(self.residual.mse(s)), decodes(self.meta_db, 2, s),
                                   decodes(self.base_db, self.base_bits, s)))

    def _combine(self, res, meta, base):
        return np.where(base, np.where(meta, res, self.base_mse), np.where(meta, self.offset_mse + res, self.grey_mse))


def layer_sinr_db(snr_db, alpha: float) -> np.ndarray:
    """The SINR (dB) of a digital layer sent with power ``1−α`` over an analog one of
    power ``α`` (noise to it) at receive SNR(s) ``snr_db``."""
    lin = 10.0 ** (np.asarray(snr_db, np.float64) / 10.0)
    return 10 * np.log10((1 - alpha) * lin / (alpha * lin + 1))


@dataclass(frozen=True)
class SuperposedOutcome:
    """superposed: at receive SNR ``s`` the digital layer decodes while its SINR with the
    analog layer as noise, ``(1−α)·s / (α·s + 1)``, is at least ``layer_db`` (its MCS's
    threshold), and the metadata while ``s ≥ meta_db``. Both decoded: the residual's
    LMMSE error at ``α·s`` (``alpha`` 0: the digital layer's own error, ``base_mse``);
    otherwise mid-grey (``grey_mse``): without the digital layer there is nothing to
    subtract it from. ``layer_bits``: bits per symbol of the digital layer's QAM."""

    residual: LmmseError
    alpha: float
    meta_db: float
    layer_db: float
    base_mse: float
    grey_mse: float
    layer_bits: int = 2

    def mse(self, snr_db) -> np.ndarray:
        s = np.asarray(snr_db, np.float64)
        ok = (s >= self.meta_db) & (layer_sinr_db(s, self.alpha) >= self.layer_db)
        return np.where(ok, self._decoded(s), self.grey_mse)

    def block_mse(self, mean_snr_db: float) -> float:
        s = rayleigh_snrs(mean_snr_db)
        ok = decodes(self.meta_db, 2, s) and decodes(self.layer_db, self.layer_bits, layer_sinr_db(s, self.alpha))
        return float(np.mean(self._decoded(s))) if ok else self.grey_mse

    def _decoded(self, s):
        return self.residual.mse(s + 10 * np.log10(self.alpha)) if self.alpha > 0 else np.full(s.shape, self.base_mse)


@functools.lru_cache(maxsize=8)
def _pam(bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit-energy Gray PAM with ``2**bits`` levels: (levels, labels ``(levels, bits)``)."""
    m = 2 ** bits
    levels = np.arange(m) * 2.0 - (m - 1)
    gray = np.arange(m) ^ (np.arange(m) >> 1)
    return levels / np.sqrt(np.mean(levels ** 2)), (gray[:, None] >> np.arange(bits)[::-1]) & 1


def bicm_mi(snr_db, bits: int) -> np.ndarray:
    """Bit-interleaved coded-modulation mutual information (bits per complex symbol) of
    square Gray QAM with ``bits`` bits per symbol at SNR(s) ``snr_db``: twice that of its
    Gray PAM per real dimension (Gauss–Hermite quadrature over the noise). A code of rate
    ``R`` decodes where this exceeds about ``R·bits``; a fading codeword's bits see the
    average over its fades."""
    x, lab = _pam(bits // 2)
    t, w = np.polynomial.hermite.hermgauss(48)
    sigma = np.sqrt(10.0 ** (-np.asarray(snr_db, np.float64)[..., None, None] / 10.0))
    y = x[:, None] + sigma * np.sqrt(2.0) * t  # (..., sent level, node)
    like = np.exp(-((y[..., None] - x) ** 2 - (y[..., None] - x[:, None, None]) ** 2) / (2 * sigma[..., None] ** 2))
    total = like.sum(-1)  # (..., sent, node): Σ over all levels, relative to the sent one
    mi = 0.0
    for i in range(lab.shape[1]):
        same = lab[:, i][:, None] == lab[:, i][None, :]  # (sent, other): the same bit i
        part = np.einsum("...snk,sk->...sn", like, same.astype(np.float64))
        mi = mi + 1.0 - np.sum(w * np.mean(np.log2(total / part), axis=-2), axis=-1) / np.sqrt(np.pi)
    return 2 * mi


def decodes(threshold_db: float, bits: int, snr_db) -> bool:
    """Whether a digital part with AWGN threshold ``threshold_db`` and ``bits`` per symbol
    decodes when its (interleaved) codewords' symbols see the SNRs ``snr_db`` (dB, equally
    likely): their mean BICM mutual information reaches that at :data:`FADING_GAP_DB`
    above the threshold (mutual-information link abstraction, as system simulators
    abstract LDPC in fading)."""
    return float(np.mean(bicm_mi(snr_db, bits))) >= float(bicm_mi(threshold_db + FADING_GAP_DB, bits))


def rayleigh_snrs(mean_snr_db: float, points: int = FADE_POINTS) -> np.ndarray:
    """Receive SNRs (dB) at ``points`` equally likely quantiles of Rayleigh block fading
    (power gain ~ Exp(1)) around ``mean_snr_db``."""
    u = (np.arange(points) + 0.5) / points
    return mean_snr_db + 10 * np.log10(-np.log1p(-u))


def fading_kind(fading) -> str | None:
    """``fading`` as the codes take it → None (AWGN), ``"slow"`` (True: one Rayleigh fade per
    message) or ``"block"`` (fades change within the message, every 256 samples in
    ``privsem bench codec``'s channel: an interleaved codeword sees many)."""
    if fading in (None, False):
        return None
    if fading is True or fading in FADINGS:
        return "slow" if fading is True else fading
    raise ValueError(f"unknown fading {fading!r} (known: {', '.join(FADINGS)})")


def expected_psnr(outcome, snr_db: float, fading=None) -> float:
    """The PSNR (dB, peak 1) ``outcome`` is expected to deliver: at ``snr_db`` over AWGN;
    over Rayleigh fading of mean ``snr_db`` (:func:`fading_kind`), slow: the mean PSNR over
    the fade (the mean of dB, as the benchmarks report it), block: the PSNR of the mean
    error over the fades within the message."""
    kind = fading_kind(fading)
    if kind == "block":
        return float(10 * np.log10(1 / max(outcome.block_mse(snr_db), 1e-12)))
    snrs = rayleigh_snrs(snr_db) if kind == "slow" else np.array([snr_db], np.float64)
    return float(np.mean(10 * np.log10(1 / np.maximum(outcome.mse(snrs), 1e-12))))
