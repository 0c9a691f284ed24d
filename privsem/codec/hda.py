"""Hybrid digital–analog code: a digital base layer and the linear analog code on what
the base layer misses (in the manner of HDA-Cast and LayerCast).

Part of the channel uses carry the image compressed (AVIF) and protected (5G LDPC, QPSK
or QAM at an MCS chosen with a margin below the design SNR); the rest carry, with
:class:`~privsem.codec.softcast.SoftCastCodec`'s transform, power split and LMMSE
decoding, the residual: the image minus what the base layer decodes to (the sender
decodes its own base layer). At low SNR the digital compressor's efficiency carries the
picture; as the SNR rises the analog residual keeps adding detail, where a digital code
stays flat at its MCS. The share of the base layer is a table over the design SNR,
chosen by measurement on training photos (``SPLIT``, docs/codec.md).

The base layer's symbols are spread evenly over the message and the analog part's fill
the rest in a pseudo-random order, so that a lost frame erases a share of each, not the
base layer's codewords in one piece. A base layer that fails its CRC leaves the analog
part alone (the residual on mid-grey: a defined, poor picture, and ``last_ok`` False);
metadata that fails leaves the base layer alone. The frame header's ``mcs`` byte holds the design class (3 bits) and the
analog metadata's codeword count (5 bits).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import PrivsemError
from .base import Codec, one_blas_thread, parse_kn
from .outcome import HybridOutcome
from .separated import (
    LDPC_N,
    MCS_THRESHOLD_DB,
    ChannelUseBudget,
    SeparatedCodec,
    mcs_by_name,
)
from .softcast import (
    LOW_RATE_BELOW_DB,
    SoftCastCodec,
    known_hole,
    meta_threshold_db,
    spread_positions,
)

# design SNR classes (dB) → (share of the symbols for the base layer, base layer MCS).
# Measured on 320² crops of training photos (astronaut, rocket, flower, grace_hopper; AWGN):
# a base share of 0.75 beat 0.3–0.6 and 0.9 at 0, 10 and 20 dB; the MCS keeps about 5 dB
# of margin below the class (its AWGN threshold, MCS_THRESHOLD_DB), so that a link built
# for 10 dB still decodes its base layer at 5 dB (no cliff), at a cost at the design SNR
# (10 dB: 34.20 dB with qpsk-3/4 against 35.21 with 16qam-1/2, which fails at 5 dB).
SPLIT = {0.0: (0.75, "qpsk-1/4"), 5.0: (0.75, "qpsk-1/3"), 10.0: (0.75, "qpsk-3/4"),
         15.0: (0.75, "16qam-1/2"), 20.0: (0.75, "16qam-3/4")}
CLASSES = tuple(SPLIT)
IMAGE_CODEC = "avif"
MAX_META_CW = 31  # five bits of the header byte


def design_class(snr_db: float) -> int:
    """Index in :data:`CLASSES` of the highest class at or below ``snr_db`` (the lowest
    if none is)."""
    return max([i for i, c in enumerate(CLASSES) if c <= snr_db + 1e-9] or [0])


class HybridCodec(ChannelUseBudget, Codec):
    """Digital base + analog residual with the JSCC's interface (``encode(img, snr_db,
    mask=None)``, ``decode(y, snr_db, shape, side, no=None)``; see
    :class:`~privsem.codec.softcast.SoftCastCodec` for ``side``, ``no``, ``last_ok``
    and ``last_mask``).

    Args:
        kn: bandwidth ratio.
    """

    name = "hda"
    uses_side = True
    decodes_zf = True  # decode() takes zero-forced symbols and their noise variances (no=)
    sends_mask = True

    def __init__(self, kn: str | Fraction = "1/6") -> None:
        self.kn = parse_kn(kn)
        self.analog = SoftCastCodec(kn, refiner=None)  # the residual is not a photo: no refinement
        self.digital = SeparatedCodec(IMAGE_CODEC, kn)
        self.last_ok: list[bool] = []
        self.last_side: list[int] = []
        self.last_outcome: list[HybridOutcome] = []  # per image: the error at any receive SNR (.outcome)
        self.last_mask: list = []
        self.last_sealed: list[bool] = []
        self.last_base_ok: list[bool] = []

    def at(self, kn) -> HybridCodec:
        return HybridCodec(kn)

    def split(self, n: int, cls: int) -> tuple[int, object]:
        """(symbols of the base layer, its MCS) for ``n`` symbols and design class
        ``cls``: whole LDPC codewords."""
        share, mcs_name = SPLIT[CLASSES[cls]]
        mcs = mcs_by_name(mcs_name)
        n_cw = int(share * n) * mcs.bits // LDPC_N
        return n_cw * LDPC_N // mcs.bits, mcs

    def encode(self, img: np.ndarray, snr_db: float, mask: np.ndarray | None = None,
               seal_key: bytes | None = None) -> np.ndarray:
        with one_blas_thread():
            return self._encode(img, snr_db, mask, seal_key)

    def _encode(self, img, snr_db, mask, seal_key) -> np.ndarray:
        from .fill import smooth_fill, textured_fill
        from .imagecodec import decompress

        shape = tuple(img.shape[-2:])
        n = self.n_symbols(shape)
        cls = design_class(snr_db)
        n_d, mcs = self.split(n, cls)
        base_pos, analog_pos = spread_positions(n, n_d)
        masks = [None] * img.shape[0] if mask is None else np.broadcast_to(mask, (img.shape[0], *shape))
        out = np.zeros((img.shape[0], n), np.complex64)
        self.last_side, self.last_outcome = [], []
        for b, im in enumerate(np.asarray(img, np.float32)):
            im = im.transpose(1, 2, 0)
            if masks[b] is not None and masks[b].any():  # fill what the receivers will know as the hole
                im = (textured_fill if seal_key is not None else smooth_fill)(im, known_hole(masks[b]))
            out[b, base_pos], f = self.digital.encode_one(im, n_d, mcs, seed=b)
            base = decompress(f.data, IMAGE_CODEC, shape) if f is not None else np.full_like(im, 0.5)
            residual = (im - base).transpose(2, 0, 1).astype(np.float64)
            out[b, analog_pos], side = self.analog.encode_one(residual, n - n_d, CLASSES[cls],
                                                              masks[b], fill=False, seal_key=seal_key)
            if side & 0x7F > MAX_META_CW:
                raise PrivsemError(f"hda metadata needs {side & 0x7F} codewords, the header holds {MAX_META_CW}")
            self.last_side.append(cls << 5 | side & 0x7F)
            self.last_outcome.append(HybridOutcome(  # the residual's error is the image's
                self.analog.error, meta_threshold_db(CLASSES[cls]), MCS_THRESHOLD_DB[mcs.name],
                base_mse=float(np.mean((im - base) ** 2)), offset_mse=float(np.mean((base - 0.5) ** 2)),
                grey_mse=float(np.mean((im - 0.5) ** 2))))
        return out

    def decode(self, y: np.ndarray, snr_db: float, shape: tuple[int, int], side: int | list[int] = 0,
               no: np.ndarray | None = None, seal_key: bytes | None = None) -> np.ndarray:
        with one_blas_thread():
            return self._decode(y, snr_db, shape, side, no, seal_key)

    def _decode(self, y, snr_db, shape, side, no, seal_key) -> np.ndarray:
        self.rate_of(y.shape[-1], shape)
        sides = [side] * y.shape[0] if isinstance(side, int) else list(side)
        out = np.full((y.shape[0], 3, *shape), 0.5, np.float32)
        self.last_ok, self.last_mask, self.last_sealed, self.last_base_ok = [], [], [], []
        for b, yb in enumerate(np.asarray(y)):
            cls = sides[b] >> 5
            if cls >= len(CLASSES):
                raise PrivsemError(f"the header names hda design class {cls}, which this privsem does not know")
            nob = (np.full(yb.size, 10.0 ** (-snr_db / 10.0)) if no is None
                   else np.maximum(np.asarray(no, np.float64)[b], 1e-12))
            n_d, mcs = self.split(yb.size, cls)
            base_pos, analog_pos = spread_positions(yb.size, n_d)
            base = self.digital.decode_one(yb[base_pos], nob[base_pos], shape, mcs)
            low = 0x80 if CLASSES[cls] < LOW_RATE_BELOW_DB else 0
            residual, hole, sealed = self.analog.decode_one(yb[analog_pos], nob[analog_pos], shape,
                                                            low | sides[b] & 0x1F, seal_key)
            est = (0.5 if base is None else base.transpose(2, 0, 1)) + (0 if residual is None else residual)
            if base is not None or residual is not None:
                out[b] = np.clip(est, 0, 1)
            self.last_ok.append(base is not None and residual is not None)
            self.last_base_ok.append(base is not None)
            self.last_mask.append(hole)
            self.last_sealed.append(sealed)
        return out
