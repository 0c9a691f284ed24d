"""``--codec auto``: per image, the linear code or one of the two hybrids, whichever the
sender expects to be best on the link it is built for.

The sender encodes the image each way and compares the PSNR each is expected to deliver
(:mod:`.outcome`), which it can compute without sending anything: every transform is
orthonormal, a hybrid's sender decodes its own digital part, and the LMMSE error of each
analog coefficient follows from its gain, its prior and the noise (on the held-out
photos the AWGN prediction is within 0.3 dB of what arrives, docs/codec.md). Over AWGN
the comparison is at the design SNR. Built for a fading link (Rayleigh, the sender blind
to the fade; ``fading=True`` or ``"slow"``: one fade per message, ``"block"``: many) it is
the PSNR expected over the fade's distribution around the design SNR, where a digital
part that fails leaves hda only its residual on mid-grey and the superposed code nothing (the superposed
code then also chooses its MCS and power share for the fade, :meth:`.superposed.SuperposedCodec.plan`;
under block fading hda its base layer's MCS, :func:`.hda.block_base_mcs`).
A hybrid is chosen only when it is expected to be :data:`CHOICE_MARGIN_DB` better than
softcast: softcast's learned refinement (up to +0.45 dB) is not in the model, and
softcast has no cliff where the hybrids' digital parts have one. Typically the hybrids
win on smooth pictures and where a digital compressor's efficiency matters; the
superposed one from about 10 dB up over AWGN, hda at low SNR.

The choice is the frame header's codec id (``softcast``, ``hda`` or ``superposed``), so
Bob and Eve decode by the header as for any codec; ``auto`` itself never appears in a
header.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import PrivsemError
from .base import Codec, parse_kn
from .outcome import expected_psnr, fading_kind
from .separated import ChannelUseBudget

CHOICE_MARGIN_DB = 0.5  # a hybrid must be expected this much better (dB) than softcast to be chosen
HYBRIDS = ("hda", "superposed")


class AutoCodec(ChannelUseBudget, Codec):
    """softcast, hda or superposed per image, with their interface (``encode(img, snr_db,
    mask=None, seal_key=None)``; see :class:`~privsem.codec.softcast.SoftCastCodec`).

    After ``encode``, ``name`` is the code chosen for the last image (what the frame
    header names), ``last_choice`` the choice per image and ``last_expected_psnr`` the
    predicted PSNR (dB) per image and code. ``decode`` decodes with the codes chosen at
    the last ``encode`` (the loopback's shortcut); a receiver builds the code the header
    names instead (:func:`~privsem.codec.registry.codec_for_header` takes it from
    :attr:`members`).

    Args:
        kn: bandwidth ratio.
        fading: compare the codes over Rayleigh fading (mean SNR = the design SNR) instead
            of AWGN: True or ``"slow"`` (one fade per message), ``"block"`` (many;
            :func:`~privsem.codec.outcome.fading_kind`).
        margin_db: the hybrids' digital-part margin (:class:`~privsem.codec.hda.HybridCodec`,
            :class:`~privsem.codec.superposed.SuperposedCodec`).
    """

    uses_side = True
    decodes_zf = True
    sends_mask = True

    def __init__(self, kn: str | Fraction = "1/6", fading: bool | str = False, margin_db: float | None = None) -> None:
        from .hda import HybridCodec
        from .softcast import SoftCastCodec
        from .superposed import SuperposedCodec

        self.kn = parse_kn(kn)
        self.fading = fading_kind(fading)
        hybrid = HybridCodec(self.kn, margin_db, self.fading)
        self.margin_db = hybrid.margin_db
        self.members = {"softcast": SoftCastCodec(self.kn), "hda": hybrid,
                        "superposed": SuperposedCodec(self.kn, self.margin_db, self.fading)}
        self.name = "softcast"
        self.last_choice: list[str] = []
        self.last_side: list[int] = []
        self.last_expected_psnr: list[dict[str, float]] = []
        self.last_ok: list[bool] = []
        self.last_mask: list = []
        self.last_sealed: list[bool] = []
        self.last_hint: list = []  # per image: the bytes sealed with the mask (placement hint), or None

    def at(self, kn) -> AutoCodec:
        return AutoCodec(kn, self.fading, self.margin_db)

    def encode(self, img: np.ndarray, snr_db: float, mask: np.ndarray | None = None,
               seal_key: bytes | None = None, hints=None) -> np.ndarray:
        """float32 ``(B, 3, H, W)`` in [0, 1] → complex64 ``(B, n)``, each image by the
        code it is expected to do best with at ``snr_db`` (softcast alone where no
        hybrid can serve the size and k/n)."""
        B = img.shape[0]
        masks = [None] * B if mask is None else np.broadcast_to(mask, (B, *img.shape[-2:]))
        out = np.zeros((B, self.n_symbols(tuple(img.shape[-2:]))), np.complex64)
        self.last_choice, self.last_side, self.last_expected_psnr = [], [], []
        for b in range(B):
            sent, sides, dbs = {}, {}, {}
            for name, codec in self.members.items():
                m = None if masks[b] is None else masks[b][None]
                try:
                    sent[name] = codec.encode(img[b:b + 1], snr_db, mask=m, seal_key=seal_key,
                                              hints=None if hints is None else [hints[b]])[0]
                except PrivsemError:
                    if name == "softcast":
                        raise
                    continue  # e.g. too few symbols for the hybrid's two parts: softcast alone
                sides[name] = codec.last_side[0]
                dbs[name] = round(expected_psnr(codec.last_outcome[0], snr_db, self.fading), 2)
            hybrid = max((h for h in HYBRIDS if h in dbs), key=dbs.get, default=None)
            pick = hybrid if hybrid and dbs[hybrid] >= dbs["softcast"] + CHOICE_MARGIN_DB else "softcast"
            out[b] = sent[pick]
            self.last_choice.append(pick)
            self.last_side.append(sides[pick])
            self.last_expected_psnr.append(dbs)
        self.name = self.last_choice[-1] if self.last_choice else "softcast"
        return out

    def decode(self, y: np.ndarray, snr_db: float, shape: tuple[int, int], side: int | list[int] = 0,
               no: np.ndarray | None = None, seal_key: bytes | None = None) -> np.ndarray:
        """As the chosen codes' ``decode``, image by image, with the choices of the last
        :meth:`encode` (a batch of the same size)."""
        self.rate_of(y.shape[-1], shape)
        sides = [side] * y.shape[0] if isinstance(side, int) else list(side)
        choice = self.last_choice if len(self.last_choice) == y.shape[0] else [self.name] * y.shape[0]
        out = np.empty((y.shape[0], 3, *shape), np.float32)
        self.last_ok, self.last_mask, self.last_sealed, self.last_hint = [], [], [], []
        for b, name in enumerate(choice):
            codec = self.members[name]
            out[b] = codec.decode(y[b:b + 1], snr_db, shape, sides[b],
                                  no=None if no is None else np.asarray(no)[b:b + 1], seal_key=seal_key)[0]
            self.last_ok.append(codec.last_ok[0])
            self.last_mask.append(codec.last_mask[0])
            self.last_sealed.append(codec.last_sealed[0])
            self.last_hint.append(codec.last_hint[0])
        return out
