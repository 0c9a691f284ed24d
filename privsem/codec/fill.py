"""What the sender puts in the removed region before the analog transform.

A smooth fill (push-pull from the surroundings) costs the least power, but a smooth
patch in a textured picture is itself an outline: an Eve without the mask finds the
flattest region of the right size (:func:`privsem.metrics.outline.flattest_region`).
When the mask travels sealed, the sender adds texture to the fill: the fine detail
(high-pass) of randomly chosen tiles of the picture's own background near the hole, so
the region has the local detail of its surroundings and no flat patch to find. Bob
knows M̂ and overwrites it; only the power spent on the texture is lost.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

TILE = 16  # texture tiles (px)
DETAIL_SIGMA = 1.5  # the detail is the picture minus its Gaussian blur of this σ (px)
NEAREST = 8  # a hole tile takes the detail of one of this many nearest background tiles


def smooth_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """float32 ``(H, W, 3)`` in [0, 1], bool ``(H, W)`` → the hole filled smoothly."""
    from ..recovery.classical import push_pull_fill

    return push_pull_fill(image.astype(np.float32), hole)


def textured_fill(image: np.ndarray, hole: np.ndarray, seed: int = 0) -> np.ndarray:
    """The smooth fill plus, tile by tile, the detail of a nearby background tile.

    Args:
        image: float32 ``(H, W, 3)`` in [0, 1].
        hole: bool ``(H, W)``, the region to fill (its pixels are never read).
        seed: which donor tiles are drawn.

    Returns:
        float32 ``(H, W, 3)`` in [0, 1], equal to ``image`` outside ``hole``. Without a
        tile of background wholly outside the hole it is the smooth fill.
    """
    smooth = smooth_fill(image, hole)
    detail = smooth - ndimage.gaussian_filter(smooth, (DETAIL_SIGMA, DETAIL_SIGMA, 0))
    H, W = hole.shape
    gh, gw = H // TILE, W // TILE
    if not gh or not gw:
        return smooth
    cells = hole[: gh * TILE, : gw * TILE].reshape(gh, TILE, gw, TILE)
    # a donor must be clear of the hole by the blur's reach, so no edge of the hole is copied
    near = ndimage.binary_dilation(hole, iterations=int(3 * DETAIL_SIGMA) + 1)
    clear = ~near[: gh * TILE, : gw * TILE].reshape(gh, TILE, gw, TILE).any(axis=(1, 3))
    donors = np.argwhere(clear)
    if not donors.size:
        return smooth
    rng = np.random.default_rng(seed)
    texture = np.zeros_like(smooth)
    rows, cols = np.nonzero(cells.any(axis=(1, 3)))
    for r, c in zip(rows, cols):
        d2 = np.sum((donors - (r, c)) ** 2, axis=1)
        dr, dc = donors[rng.choice(np.argsort(d2, kind="stable")[:NEAREST])]
        texture[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = \
            detail[dr * TILE:(dr + 1) * TILE, dc * TILE:(dc + 1) * TILE]
    out = smooth.copy()
    out[hole] = np.clip(smooth[hole] + texture[hole], 0, 1)
    return out
