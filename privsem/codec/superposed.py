"""Superposed hybrid digital–analog code: the analog residual rides *under* the digital
layer, on the same symbols, instead of beside it (superposition coding; the receiver
decodes the digital layer, subtracts it and reads the analog one).

A digital code chosen for a known SNR wastes the SNR between its MCS's threshold and the
link's: 16-QAM 1/2 decodes from 7 dB, so on a 10 dB link 3 dB go unused. This code
spends them. Every symbol but the metadata's carries ``√(1−α)·d + √α·a``: ``d`` the
image compressed (AVIF) and protected (5G LDPC, QAM) as :class:`~privsem.codec.separated.SeparatedCodec`
does, ``a`` :class:`~privsem.codec.softcast.SoftCastCodec`'s symbols of the residual
(the image minus what the digital layer decodes to), both at unit power. ``α`` is the
largest share that leaves the digital layer ``SINR_MARGIN_DB`` above its MCS's AWGN
threshold with the analog layer as noise, ``margin_db`` below the design SNR. The
metadata (softcast's, with ``α`` in it) keeps its own symbols at full power, at QPSK 1/4.

The receiver reads the metadata, demaps the digital layer with the analog one as noise
(``(α + N)/(1−α)`` per symbol after scaling by ``1/√(1−α)``), checks its CRC, rebuilds
its symbols from the decoded bytes and subtracts them; what is left is ``√α·a`` plus
noise, which softcast's LMMSE decoder reads with noise ``N/α``. A digital layer that
fails its CRC leaves nothing to separate: mid-grey and ``last_ok`` False (a cliff, like
the digital code's, ``margin_db`` below the design SNR).

Unlike :class:`~privsem.codec.hda.HybridCodec`, the digital layer gets every symbol
(hda gives it 75 %) and the analog one too, at a low SNR (``α·SNR``, about −1 to +2 dB):
measured on the held-out photos (docs/codec.md) it adds 1.4–2 dB over the digital code
at the same MCS. The frame header's ``mcs`` byte holds the digital MCS (3 bits,
:data:`LAYER_MCS`) and the metadata's codeword count (5 bits).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import PrivsemError
from .base import MaskedLinearCode
from .hda import IMAGE_CODEC, MAX_META_CW, filled_inputs, hybrid_parts
from .outcome import (
    SuperposedOutcome,
    decodes,
    expected_psnr,
    layer_sinr_db,
    rayleigh_snrs,
)
from .separated import (
    LDPC_N,
    MCS_THRESHOLD_DB,
    ChannelUseBudget,
    mcs_by_name,
)

# The digital layer's MCS, named by the top three bits of the header byte.
# The first is the most robust, sent alone where no MCS leaves the analog layer power (with
# qpsk-1/3 there the bench lost every picture over Rayleigh fading at 0 dB).
LAYER_MCS = ("qpsk-1/4", "qpsk-1/2", "qpsk-3/4", "16qam-1/2", "16qam-2/3", "16qam-3/4", "64qam-2/3", "64qam-3/4")
SINR_MARGIN_DB = 1.0  # the digital layer's SINR above its MCS's threshold (2 % codeword errors) at the margin
CANDIDATES = 3  # the sender predicts the outcome of the most efficient few MCSs that fit, keeps the best
# Built for a slowly fading link the sender also tries the shares and MCSs that keep this much
# more margin (dB): a Rayleigh fade is below −4 / −8 / −12 dB with probability 33 / 15 / 6 %.
FADING_EXTRA_MARGINS_DB = (4.0, 8.0, 12.0)


def layer_share(design_snr_db: float, mcs_name: str, margin_db: float) -> float:
    """The analog layer's power share ``α`` (0 if none fits): the largest that leaves the
    digital layer :data:`SINR_MARGIN_DB` above ``mcs_name``'s threshold at ``margin_db``
    below the design SNR, the analog layer counted as noise. Quantized to 1/255 (the
    metadata's byte)."""
    s = 10.0 ** ((design_snr_db - margin_db) / 10.0)
    t = 10.0 ** ((MCS_THRESHOLD_DB[mcs_name] + SINR_MARGIN_DB) / 10.0)
    alpha = (s - t) / (s * (1.0 + t))
    return float(np.floor(np.clip(alpha, 0.0, 0.5) * 255) / 255)


def block_share(fades_db: np.ndarray, mcs_name: str) -> float | None:
    """The largest analog share ``α`` (a multiple of 1/255, at most 0.5) with which the
    digital layer at ``mcs_name`` decodes over the equally likely receive SNRs
    ``fades_db`` (block fading; :func:`~privsem.codec.outcome.decodes`); None if it does
    not decode even alone."""
    mcs = mcs_by_name(mcs_name)

    def ok(k):
        return decodes(MCS_THRESHOLD_DB[mcs_name], mcs.bits, layer_sinr_db(fades_db, k / 255))

    if not ok(0):
        return None
    lo, hi = 0, 128  # ok(lo), and hi beyond the largest share tried
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo / 255


def candidates(design_snr_db: float, margin_db: float) -> list[int]:
    """Indices in :data:`LAYER_MCS` worth trying, most efficient first: those whose
    digital layer decodes at the margin with some power left for the analog layer (the
    most robust if none does)."""
    ok = [i for i, m in enumerate(LAYER_MCS) if layer_share(design_snr_db, m, margin_db) > 0]
    ok.sort(key=lambda i: -mcs_by_name(LAYER_MCS[i]).efficiency)
    return ok[:CANDIDATES] or [0]


class SuperposedCodec(ChannelUseBudget, MaskedLinearCode):
    """Digital layer over all symbols with the analog residual under it; the JSCC's
    interface (``encode(img, snr_db, mask=None)``, ``decode(y, snr_db, shape, side,
    no=None)``; ``side``, ``no``, ``last_ok``, ``last_mask`` as for
    :class:`~privsem.codec.softcast.SoftCastCodec`).

    Args:
        kn: bandwidth ratio.
        margin_db: how far (dB) below the design SNR the digital layer must still
            decode (default :data:`~privsem.codec.hda.MARGIN_DB`, also for None); the
            larger, the less power is left for the analog layer.
        fading: the link fades (Rayleigh, unknown to the sender; True or ``"slow"``: one
            fade per message, ``"block"``: many, :func:`~privsem.codec.outcome.fading_kind`):
            choose the MCS and share for the PSNR expected over the fade's distribution
            (:meth:`plan`) instead of for AWGN at the design SNR.
    """

    name = "superposed"
    checked_parts = "digital layer or metadata"
    uses_side = True
    decodes_zf = True
    sends_mask = True

    def __init__(self, kn: str | Fraction = "1/6", margin_db: float | None = None,
                 fading: bool | str = False) -> None:
        hybrid_parts(self, kn, margin_db, fading)
        self.last_alpha: list[float] = []  # per image: the analog layer's power share
        self.last_outcome: list[SuperposedOutcome] = []  # per image: the error at any receive SNR (.outcome)

    def at(self, kn) -> SuperposedCodec:
        return SuperposedCodec(kn, self.margin_db, self.fading)

    @staticmethod
    def digital_symbols(n_free: int, mcs) -> int:
        """Symbols of the digital layer: its whole LDPC codewords in ``n_free``."""
        return n_free * mcs.bits // LDPC_N * LDPC_N // mcs.bits

    def plan(self, snr_db: float) -> list[tuple[int, list[float]]]:
        """What the sender tries at design SNR ``snr_db``: (index in :data:`LAYER_MCS`,
        the analog shares ``α`` to try with it). Over AWGN the :data:`CANDIDATES` most
        efficient MCSs with the share that leaves each its margin. Built for block
        fading, the same with the fade's law: the MCSs whose layer still decodes at a
        mean SNR ``margin_db`` below the design's, by the mutual-information model
        (:func:`~privsem.codec.outcome.decodes`), each with the largest share that leaves
        it so. Built for slow fading, also the shares and MCSs at
        :data:`FADING_EXTRA_MARGINS_DB` more margin, and each MCS alone (α = 0): the PSNR
        expected over the fade decides (:mod:`.outcome`)."""
        if self.fading == "block":
            fades = rayleigh_snrs(snr_db - self.margin_db)
            fit = {i: a for i, m in enumerate(LAYER_MCS) if (a := block_share(fades, m)) is not None}
            ok = sorted(fit, key=lambda i: -mcs_by_name(LAYER_MCS[i]).efficiency)[:CANDIDATES]
            return [(i, [fit[i]]) for i in ok] or [(0, [0.0])]
        margins = [self.margin_db] + ([self.margin_db + d for d in FADING_EXTRA_MARGINS_DB] if self.fading else [])
        shares: dict[int, set[float]] = {}
        for m in margins:
            for idx in candidates(snr_db, m):
                shares.setdefault(idx, set()).add(layer_share(snr_db, LAYER_MCS[idx], m))
                if self.fading:
                    shares[idx].add(0.0)
        return [(idx, sorted(a, reverse=True)) for idx, a in shares.items()]

    def _encode(self, img, snr_db, mask, seal_key, hints=None) -> np.ndarray:
        shape = tuple(img.shape[-2:])
        n = self.n_symbols(shape)
        out = np.zeros((img.shape[0], n), np.complex64)
        self.last_side, self.last_alpha, self.last_outcome = [], [], []
        plan = self.plan(snr_db)
        for b, im, m in filled_inputs(img, mask, seal_key):
            best, best_db = None, -np.inf
            for idx, alphas in plan:
                for sent in self._encode_mcs(im, n, idx, alphas, snr_db, m, seal_key,
                                             None if hints is None else hints[b], b):
                    db = expected_psnr(sent[0], snr_db, self.fading)
                    if db > best_db:
                        best, best_db = sent, db
            outcome, out[b], side, alpha = best
            self.last_side.append(side)
            self.last_alpha.append(alpha)
            self.last_outcome.append(outcome)
        return out

    def _encode_mcs(self, im, n, idx, alphas, snr_db, mask, seal_key, hint, seed):
        """[(:class:`~privsem.codec.outcome.SuperposedOutcome`, symbols, header byte, α)]
        for MCS ``idx`` and each share in ``alphas`` (the digital layer encoded once)."""
        from .imagecodec import decompress

        mcs = mcs_by_name(LAYER_MCS[idx])

        def analog(residual, alpha, min_meta_cw=1):
            analog_db = snr_db + 10 * np.log10(max(alpha, 1 / 255))  # the analog layer's SNR after the subtraction
            return self.analog.encode_one(residual, n, analog_db, mask, fill=False, seal_key=seal_key,
                                          meta_low=True, hint=hint, layer=round(alpha * 255), min_meta_cw=min_meta_cw)

        # the residual's metadata is about the picture's: start from that (each wrong guess costs an AVIF search)
        _, side = analog((im - 0.5).transpose(2, 0, 1).astype(np.float64), alphas[0])
        meta_cw = side & 0x7F
        for _ in range(MAX_META_CW):  # the layout needs the metadata's size, which needs the residual
            n_d = self.digital_symbols(n - meta_cw * LDPC_N // 2, mcs)
            if not n_d:
                raise PrivsemError(f"a {im.shape[0]}×{im.shape[1]} image at k/n {self.kn} has {n} symbols, too few "
                                   f"for the superposed code's metadata and one {mcs.name} codeword: use a larger "
                                   "image or k/n")
            d, f = self.digital.encode_one(im, n_d, mcs, seed=seed)
            base = decompress(f.data, IMAGE_CODEC, im.shape[:2]) if f is not None else np.full_like(im, 0.5)
            residual = (im - base).transpose(2, 0, 1).astype(np.float64)
            a, side = analog(residual, alphas[0], meta_cw)
            if side & 0x7F == meta_cw:
                break
            meta_cw = side & 0x7F
        if meta_cw > MAX_META_CW:
            raise PrivsemError(f"superposed metadata needs {meta_cw} codewords, the header holds {MAX_META_CW}")
        under = self.analog.layout(im.shape[:2], 0x80 | meta_cw, n).analog_pos[:n_d]
        base_mse, grey_mse = float(np.mean((im - base) ** 2)), float(np.mean((im - 0.5) ** 2))
        sent = []
        for i, alpha in enumerate(alphas):
            if i:
                a, side = analog(residual, alpha, meta_cw)
                if side & 0x7F != meta_cw:
                    continue  # another layout: not worth another AVIF search
            x = a.copy()
            x[under] = np.sqrt(1 - alpha) * d + np.sqrt(alpha) * a[under]
            outcome = SuperposedOutcome(self.analog.error, alpha, MCS_THRESHOLD_DB["qpsk-1/4"],
                                        MCS_THRESHOLD_DB[mcs.name], base_mse, grey_mse, mcs.bits)
            sent.append((outcome, x, idx << 5 | meta_cw, alpha))
        return sent

    def _decode(self, y, snr_db, shape, side, no, seal_key) -> np.ndarray:
        out = np.full((y.shape[0], 3, *shape), 0.5, np.float32)
        self.last_ok, self.last_mask, self.last_sealed, self.last_base_ok, self.last_hint = [], [], [], [], []
        for b, yb, nob, sb in self.received(y, snr_db, shape, side, no):
            img, hole, sealed, hint, base_ok = self.decode_one(yb, nob, shape, sb, seal_key)
            if img is not None:
                out[b] = img
            self.last_ok.append(img is not None and base_ok)
            self.last_base_ok.append(base_ok)
            self.last_mask.append(hole)
            self.last_sealed.append(sealed)
            self.last_hint.append(hint)
        return out

    def decode_one(self, y, no, shape, side, seal_key=None):
        """complex ``(n,)`` zero-forced symbols and their noise variances → (float32
        ``(3, H, W)`` or None, the mask, whether a sealed mask stayed closed, the hint,
        whether the digital layer decoded). None when the metadata fails (nothing can
        be placed) or the digital layer does (nothing can be separated)."""
        from .imagecodec import decompress

        mcs = mcs_by_name(LAYER_MCS[side >> 5])
        lay, meta = self.analog.read_meta(y, no, shape, 0x80 | side & 0x1F, seal_key)
        if meta is None or meta[-1] is None:
            return None, None, False, None, False
        hole, sealed, hint, alpha = meta[4], meta[5], meta[6], meta[-1] / 255
        if not 0 < alpha < 1:  # no analog layer: the digital one at full power
            alpha = 0.0
        under = lay.analog_pos[:self.digital_symbols(y.size - lay.meta_pos.size, mcs)]
        closed = bool(sealed and hole is None)
        data = self.digital.decode_bytes(y[under] / np.sqrt(1 - alpha), (alpha + no[under]) / (1 - alpha), mcs)
        base = None
        if data is not None:
            try:
                base = decompress(data, IMAGE_CODEC, shape).transpose(2, 0, 1)
            except PrivsemError:
                data = None
        if data is None:
            return None, hole, closed, hint, False
        if alpha == 0:
            return base, hole, closed, hint, True
        d = self.digital.symbols(data, under.size, mcs)
        y2, no2 = np.array(y, np.complex128), np.array(no, np.float64)
        y2[under] = (y[under] - np.sqrt(1 - alpha) * d) / np.sqrt(alpha)
        no2[under] = no[under] / alpha
        residual, *_ = self.analog.decode_one(y2, no2, shape, 0x80 | side & 0x1F, seal_key, meta=meta)
        return np.clip(base + residual, 0, 1).astype(np.float32), hole, closed, hint, True
