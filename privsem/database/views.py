"""New views of an entity from one photo and its silhouette: rotation, perspective,
scale, mirror, illumination and colour temperature, blur, noise and partial occlusion.

Each split draws from its own ranges and its own random stream, so the DB's samples,
the calibration scenes and the held-out test scenes never share a view:

* ``db``: mild (±8°, no perspective, light ±10 %): the photos a user would put in the DB;
* ``calibration`` and ``heldout``: the same ranges (Γ must be set on views as hard as
  the test's), separate random streams: up to ±30°, perspective, light ×0.6–1.4, colour temperature, blur, noise,
  and a partial occlusion on half of the views.

They are views of one photo, not new photos of the individual: pose, expression and
fur or hair do not change. Say so next to any figure made from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ViewRanges:
    """Ranges a split draws from (degrees, fractions; ``perspective``: corner jitter as
    a fraction of the entity's size; ``warm``: colour-temperature gain spread)."""

    rotation: float
    perspective: float
    light: tuple[float, float]
    warm: float
    blur: float
    noise: float
    occlusion: float  # probability of an occluder


RANGES = {
    "db": ViewRanges(8.0, 0.0, (0.9, 1.1), 0.0, 0.0, 0.0, 0.0),
    "calibration": ViewRanges(30.0, 0.12, (0.6, 1.4), 0.12, 1.5, 0.03, 0.5),
    "heldout": ViewRanges(30.0, 0.12, (0.6, 1.4), 0.12, 1.5, 0.03, 0.5),
}


@dataclass
class View:
    """One view: float32 ``(h, w, 3)`` pixels in [0, 1] (the entity with its own
    surroundings), bool ``(h, w)`` mask of the entity's visible pixels, and the
    parameters that made it (for the record)."""

    image: np.ndarray
    mask: np.ndarray
    params: dict


def make_view(img: np.ndarray, mask: np.ndarray, split: str, rng: np.random.Generator,
              margin: float = 0.15) -> View:
    """Warp ``img``/``mask`` (float32 ``(H, W, 3)``, bool ``(H, W)``) into a new view
    of split ``split``, cropped to the entity's box plus ``margin`` of its size."""
    import cv2

    r = RANGES[split]
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    size = float(max(np.ptp(ys), np.ptp(xs)) + 1)
    angle = float(rng.uniform(-r.rotation, r.rotation))
    mirror = bool(rng.random() < 0.5)
    A = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    H = np.vstack([A, [0, 0, 1]])
    if mirror:
        H = np.array([[-1, 0, 2 * cx], [0, 1, 0], [0, 0, 1]]) @ H
    if r.perspective:
        src = np.float32([[cx - size / 2, cy - size / 2], [cx + size / 2, cy - size / 2],
                          [cx + size / 2, cy + size / 2], [cx - size / 2, cy + size / 2]])
        dst = src + rng.uniform(-r.perspective, r.perspective, (4, 2)).astype(np.float32) * size
        H = cv2.getPerspectiveTransform(src, dst) @ H
    h0, w0 = mask.shape
    corners = cv2.perspectiveTransform(np.float32([[[0, 0], [w0, 0], [w0, h0], [0, h0]]]), H)[0]
    shift = np.array([[1, 0, -corners[:, 0].min()], [0, 1, -corners[:, 1].min()], [0, 0, 1]])
    H = shift @ H
    W1 = int(np.ceil(np.ptp(corners[:, 0]))) + 1
    H1 = int(np.ceil(np.ptp(corners[:, 1]))) + 1
    out = cv2.warpPerspective(img, H, (W1, H1), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0.5, 0.5, 0.5))
    m = cv2.warpPerspective(mask.astype(np.uint8), H, (W1, H1), flags=cv2.INTER_NEAREST) > 0
    # crop to the entity plus a margin of its own surroundings
    ys, xs = np.nonzero(m)
    pad = int(margin * max(np.ptp(ys), np.ptp(xs)))
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, H1)
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, W1)
    out, m = np.ascontiguousarray(out[y0:y1, x0:x1]), np.ascontiguousarray(m[y0:y1, x0:x1])
    light = float(rng.uniform(*r.light))
    warm = float(rng.uniform(-r.warm, r.warm))
    out = out * light * np.array([1 + warm, 1.0, 1 - warm], np.float32)
    blur = float(rng.uniform(0, r.blur))
    if blur > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    noise = float(rng.uniform(0, r.noise))
    if noise:
        out = out + rng.normal(0, noise, out.shape)
    out = np.clip(out, 0, 1).astype(np.float32)
    occluded = 0.0
    if rng.random() < r.occlusion:
        out, m, occluded = _occlude(out, m, rng)
    return View(out, m, {"rotation": round(angle, 2), "mirror": mirror, "light": round(light, 3),
                         "warm": round(warm, 3), "blur": round(blur, 2), "noise": round(noise, 4),
                         "occluded": round(occluded, 3)})


def _occlude(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """A flat grey-brown bar over one side of the entity, hiding 10–25 % of it; the
    hidden pixels leave the mask (the guard must remove what is visible)."""
    ys, xs = np.nonzero(mask)
    area = mask.sum()
    side = int(rng.integers(4))
    frac = rng.uniform(0.10, 0.25)
    colour = rng.uniform(0.2, 0.7, 3).astype(np.float32)
    cover = np.zeros_like(mask)
    if side in (0, 1):  # from the left or the right
        order = np.sort(xs) if side == 0 else np.sort(xs)[::-1]
        cut = order[int(frac * area)]
        cover[:, : cut + 1] = side == 0
        cover[:, cut:] |= side == 1
    else:  # from the bottom (a table, a railing) or the top
        order = np.sort(ys)[::-1] if side == 2 else np.sort(ys)
        cut = order[int(frac * area)]
        cover[cut:, :] = side == 2
        cover[: cut + 1, :] |= side == 3
    img = img.copy()
    img[cover] = colour
    hidden = (cover & mask).sum() / area
    return img, mask & ~cover, float(hidden)
