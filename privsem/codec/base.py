"""The codec interface and the learned JSCC behind it."""

from __future__ import annotations

import functools
import json
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import PrivsemError
from ..weights import load_model_file
from .jscc import DOWNSCALE, JSCCDecoder, JSCCEncoder, from_symbols, kn_of, to_symbols

DEFAULT_WEIGHTS = {"1/6": "jscc_small.safetensors", "1/12": "jscc_small_kn12.safetensors",
                   "1/24": "jscc_small_kn24.safetensors"}  # committed models, one per k/n
FORMAT = "privsem-jscc-2"  # prefix-ordered complex channels, rate-conditioned decoder


class Codec:
    """What every codec offers (learned or separated, as in CompressAI's zoo).

    ``encode(img float32 (B,3,H,W) in [0,1], snr_db) -> complex64 (B, n)`` with mean
    power 1 per image; ``decode(y complex64 (B, n), snr_db, shape=(H, W)) -> float32
    (B,3,H,W) in [0,1]``; ``n_symbols((H, W))`` is ``n``.
    """

    name = "codec"
    checked_parts = "payload"  # what a receiver's failed CRC lost, for its warning

    def n_symbols(self, shape: tuple[int, int]) -> int:  # pragma: no cover
        raise NotImplementedError


def one_blas_thread():
    """Context: numpy's BLAS on one thread. The linear codes' matrix products are small;
    on 2 cores a second BLAS thread only fights torch's OpenMP threads (which spin after
    each LDPC or refinement call): softcast's encode + decode of a 256² image took
    0.13 s with it and 0.046 s without."""
    return _blas_pools().limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=1)
def _blas_pools():
    """threadpoolctl's view of the loaded thread pools, found once: finding them reads
    the process's memory map, 4 ms a time (12 ms of auto's 0.28 s per picture)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class MaskedLinearCode(Codec):
    """What softcast, hda and the superposed code share: ``encode(img, snr_db, mask,
    seal_key, hints)`` and ``decode(y, snr_db, shape, side, no, seal_key)`` on one
    BLAS thread (:func:`one_blas_thread`) around their ``_encode`` / ``_decode``, and
    the receiver's per-image loop (:meth:`received`)."""

    def encode(self, img: np.ndarray, snr_db: float, mask: np.ndarray | None = None,
               seal_key: bytes | None = None, hints=None) -> np.ndarray:
        """``mask``: bool ``(B, H, W)`` or ``(H, W)``, the removed region (filled and sent
        as side information), or None; ``seal_key``: seal it with this DB key (only a
        receiver with the key learns the outline; the fill is textured); ``hints``: per
        image, bytes sealed with the mask (the placement hint,
        :mod:`privsem.recovery.placement`) or None; only sent sealed."""
        with one_blas_thread():
            return self._encode(img, snr_db, mask, seal_key, hints)

    def decode(self, y: np.ndarray, snr_db: float, shape: tuple[int, int], side: int | list[int] = 0,
               no: np.ndarray | None = None, seal_key: bytes | None = None) -> np.ndarray:
        with one_blas_thread():
            return self._decode(y, snr_db, shape, side, no, seal_key)

    def received(self, y: np.ndarray, snr_db: float, shape: tuple[int, int], side: int | list[int],
                 no: np.ndarray | None):
        """Checks the symbol count, then yields per image ``(b, symbols (n,), noise
        variances float64 (n,), header byte)``: ``no``'s row (floored at 1e-12), or
        ``10^(−snr_db/10)`` without it."""
        self.rate_of(y.shape[-1], shape)
        sides = [side] * y.shape[0] if isinstance(side, int) else list(side)
        for b, yb in enumerate(np.asarray(y)):
            nob = (np.full(yb.size, 10.0 ** (-snr_db / 10.0)) if no is None
                   else np.maximum(np.asarray(no, np.float64)[b], 1e-12))
            yield b, yb, nob, sides[b]


