"""Codecs from image to complex symbols: ``encode(img, snr_db) -> complex64 (B, n)``,
``decode(y, snr_db, shape) -> img``.

- :class:`JSCCCodec` — the learned DeepJSCC-style code (k/n = 1/6, 1/12, 1/24 from one
  set of weights), :func:`load_codec` loads it;
- :class:`SeparatedCodec` — JPEG / WebP / AVIF + 5G LDPC + QAM, the digital baseline;
- :func:`capacity_bound` — an image codec at the channel's capacity, the reference curve.

The names load on first use (PEP 562): ``privsem.codec.registry`` (codec names for the
command line's help) must not pull in torch and Sionna, or every ``privsem`` command
would wait ~2 s for them.
"""

from importlib import import_module

_EXPORTS = {"Codec": ".base", "JSCCCodec": ".base", "load_codec": ".base",
            "SeparatedCodec": ".separated", "capacity_bound": ".separated"}

__all__ = ["Codec", "JSCCCodec", "SeparatedCodec", "capacity_bound", "load_codec"]  # names from __getattr__


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
