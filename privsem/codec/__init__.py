"""Codecs from image to complex symbols: ``encode(img, snr_db) -> complex64 (B, n)``,
``decode(y, snr_db, shape) -> img``.

- :class:`JSCCCodec` — the learned DeepJSCC-style code (k/n = 1/6, 1/12, 1/24 from one
  set of weights), :func:`load_codec` loads it;
- :class:`SeparatedCodec` — JPEG / WebP / AVIF + 5G LDPC + QAM, the digital baseline;
- :func:`capacity_bound` — an image codec at the channel's capacity, the reference curve.
"""

from .base import Codec, JSCCCodec, load_codec
from .separated import SeparatedCodec, capacity_bound

__all__ = ["Codec", "JSCCCodec", "SeparatedCodec", "capacity_bound", "load_codec"]
