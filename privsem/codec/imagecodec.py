"""Classical image codecs (JPEG, WebP, AVIF via Pillow) at the best quality that fits a
byte budget — the source half of the separated digital baseline.

:func:`fit` searches the largest quality (0–100) that fits at full resolution, and at
half and quarter resolution while the quality found is low, and keeps the encoding with
the best PSNR: at tiny budgets a downscaled picture beats a blocky one, which is what a
careful sender would do.
The receiver upsamples to the size the frame header carries.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import PrivsemError
from ..metrics import psnr

FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}
SCALES = (1, 2, 4)
# a smaller scale is tried only when the best quality that fits is below this: on five
# 256² photos at 1.5–14 kB, half resolution won only where full resolution fitted quality
# ≤ 27 (AVIF), ≤ 21 (JPEG), ≤ 7 (WebP), and lost every time from quality 42 up
DOWNSCALE_BELOW_Q = 40


@dataclass(frozen=True)
class Fit:
    """A compressed image: the bytes, its quality and downscale factor, and its PSNR."""

    data: bytes
    quality: int
    scale: int
    psnr: float


def _check(fmt: str) -> str:
    if fmt not in FORMATS:
        raise PrivsemError(f"unknown image codec {fmt!r} (known: {', '.join(FORMATS)})")
    return FORMATS[fmt]


def _to_pil(img: np.ndarray, scale: int) -> Image.Image:
    pil = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    if scale > 1:
        w, h = pil.size
        pil = pil.resize((max(1, w // scale), max(1, h // scale)), Image.LANCZOS)
    return pil


def compress(img: np.ndarray, fmt: str, quality: int, scale: int = 1) -> bytes:
    """float32 ``(H, W, 3)`` in [0, 1] → bytes of ``fmt`` at ``quality`` (0–100)."""
    buf = io.BytesIO()
    _to_pil(img, scale).save(buf, format=_check(fmt), quality=int(quality))
    return buf.getvalue()


def decompress(data: bytes, fmt: str, shape: tuple[int, int]) -> np.ndarray:
    """Bytes → float32 ``(H, W, 3)`` in [0, 1] at ``shape`` (bicubic upsampling if the
    sender downscaled). Raises :class:`PrivsemError` for bytes the codec cannot read."""
    _check(fmt)
    try:
        with Image.open(io.BytesIO(data), formats=[FORMATS[fmt]]) as im:
            if im.width * im.height > 4 * shape[0] * shape[1]:
                raise PrivsemError("decoded image larger than the header's size")
            pil = im.convert("RGB")
            if pil.size != (shape[1], shape[0]):
                pil = pil.resize((shape[1], shape[0]), Image.BICUBIC)
            return np.asarray(pil, np.float32) / 255.0
    except PrivsemError:
        raise
    except Exception as e:  # Pillow raises many types for damaged bytes
        raise PrivsemError(f"{fmt} bytes do not decode ({e.__class__.__name__})") from None


_FITS: OrderedDict = OrderedDict()  # benchmarks ask for the same budget many times
# encodings by (picture, quality, scale): searches for different budgets (auto's codes,
# the superposed code's MCSs) share their first probes
_ENCODED: OrderedDict = OrderedDict()


def forget_fits() -> None:
    """Empty :func:`fit`'s caches (a timing of a new picture must search again)."""
    _FITS.clear()
    _ENCODED.clear()


def _compress_cached(img: np.ndarray, key: tuple, fmt: str, quality: int, scale: int) -> bytes:
    k = (*key, quality, scale)
    if k not in _ENCODED:
        _ENCODED[k] = compress(img, fmt, quality, scale)
        if len(_ENCODED) > 256:
            _ENCODED.popitem(last=False)
    return _ENCODED[k]


def fit(img: np.ndarray, fmt: str, max_bytes: int) -> Fit | None:
    """Best-PSNR encoding of ``img`` in at most ``max_bytes``, or ``None`` if even the
    lowest quality at quarter resolution is larger."""
    key = (hashlib.sha1(np.ascontiguousarray(img).tobytes()).hexdigest(), img.shape, fmt, int(max_bytes))
    if key not in _FITS:
        _FITS[key] = _search(img, fmt, max_bytes, key[:3])
        if len(_FITS) > 512:
            _FITS.popitem(last=False)
    return _FITS[key]


def _search(img: np.ndarray, fmt: str, max_bytes: int, key: tuple) -> Fit | None:
    best: Fit | None = None
    for scale in SCALES:
        if min(img.shape[:2]) // scale < 8:
            break
        smallest = _compress_cached(img, key, fmt, 0, scale)
        if len(smallest) > max_bytes:
            continue
        q, data = _largest_quality(img, key, fmt, scale, max_bytes, smallest)
        cand = Fit(data, q, scale, psnr(img, decompress(data, fmt, img.shape[:2])))
        if best is None or cand.psnr > best.psnr:
            best = cand
        elif best.scale < scale:
            break  # quality falls with further downscaling
        if q >= DOWNSCALE_BELOW_Q:
            break
    return best


def _largest_quality(img: np.ndarray, key: tuple, fmt: str, scale: int, max_bytes: int,
                     smallest: bytes) -> tuple[int, bytes]:
    """The largest quality whose encoding fits ``max_bytes`` (quality 0's encoding
    ``smallest`` fits) and its bytes. Size grows with quality, nearly log-linearly: the
    next quality tried interpolates log-size between the bracket's ends (the same answer
    as bisection on the photos tried, in 4 encodings instead of 7)."""
    lo, lo_size, lo_data = 0, len(smallest), smallest
    hi, hi_size = 101, None  # 101: beyond the scale, not encoded
    while hi - lo > 1:
        if hi_size is None:
            q = (lo + hi) // 2
        else:
            t = (math.log(max_bytes) - math.log(lo_size)) / (math.log(hi_size) - math.log(lo_size))
            q = round(lo + t * (hi - lo))
        q = min(hi - 1, max(lo + 1, q))
        data = _compress_cached(img, key, fmt, q, scale)
        if len(data) <= max_bytes:
            lo, lo_size, lo_data = q, len(data), data
        else:
            hi, hi_size = q, len(data)
    return lo, lo_data
