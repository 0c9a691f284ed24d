"""Identity recognition (paper 1, Fig. 6c) and the privacy leakage f of eq. 8.

The privacy guard G_γ is the judge: an output image "shows" entity k when the guard's
matcher scores k at or above its threshold Γ_k (and above every other entity).
"""

from __future__ import annotations

import numpy as np


def leakage(guard, s_hat: np.ndarray, entity: str | None) -> int:
    """Eq. 8: ``f(Ŝ_e) = 1`` if the guard identifies the sent entity in ``Ŝ_e``, else 0.

    Args:
        guard: a :class:`~privsem.guard.Guard` (with the DB; the judge, not a receiver).
        s_hat: float32 ``(H, W, 3)`` in [0, 1].
        entity: the entity that was removed (None: nothing to leak, f = 0).
    """
    if entity is None:
        return 0
    found, _ = guard.identify(s_hat)
    return int(found == entity)


def recognition_rate(guard, images: list[np.ndarray], entities: list[str | None]) -> float:
    """Share of ``images`` in which the guard identifies the matching entity (Fig. 6c)."""
    pairs = [(im, e) for im, e in zip(images, entities) if e is not None]
    if not pairs:
        return float("nan")
    return float(np.mean([leakage(guard, im, e) for im, e in pairs]))
