"""Hybrid digital–analog code: a digital base layer and the linear analog code on what
the base layer misses (in the manner of HDA-Cast and LayerCast).

Part of the channel uses carry the image compressed (AVIF) and protected (5G LDPC, QPSK
or QAM at an MCS chosen with a margin below the design SNR, ``margin_db``); the rest carry, with
:class:`~privsem.codec.softcast.SoftCastCodec`'s transform, power split and LMMSE
decoding, the residual: the image minus what the base layer decodes to (the sender
decodes its own base layer). At low SNR the digital compressor's efficiency carries the
picture; as the SNR rises the analog residual keeps adding detail, where a digital code
stays flat at its MCS. The share of the base layer was chosen by measurement on training
photos (``SHARE``, docs/codec.md).

The base layer's symbols are spread evenly over the message and the analog part's fill
the rest in a pseudo-random order, so that a lost frame erases a share of each, not the
base layer's codewords in one piece. A base layer that fails its CRC leaves the analog
part alone (the residual on mid-grey: a defined, poor picture, and ``last_ok`` False);
metadata that fails leaves the base layer alone. The frame header's ``mcs`` byte holds the base layer's MCS (3 bits, :data:`BASE_MCS`) and
the analog metadata's codeword count (5 bits).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import PrivsemError
from .base import MaskedLinearCode, parse_kn
from .outcome import HybridOutcome, decodes, fading_kind, rayleigh_snrs
from .separated import (
    LDPC_N,
    MCS_THRESHOLD_DB,
    ChannelUseBudget,
    SeparatedCodec,
    mcs_by_name,
)
from .softcast import SoftCastCodec, known_hole, spread_positions

# The base layer's MCS, named by the top three bits of the header byte. The first five are
# the design classes 0 / 5 / 10 / 15 / 20 dB of earlier versions, so their headers decode
# as before; the last three serve links built with a small margin (docs/codec.md).
BASE_MCS = ("qpsk-1/4", "qpsk-1/3", "qpsk-3/4", "16qam-1/2", "16qam-3/4", "qpsk-1/2", "16qam-5/6", "64qam-5/6")
# Share of the symbols for the base layer. Measured on 320² crops of training photos
# (astronaut, rocket, flower, grace_hopper; AWGN): 0.75 beat 0.3–0.6 and 0.9 at 0, 10 and
# 20 dB; on twelve 320² crops of the wallpaper and libjxl photos it stayed within 0.2 dB of
# the best of 0.6–0.92 at 15 and 20 dB with every MCS tried.
SHARE = 0.75
# Default margin (dB) between the design SNR and the base layer's AWGN threshold: a link
# built for 10 dB still decodes its base layer at 5 dB (no cliff), at a cost at the design
# SNR (10 dB: 34.20 dB with qpsk-3/4 against 35.21 with 16qam-1/2, which fails at 5 dB).
MARGIN_DB = 5.0
# The analog metadata goes at QPSK 1/2 only when the base layer needs at least this much
# more SNR (dB) than it; otherwise at QPSK 1/4, so that it never fails first.
META_GAP_DB = 5.0
IMAGE_CODEC = "avif"
MAX_META_CW = 31  # five bits of the header byte


def base_mcs(design_snr_db: float, margin_db: float = MARGIN_DB) -> int:
    """Index in :data:`BASE_MCS` of the most efficient MCS whose AWGN threshold is at
    least ``margin_db`` below ``design_snr_db`` (the most robust if none is)."""
    ok = [i for i, m in enumerate(BASE_MCS) if MCS_THRESHOLD_DB[m] <= design_snr_db - margin_db + 1e-9]
    return _most_efficient(ok)


def block_base_mcs(design_snr_db: float, margin_db: float = MARGIN_DB) -> int:
    """The same for Rayleigh block fading without CSIT: the most efficient MCS whose base
    layer still decodes over the fades of a *mean* SNR ``margin_db`` below the design's
    (:func:`~privsem.codec.outcome.decodes`; the most robust if none does)."""
    fades = rayleigh_snrs(design_snr_db - margin_db)
    return _most_efficient([i for i, m in enumerate(BASE_MCS)
                            if decodes(MCS_THRESHOLD_DB[m], mcs_by_name(m).bits, fades)])


def _most_efficient(indices: list[int]) -> int:
    return max(indices, key=lambda i: mcs_by_name(BASE_MCS[i]).efficiency) if indices else 0


def meta_low_rate(index: int) -> bool:
    """Whether the analog metadata goes at QPSK 1/4 with base MCS ``index``."""
    return MCS_THRESHOLD_DB[BASE_MCS[index]] < MCS_THRESHOLD_DB["qpsk-1/2"] + META_GAP_DB


def hybrid_parts(codec, kn, margin_db: float | None, fading: bool | str = False) -> None:
    """What a hybrid code (hda, superposed) holds: its k/n, margin and kind of fading
    (:func:`~privsem.codec.outcome.fading_kind`), the analog code
    (softcast without the refinement: a residual is not a photo), the digital one, and
    per image what the last call sent or received (header bytes, whether all / the
    digital part decoded, the mask, whether it stayed sealed, the placement hint)."""
    codec.kn = parse_kn(kn)
    codec.margin_db = MARGIN_DB if margin_db is None else float(margin_db)
    codec.fading = fading_kind(fading)
    codec.analog = SoftCastCodec(kn, refiner=None)
    codec.digital = SeparatedCodec(IMAGE_CODEC, kn)
    codec.last_ok, codec.last_side, codec.last_base_ok = [], [], []
    codec.last_mask, codec.last_sealed, codec.last_hint = [], [], []


def filled_inputs(img: np.ndarray, mask: np.ndarray | None, seal_key: bytes | None):
    """Per image of float ``(B, 3, H, W)``: ``(b, float32 (H, W, 3), its mask or None)``,
    the region the receivers will know as the hole (⊇ mask) filled first: with texture
    when the mask is sealed, smoothly when it is not (:mod:`privsem.codec.fill`)."""
    from .fill import smooth_fill, textured_fill

    shape = tuple(img.shape[-2:])
    masks = [None] * img.shape[0] if mask is None else np.broadcast_to(mask, (img.shape[0], *shape))
    for b, im in enumerate(np.asarray(img, np.float32)):
        im = im.transpose(1, 2, 0)
        if masks[b] is not None and masks[b].any():
            im = (textured_fill if seal_key is not None else smooth_fill)(im, known_hole(masks[b]))
        yield b, im, masks[b]


class HybridCodec(ChannelUseBudget, MaskedLinearCode):
    """Digital base + analog residual with the JSCC's interface (``encode(img, snr_db,
    mask=None)``, ``decode(y, snr_db, shape, side, no=None)``; see
    :class:`~privsem.codec.softcast.SoftCastCodec` for ``side``, ``no``, ``last_ok``
    and ``last_mask``).

    Args:
        kn: bandwidth ratio.
        margin_db: how far (dB) below the design SNR the base layer must still decode:
            its MCS is the most efficient of :data:`BASE_MCS` whose AWGN threshold is that
            far below. 5 dB (the default, :data:`MARGIN_DB`, also for None) keeps a link working through a 5 dB drop; 2 dB
            is what the digital baseline's MCS search ends up with at a known SNR.
        fading: ``"block"`` (Rayleigh block fading, the sender blind to the fades): the
            base layer must decode at a mean SNR ``margin_db`` below the design's under
            the fades (:func:`block_base_mcs`), which costs a more robust MCS than over
            AWGN. True or ``"slow"`` (one fade per message) chooses as over AWGN: no base
            MCS survives every fade; auto weighs the fades when it compares the codes.
    """

    name = "hda"
    checked_parts = "base layer or metadata"
    uses_side = True
    decodes_zf = True  # decode() takes zero-forced symbols and their noise variances (no=)
    sends_mask = True

    def __init__(self, kn: str | Fraction = "1/6", margin_db: float | None = None,
                 fading: bool | str = False) -> None:
        hybrid_parts(self, kn, margin_db, fading)
        self.last_outcome: list[HybridOutcome] = []  # per image: the error at any receive SNR (.outcome)

    def at(self, kn) -> HybridCodec:
        return HybridCodec(kn, self.margin_db, self.fading)

    @staticmethod
    def split(n: int, index: int) -> tuple[int, object]:
        """(symbols of the base layer, its MCS) for ``n`` symbols and base MCS ``index``
        (:data:`BASE_MCS`): whole LDPC codewords in :data:`SHARE` of the symbols."""
        mcs = mcs_by_name(BASE_MCS[index])
        n_cw = int(SHARE * n) * mcs.bits // LDPC_N
        return n_cw * LDPC_N // mcs.bits, mcs

    def _encode(self, img, snr_db, mask, seal_key, hints=None) -> np.ndarray:
        from .imagecodec import decompress

        shape = tuple(img.shape[-2:])
        n = self.n_symbols(shape)
        idx = (block_base_mcs if self.fading == "block" else base_mcs)(snr_db, self.margin_db)
        n_d, mcs = self.split(n, idx)
        low = meta_low_rate(idx)
        base_pos, analog_pos = spread_positions(n, n_d)
        out = np.zeros((img.shape[0], n), np.complex64)
        self.last_side, self.last_outcome = [], []
        for b, im, m in filled_inputs(img, mask, seal_key):
            out[b, base_pos], f = self.digital.encode_one(im, n_d, mcs, seed=b)
            base = decompress(f.data, IMAGE_CODEC, shape) if f is not None else np.full_like(im, 0.5)
            residual = (im - base).transpose(2, 0, 1).astype(np.float64)
            out[b, analog_pos], side = self.analog.encode_one(residual, n - n_d, snr_db, m, fill=False,
                                                              seal_key=seal_key, meta_low=low,
                                                              hint=None if hints is None else hints[b])
            if side & 0x7F > MAX_META_CW:
                raise PrivsemError(f"hda metadata needs {side & 0x7F} codewords, the header holds {MAX_META_CW}")
            self.last_side.append(idx << 5 | side & 0x7F)
            self.last_outcome.append(HybridOutcome(  # the residual's error is the image's
                self.analog.error, MCS_THRESHOLD_DB["qpsk-1/4" if low else "qpsk-1/2"], MCS_THRESHOLD_DB[mcs.name],
                base_mse=float(np.mean((im - base) ** 2)), offset_mse=float(np.mean((base - 0.5) ** 2)),
                grey_mse=float(np.mean((im - 0.5) ** 2)), base_bits=mcs.bits))
        return out

    def _decode(self, y, snr_db, shape, side, no, seal_key) -> np.ndarray:
        out = np.full((y.shape[0], 3, *shape), 0.5, np.float32)
        self.last_ok, self.last_mask, self.last_sealed, self.last_base_ok, self.last_hint = [], [], [], [], []
        for b, yb, nob, sb in self.received(y, snr_db, shape, side, no):
            idx = sb >> 5  # three bits: always one of BASE_MCS
            n_d, mcs = self.split(yb.size, idx)
            base_pos, analog_pos = spread_positions(yb.size, n_d)
            base = self.digital.decode_one(yb[base_pos], nob[base_pos], shape, mcs)
            low = 0x80 if meta_low_rate(idx) else 0
            residual, hole, sealed, hint = self.analog.decode_one(yb[analog_pos], nob[analog_pos], shape,
                                                            low | sb & 0x1F, seal_key)
            est = (0.5 if base is None else base.transpose(2, 0, 1)) + (0 if residual is None else residual)
            if base is not None or residual is not None:
                out[b] = np.clip(est, 0, 1)
            self.last_ok.append(base is not None and residual is not None)
            self.last_base_ok.append(base is not None)
            self.last_mask.append(hole)
            self.last_sealed.append(sealed)
            self.last_hint.append(hint)
        return out
