"""The separated digital baseline: image codec → 5G LDPC → QAM, behind the codec
interface (as CompressAI puts classical codecs beside learned ones).

Equal channel uses: at bandwidth ratio ``k/n`` an ``H×W`` image gets exactly the symbols
the JSCC would send (``n_symbols``). The sender fills as many whole LDPC codewords as
fit with a 3-byte length, the image codec's bytes (best quality that fits) and their
CRC-32; it bit-interleaves across the whole frame (so a codeword sees many fading
blocks), scrambles, and pads the rest with random symbols of the same power. A receiver
whose LDPC decode leaves errors fails the CRC and shows mid-grey (an outage), as it does
when not even the smallest encoding fits the budget.

Also the capacity bound: the same image codec given ``n · C(SNR)`` error-free bits.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import PrivsemError
from ..phy.digital import (
    LDPC_N,
    ldpc_decode_checked,
    ldpc_encode,
    qam_llr,
    qam_map,
)
from .base import Codec, parse_kn
from .imagecodec import FORMATS, decompress, fit
from .jscc import DOWNSCALE

LEN_BYTES = 3
CRC_BYTES = 4  # CRC-32 of the image bytes: residual LDPC errors become a clean outage


@dataclass(frozen=True)
class MCS:
    """QAM order (bits per symbol) and 5G LDPC code rate."""

    name: str
    bits: int
    rate: Fraction

    @property
    def k(self) -> int:
        """Info bits per codeword (whole bytes)."""
        return int(LDPC_N * self.rate) // 8 * 8

    @property
    def efficiency(self) -> float:
        """Info bits per channel use."""
        return self.bits * self.k / LDPC_N


def _mcs(mod: str, bits: int, rates: str) -> list[MCS]:
    return [MCS(f"{mod}-{r}", bits, Fraction(r)) for r in rates.split()]


MCS_TABLE = (_mcs("qpsk", 2, "1/4 1/3 1/2 2/3 3/4 5/6") + _mcs("16qam", 4, "1/2 2/3 3/4 5/6")
             + _mcs("64qam", 6, "2/3 3/4 5/6") + _mcs("256qam", 8, "3/4 5/6"))

# AWGN Es/N0 (dB) at which a codeword of this MCS fails < 2 % of the time (Sionna
# LDPC5G, 20 BP iterations, n = 1944, 50 codewords), measured by `privsem bench mcs`
# (docs/bench_mcs.json).
MCS_THRESHOLD_DB = {
    "qpsk-1/4": -2.2, "qpsk-1/3": -0.8, "qpsk-1/2": 1.6, "qpsk-2/3": 3.5, "qpsk-3/4": 4.7,
    "qpsk-5/6": 5.5, "16qam-1/2": 7.0, "16qam-2/3": 9.5, "16qam-3/4": 10.8, "16qam-5/6": 12.3,
    "64qam-2/3": 14.4, "64qam-3/4": 15.7, "64qam-5/6": 18.0, "256qam-3/4": 21.2, "256qam-5/6": 22.7,
}


def mcs_by_name(name: str) -> MCS:
    for m in MCS_TABLE:
        if m.name == name:
            return m
    raise PrivsemError(f"unknown MCS {name!r} (known: {', '.join(m.name for m in MCS_TABLE)})")


def link_adaptation(snr_db: float, margin_db: float = 0.0) -> MCS:
    """Highest-efficiency MCS whose AWGN threshold is at most ``snr_db − margin_db``
    (the lowest one if none is)."""
    ok = [m for m in MCS_TABLE if MCS_THRESHOLD_DB[m.name] <= snr_db - margin_db]
    return max(ok, key=lambda m: m.efficiency) if ok else MCS_TABLE[0]


def capacity(snr_db: float, channel: str = "awgn") -> float:
    """Bits per complex channel use: AWGN ``log2(1+γ)``; Rayleigh the ergodic capacity
    ``E[log2(1+|h|²γ)] = e^{1/γ} E1(1/γ) / ln 2`` (coding over many fades)."""
    g = 10.0 ** (snr_db / 10.0)
    if channel == "awgn":
        return math.log2(1 + g)
    if channel == "rayleigh":
        from scipy.special import exp1

        return float(np.exp(1 / g) * exp1(1 / g) / np.log(2))
    raise PrivsemError(f"no capacity formula for channel {channel!r}")


def channel_uses(shape: tuple[int, int], kn: Fraction) -> int:
    """Complex symbols at ``k/n`` for an ``(H, W)`` image, counted as the JSCC counts them
    (the image padded to a multiple of 4)."""
    hp, wp = (-(-s // DOWNSCALE) * DOWNSCALE for s in shape)
    return int(kn * 3 * hp * wp)


class ChannelUseBudget:
    """For codecs that send :func:`channel_uses` symbols at their bandwidth ratio
    ``self.kn`` (a Fraction): ``n_symbols``, ``rate_of`` and ``bandwidth_ratio``."""

    kn: Fraction

    @property
    def bandwidth_ratio(self) -> float:
        return float(self.kn)

    def n_symbols(self, shape: tuple[int, int]) -> int:
        return channel_uses(shape, self.kn)

    def rate_of(self, n: int, shape: tuple[int, int]) -> Fraction:
        """The bandwidth ratio, if ``n`` symbols are what an ``(H, W)`` image gets."""
        if n != self.n_symbols(shape):
            raise PrivsemError(f"{n} symbols do not fit a {shape[0]}×{shape[1]} image at k/n {self.kn} "
                               f"(expected {self.n_symbols(shape)})")
        return self.kn


def interleaver(n_bits: int) -> np.ndarray:
    """The fixed pseudo-random bit permutation for ``n_bits`` coded bits, int64 ``(n_bits,)``
    (sender: ``bits[perm]``; receiver: ``out[perm] = llr``)."""
    return np.random.default_rng(n_bits).permutation(n_bits)


def deinterleave(llr: np.ndarray) -> np.ndarray:
    """Undo :func:`interleaver` on received bit LLRs (float ``(n_bits,)``)."""
    out = np.empty_like(llr)
    out[interleaver(llr.size)] = llr
    return out


def _scrambler(n_bits: int) -> np.ndarray:
    """PRBS XORed onto the coded bits, so padding zeros do not map to one repeated
    constellation point (power and spectrum stay those of random data)."""
    return np.random.default_rng(0x5C + n_bits).integers(0, 2, n_bits).astype(np.float32)


class SeparatedCodec(ChannelUseBudget, Codec):
    """Image codec + LDPC + QAM with the JSCC's interface.

    Args:
        image_codec: ``jpeg`` | ``webp`` | ``avif``.
        kn: bandwidth ratio, e.g. ``"1/6"``.
        mcs: an MCS name (``16qam-3/4``) or ``None`` to pick one from the SNR
            (:func:`link_adaptation`).

    After :meth:`encode`, ``last_fits`` holds the image codec's choice per image (``None``:
    nothing fits) and ``last_side`` the MCS's index in :data:`MCS_TABLE` (the frame
    header carries it, so a receiver whose SNR estimate differs from the sender's
    design SNR still demaps with the sender's MCS); after :meth:`decode`, ``last_ok``
    says which images decoded with a good CRC.
    """

    name = "digital"
    uses_side = True
    decodes_zf = True  # decode() takes zero-forced symbols and their noise variances (no=)

    def __init__(self, image_codec: str = "jpeg", kn: str | Fraction = "1/6", mcs: str | None = None) -> None:
        if image_codec not in FORMATS:
            raise PrivsemError(f"unknown image codec {image_codec!r} (known: {', '.join(FORMATS)})")
        self.image_codec, self.kn = image_codec, parse_kn(kn)
        self.mcs = mcs_by_name(mcs) if mcs else None
        self.last_fits: list = []
        self.last_ok: list[bool] = []
        self.last_side: list[int] = []

    def select_mcs(self, snr_db: float) -> MCS:
        return self.mcs or link_adaptation(snr_db)

    def _codewords(self, shape: tuple[int, int], mcs: MCS) -> int:
        return self.n_symbols(shape) * mcs.bits // LDPC_N

    def payload_bytes(self, shape: tuple[int, int], snr_db: float) -> int:
        """Image-codec bytes that fit in one image's symbols at this SNR's MCS."""
        mcs = self.select_mcs(snr_db)
        return max(0, self._codewords(shape, mcs) * mcs.k // 8 - LEN_BYTES - CRC_BYTES)

    def encode(self, img: np.ndarray, snr_db: float) -> np.ndarray:
        mcs = self.select_mcs(snr_db)
        shape = img.shape[-2:]
        n = self.n_symbols(shape)
        out = np.empty((img.shape[0], n), np.complex64)
        self.last_fits = []
        self.last_side = [MCS_TABLE.index(mcs)] * img.shape[0]
        for b, im in enumerate(img):
            out[b], f = self.encode_one(im.transpose(1, 2, 0), n, mcs, seed=b)
            self.last_fits.append(f)
        return out

    def encode_one(self, img: np.ndarray, n: int, mcs: MCS, seed: int = 0) -> tuple[np.ndarray, object]:
        """float32 ``(H, W, 3)`` → (complex64 ``(n,)``, the image codec's Fit or None):
        the best encoding that fits the whole LDPC codewords of ``n`` symbols at ``mcs``,
        the rest random symbols of the same power."""
        n_cw = n * mcs.bits // LDPC_N
        room = max(0, n_cw * mcs.k // 8 - LEN_BYTES - CRC_BYTES)
        f = fit(img, self.image_codec, room)
        return self.symbols(f.data if f is not None else b"", n, mcs, seed), f

    @staticmethod
    def symbols(data: bytes, n: int, mcs: MCS, seed: int = 0) -> np.ndarray:
        """Image-codec bytes → complex64 ``(n,)``: length, data and CRC-32 in the whole
        LDPC codewords of ``n`` symbols at ``mcs`` (interleaved, scrambled, Gray QAM), the
        rest random symbols of the same power. A receiver that decoded ``data`` rebuilds
        the same symbols (the superposed code subtracts them)."""
        n_cw = n * mcs.bits // LDPC_N
        payload = len(data).to_bytes(LEN_BYTES, "big") + data + zlib.crc32(data).to_bytes(CRC_BYTES, "big")
        bits = np.zeros(n_cw * mcs.k, np.float32)
        raw = np.unpackbits(np.frombuffer(payload, np.uint8)).astype(np.float32)
        bits[: raw.size] = raw[: bits.size]  # no room at all (a tiny image): nothing is sent
        coded = ldpc_encode(bits.reshape(n_cw, mcs.k), mcs.k, LDPC_N).reshape(-1) if n_cw else bits
        coded = np.abs(coded[interleaver(coded.size)] - _scrambler(coded.size))
        fill = np.random.default_rng(seed).integers(0, 2, (n - coded.size // mcs.bits) * mcs.bits)
        return qam_map(np.concatenate([coded, fill.astype(np.float32)]), mcs.bits)

    def decode(self, y: np.ndarray, snr_db: float, shape: tuple[int, int], side: int | list[int] | None = None,
               no: np.ndarray | None = None) -> np.ndarray:
        """``side``: the header's MCS index (default: this codec's MCS, or the one the SNR
        selects); ``no``: per-symbol noise variance after equalization (default
        ``10^(−SNR/10)``)."""
        side = side[0] if isinstance(side, list) else side
        if side is not None and not 0 <= side < len(MCS_TABLE):
            raise PrivsemError(f"the header names MCS {side}, which this privsem does not know")
        mcs = MCS_TABLE[side] if side is not None else self.select_mcs(snr_db)
        out = np.full((y.shape[0], 3, *shape), 0.5, np.float32)
        self.last_ok = []
        for b, yb in enumerate(y):
            nob = np.full(yb.size, 10.0 ** (-snr_db / 10.0), np.float32) if no is None else np.asarray(no)[b]
            img = self.decode_one(yb, nob, shape, mcs)
            if img is not None:
                out[b] = img.transpose(2, 0, 1)
            self.last_ok.append(img is not None)
        return out

    def decode_one(self, y: np.ndarray, no: np.ndarray, shape: tuple[int, int], mcs: MCS) -> np.ndarray | None:
        """complex ``(n,)`` equalized symbols and their noise variances → float32
        ``(H, W, 3)``, or None (the CRC failed, or nothing was sent)."""
        data = self.decode_bytes(y, no, mcs)
        if data is None:
            return None
        try:
            return decompress(data, self.image_codec, shape)
        except PrivsemError:
            return None

    @staticmethod
    def decode_bytes(y: np.ndarray, no: np.ndarray, mcs: MCS) -> bytes | None:
        """:meth:`symbols` undone: complex ``(n,)`` equalized symbols and their noise
        variances → the image-codec bytes, or None (the CRC failed, or nothing was sent)."""
        n_cw = y.size * mcs.bits // LDPC_N
        if not n_cw:
            return None
        used = n_cw * LDPC_N // mcs.bits
        llr = qam_llr(y[:used], np.asarray(no, np.float32)[:used], mcs.bits) * (1 - 2 * _scrambler(used * mcs.bits))
        llr = deinterleave(llr).reshape(n_cw, LDPC_N)
        return ldpc_decode_checked(llr, mcs.k, LDPC_N, _payload)


def _payload(bits: np.ndarray) -> bytes | None:
    """Decoded info bits → the framed bytes (length, data, CRC-32), or None if the CRC fails."""
    payload = np.packbits(bits).tobytes()
    length = int.from_bytes(payload[:LEN_BYTES], "big")
    data = payload[LEN_BYTES: LEN_BYTES + length]
    crc = payload[LEN_BYTES + length: LEN_BYTES + length + CRC_BYTES]
    if not (0 < length <= len(payload) - LEN_BYTES - CRC_BYTES and zlib.crc32(data).to_bytes(4, "big") == crc):
        return None
    return data


def capacity_bound(img: np.ndarray, image_codec: str, n_symbols: int, snr_db: float,
                   channel: str = "awgn") -> tuple[np.ndarray, object]:
    """The image codec given ``n_symbols · C`` error-free bits: ``(reconstruction float32
    (H, W, 3), Fit | None)``; mid-grey if nothing fits."""
    budget = int(n_symbols * capacity(snr_db, channel) // 8)
    f = fit(img, image_codec, budget)
    if f is None:
        return np.full_like(img, 0.5), None
    return decompress(f.data, image_codec, img.shape[:2]), f