def parse_kn(kn: str | float | Fraction) -> Fraction:
    """``"1/6"``, ``0.1667`` or ``Fraction(1, 6)`` → ``Fraction(1, 6)`` (to /1000)."""
    try:
        value = Fraction(kn.strip() if isinstance(kn, str) else kn).limit_denominator(1000)
    except (ValueError, ZeroDivisionError, TypeError):
        value = None
    if value is None or not 0 < value <= 1:
        raise PrivsemError(f"not a bandwidth ratio: {kn!r} (use e.g. 1/6)")
    return value


class JSCCCodec(Codec):
    """The learned JSCC (:mod:`privsem.codec.jscc`), any image size (reflect-padded to ×4).

    One set of weights serves several bandwidth ratios (``rates``: complex channels per
    latent position); :meth:`at` picks one. The decoder infers the ratio from the number
    of symbols it is given.

    Args:
        config: ``width``, ``c_out``, ``depth``, ``rates`` (list of ``m``),
            ``snr_min_db``, ``snr_max_db``.
        device: where encoder and decoder run (default: the CPU). ``encode`` and
            ``decode`` still take and give numpy arrays: one copy each way per call.
    """

    name = "jscc"

    def __init__(self, encoder: JSCCEncoder, decoder: JSCCDecoder, config: dict, m: int | None = None,
                 device=None) -> None:
        from ..device import as_device

        self.device = as_device(device)
        self.encoder, self.decoder = encoder.to(self.device).eval(), decoder.to(self.device).eval()
        self.config = config
        self.c_out = int(config["c_out"])
        self.rates = tuple(int(r) for r in config.get("rates", [self.c_out // 2]))
        self.m = max(self.rates) if m is None else m
        self.snr_range = (float(config.get("snr_min_db", 0.0)), float(config.get("snr_max_db", 20.0)))
        self._warned = False

    @property
    def kn(self) -> Fraction:
        """k/n: complex channel uses per real source value."""
        return kn_of(self.m)

    @property
    def bandwidth_ratio(self) -> float:
        return float(self.kn)

    @property
    def kn_choices(self) -> list[Fraction]:
        return [kn_of(m) for m in self.rates]

    def at(self, kn: str | float | Fraction) -> JSCCCodec:
        """The same weights sending ``kn`` (one of :attr:`kn_choices`)."""
        want = parse_kn(kn)
        for m in self.rates:
            if kn_of(m) == want:
                view = JSCCCodec(self.encoder, self.decoder, self.config, m, self.device)
                view._warned = self._warned
                return view
        raise PrivsemError(f"this codec offers k/n {', '.join(map(str, self.kn_choices))}, not {want}")

    def _latent_hw(self, shape: tuple[int, int]) -> tuple[int, int]:
        return -(-shape[0] // DOWNSCALE), -(-shape[1] // DOWNSCALE)

    def n_symbols(self, shape: tuple[int, int]) -> int:
        """Complex symbols per image of ``shape = (H, W)`` at this codec's k/n."""
        h, w = self._latent_hw(shape)
        return self.m * h * w

    def rate_of(self, n: int, shape: tuple[int, int]) -> int:
        """Complex channels ``m`` that ``n`` symbols of an ``(H, W)`` image carry."""
        h, w = self._latent_hw(shape)
        if n % (h * w) or n // (h * w) not in self.rates:
            sizes = ", ".join(str(m * h * w) for m in self.rates)
            raise PrivsemError(f"{n} symbols do not fit a {shape[0]}×{shape[1]} image at any k/n "
                               f"of this codec (expected one of {sizes})")
        return n // (h * w)

    def _check_snr(self, snr_db: float) -> None:
        lo, hi = self.snr_range
        if not lo <= snr_db <= hi and not self._warned:
            self._warned = True
            warnings.warn(f"SNR {snr_db:g} dB is outside the codec's trained range "
                          f"{lo:g}–{hi:g} dB; quality is extrapolated", stacklevel=3)

    @torch.inference_mode()
    def encode(self, img: np.ndarray, snr_db: float) -> np.ndarray:
        self._check_snr(snr_db)
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).to(self.device)
        h, w = x.shape[-2:]
        ph, pw = (-h) % DOWNSCALE, (-w) % DOWNSCALE
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        snr = torch.full((x.shape[0],), float(snr_db), device=self.device)
        return to_symbols(self.encoder(x, snr), self.m).cpu().numpy().astype(np.complex64)

    @torch.inference_mode()
    def decode(self, y: np.ndarray, snr_db: float, shape: tuple[int, int]) -> np.ndarray:
        self._check_snr(snr_db)
        m = self.rate_of(y.shape[-1], shape)
        lh, lw = self._latent_hw(shape)
        s = torch.from_numpy(np.ascontiguousarray(y, dtype=np.complex64)).to(self.device)
        z = from_symbols(s, self.c_out, lh, lw)
        snr = torch.full((s.shape[0],), float(snr_db), device=self.device)
        frac = torch.full((s.shape[0],), m / (self.c_out // 2), device=self.device)
        out = self.decoder(z, snr, frac)[..., : shape[0], : shape[1]]
        return out.cpu().numpy().astype(np.float32)


def _load_part(module: torch.nn.Module, state: dict[str, torch.Tensor], prefix: str, source: str) -> None:
    own = module.state_dict()
    got = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing, extra = sorted(set(own) - set(got)), sorted(set(got) - set(own))
    if missing or extra:
        name = (missing or extra)[0]
        raise PrivsemError(f"{source}: weights do not match the JSCC config "
                           f"({'missing' if missing else 'unexpected'} {prefix}{name})")
    for k, v in own.items():
        if got[k].shape != v.shape:
            raise PrivsemError(f"{source}: {prefix}{k} has shape {tuple(got[k].shape)}, "
                               f"the config needs {tuple(v.shape)}")
    module.load_state_dict(got)


def codec_from_state(state: dict[str, torch.Tensor], config: dict, source: str = "JSCC weights",
                     device=None) -> JSCCCodec:
    """Build a :class:`JSCCCodec` on ``device`` (default CPU) from a flat state dict
    (``encoder.*``, ``decoder.*``, on any device); a tensor of the wrong shape or name is
    refused with a :class:`PrivsemError`."""
    width, c_out, depth = int(config["width"]), int(config["c_out"]), int(config.get("depth", 5))
    enc, dec = JSCCEncoder(width, c_out, depth), JSCCDecoder(width, c_out, depth)
    _load_part(enc, state, "encoder.", source)
    _load_part(dec, state, "decoder.", source)
    return JSCCCodec(enc, dec, config, device=device)


def load_codec(path: str | Path | None = None, kn: str | None = None, device=None) -> JSCCCodec:
    """The committed JSCC for ``kn`` (default 1/6; verified by sha256), or a user's
    safetensors file at ``kn`` (default: the largest ratio it offers), on ``device``
    (default CPU; the file is read on the CPU and the weights moved once)."""
    default = None
    if path is None:
        want = str(parse_kn(kn)) if kn is not None else "1/6"
        if want not in DEFAULT_WEIGHTS:
            raise PrivsemError(f"no committed JSCC for k/n {want} (there are {', '.join(DEFAULT_WEIGHTS)}; "
                               "train one with `privsem train codec` and pass it as a path)")
        default = DEFAULT_WEIGHTS[want]
    state, meta, file = load_model_file(path, default, "codec")
    if meta.get("format", FORMAT) != FORMAT:
        raise PrivsemError(f"{file}: JSCC format {meta['format']!r}, this privsem reads {FORMAT!r} "
                           "(retrain with `privsem train codec`)")
    try:
        config = json.loads(meta["config"])
        int(config["width"]), int(config["c_out"])
    except (KeyError, ValueError, TypeError) as e:
        raise PrivsemError(f"{file}: not a privsem JSCC checkpoint (no valid config: {e.__class__.__name__})") from None
    codec = codec_from_state(state, config, source=str(file), device=device)
    return codec.at(kn) if kn is not None else codec
