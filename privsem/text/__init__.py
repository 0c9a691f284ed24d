"""Prompt → text embedding ``i`` (the paper's privacy index, eq. 1)."""

from .embed import TextEncoder, default_text_encoder

__all__ = ["TextEncoder", "default_text_encoder"]
