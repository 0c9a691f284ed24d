"""The square tile around M̂ that the diffusion model works on.

The U-Net runs at a fixed resolution ``r`` (96 px by default), so recovery cuts a
square tile centred on M̂'s bounding box, the box filling ``fill`` of the tile's side
(the rest is context), resizes it to ``r × r``, and pastes the generated pixels back
inside M̂ at full resolution. Parts of the tile beyond the image edge are mirrored in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Tile:
    """A square window in image coordinates (may extend past the edges)."""

    y0: int
    x0: int
    side: int


def tile_around(mask: np.ndarray, fill: float = 0.85) -> Tile:
    """The tile whose side is the longer side of ``mask``'s bounding box over ``fill``.

    Args:
        mask: bool ``(H, W)``, not empty.
        fill: fraction of the tile's side covered by the box, in ``(0, 1]``.
    """
    rows, cols = np.nonzero(mask)
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    side = int(np.ceil(max(y1 - y0, x1 - x0) / fill))
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    return Tile(int(round(cy - side / 2)), int(round(cx - side / 2)), side)


def _window(a: np.ndarray, t: Tile) -> np.ndarray:
    """``a[t]`` with the out-of-image part mirrored (``a`` is ``(H, W, ...)``)."""
    h, w = a.shape[:2]
    pad = max(0, -t.y0, -t.x0, t.y0 + t.side - h, t.x0 + t.side - w)
    if pad:
        widths = [(pad, pad), (pad, pad)] + [(0, 0)] * (a.ndim - 2)
        a = np.pad(a, widths, mode="symmetric")
    return a[t.y0 + pad : t.y0 + pad + t.side, t.x0 + pad : t.x0 + pad + t.side]


def cut(image: np.ndarray, mask: np.ndarray, t: Tile, res: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Tile of ``image`` and ``mask`` at ``res × res``.

    Returns:
        known float32 ``(1, 3, res, res)`` in ``[-1, 1]``; mask float32 ``(1, 1, res, res)``,
        1 where any pixel under a tile pixel is in M̂ (so the hole's edge is regenerated).
    """
    img = torch.from_numpy(np.ascontiguousarray(_window(image, t))).permute(2, 0, 1)[None]
    m = torch.from_numpy(np.ascontiguousarray(_window(mask, t))).float()[None, None]
    img = F.interpolate(img, size=(res, res), mode="bicubic", antialias=True, align_corners=False)
    m = F.adaptive_max_pool2d(m, (res, res)) if t.side >= res else \
        F.interpolate(m, size=(res, res), mode="nearest")
    return (img.clamp(0, 1) * 2 - 1).float(), m


def paste(image: np.ndarray, mask: np.ndarray, t: Tile, generated: torch.Tensor,
          base: np.ndarray | None = None, start: torch.Tensor | None = None,
          weight: np.ndarray | None = None) -> np.ndarray:
    """Put the generated tile (float ``(1, 3, r, r)`` in ``[-1, 1]``) back into ``image``
    inside ``mask`` only (eq. 13's background retention at full resolution).

    With ``base`` (a full-resolution float32 ``(H, W, 3)`` starting image) and ``start``
    (its tile), only the change the model made at tile resolution is added to ``base``:
    the starting image keeps its full-resolution detail; ``weight`` (float32 ``(H, W)``,
    default 1) scales that change per pixel."""
    if base is not None:
        delta = F.interpolate(generated - start, size=(t.side, t.side), mode="bicubic", align_corners=False)
        delta = (delta[0].permute(1, 2, 0).numpy() / 2).astype(np.float32)
        if weight is not None:
            delta = delta * _window(weight, t)[..., None]
        return _paste_array(image, mask, t, delta, base)
    up = F.interpolate(generated, size=(t.side, t.side), mode="bicubic", align_corners=False)
    up = ((up[0].permute(1, 2, 0).numpy() + 1) / 2).clip(0, 1).astype(np.float32)
    return _paste_array(image, mask, t, up)


def _paste_array(image, mask, t: Tile, up: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
    h, w = image.shape[:2]
    ys, xs = slice(max(t.y0, 0), min(t.y0 + t.side, h)), slice(max(t.x0, 0), min(t.x0 + t.side, w))
    sub = up[ys.start - t.y0 : ys.stop - t.y0, xs.start - t.x0 : xs.stop - t.x0]
    out = image.copy()
    region = out[ys, xs]
    m = mask[ys, xs]
    region[m] = sub[m] if base is None else np.clip(base[ys, xs][m] + sub[m], 0, 1)
    return out
