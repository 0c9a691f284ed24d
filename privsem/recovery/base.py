"""The recovery interface."""

from __future__ import annotations

import numpy as np


class Recovery:
    """``__call__(image float32 (H,W,3) in [0,1], mask bool (H,W), prompt_embedding
    float32 (d,) | None, steps: int, seed: int) -> float32 (H,W,3)``.

    Pixels outside ``mask`` are returned unchanged (background retention, eq. 13).
    """

    name = "recovery"

    def __call__(self, image: np.ndarray, mask: np.ndarray, prompt_embedding: np.ndarray | None,
                 steps: int = 0, seed: int = 0) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError
