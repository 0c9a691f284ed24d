"""Which DB entity a received prompt embedding î names (Bob's receivers resolve it
before putting the entity back: :mod:`.aligned`, :mod:`.sd`)."""

from __future__ import annotations

import numpy as np


def resolve_prompt(embedding: np.ndarray, prompt_embeddings: np.ndarray) -> tuple[int, float]:
    """Index and cosine similarity of the DB prompt nearest to a received embedding.

    Args:
        embedding: float32 ``(d,)`` received (noisy) î.
        prompt_embeddings: float32 ``(N, d)`` L2-normalised embeddings of the DB prompts.
    """
    e = embedding / max(float(np.linalg.norm(embedding)), 1e-12)
    sims = prompt_embeddings @ e
    k = int(np.argmax(sims))
    return k, float(sims[k])
