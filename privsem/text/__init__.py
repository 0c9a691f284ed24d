"""Prompt → text embedding ``i`` (the paper's privacy index, eq. 1), behind a registry:
``build_text_encoder(name)``; every encoder has ``dim`` and ``encode(prompts) -> float32
(N, dim)`` with L2-normalised rows."""

from __future__ import annotations

from ..errors import PrivsemError
from .embed import TextEncoder, default_text_encoder

TEXT_ENCODERS = {"minilm": default_text_encoder}


def build_text_encoder(name: str = "minilm"):
    """The text encoder registered as ``name`` (``minilm``: all-MiniLM-L6-v2, offline)."""
    try:
        return TEXT_ENCODERS[name]()
    except KeyError:
        raise PrivsemError(f"unknown text encoder {name!r} (known: {', '.join(TEXT_ENCODERS)})") from None


__all__ = ["TEXT_ENCODERS", "TextEncoder", "build_text_encoder", "default_text_encoder"]
