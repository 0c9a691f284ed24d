"""Joint source-channel codecs: ``encode(img, snr_db) -> complex64 symbols``, ``decode``.

A registry maps codec names to builders; the header carries the codec id (later).
"""

from .base import Codec, JSCCCodec, load_codec

__all__ = ["Codec", "JSCCCodec", "load_codec"]
