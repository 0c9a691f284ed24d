"""Labelled entity scenes from pictures bundled with scikit-image (offline).

An entity cut-out is an elliptical region of a source picture (the ellipse is its true
mask); a scene pastes it onto another picture at a random position, scale, mirror and
brightness, or shows the background alone. Backgrounds are split so that the held-out
scenes use pictures that the DB's calibration never saw. The ellipses:

* ``chelsea``: the cat's face in ``skimage.data.chelsea()``;
* ``astronaut``: Eileen Collins' head and shoulders in ``skimage.data.astronaut()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..codec.data import skimage_image
from ..imageio import to_uint8

# (source picture, centre row, centre col, radius rows, radius cols)
CUTOUTS = {
    "chelsea": ("chelsea", 160, 215, 135, 165),
    "astronaut": ("astronaut", 190, 205, 150, 140),
}
BACKGROUNDS = {
    "calibration": ["rocket", "brick", "grass", "camera", "moon", "page", "immunohistochemistry"],
    "heldout": ["coffee", "gravel", "hubble_deep_field", "clock", "retina", "colorwheel", "text", "coins"],
}
SCENE_SHAPE = (384, 512)


@dataclass
class Scene:
    """A labelled scene: float32 ``(H, W, 3)`` image, bool ``(H, W)`` true mask (empty
    when ``entity`` is None), the entity's name and the background's."""

    image: np.ndarray
    mask: np.ndarray
    entity: str | None
    background: str


def cutout(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The entity's pixels (float32 ``(h, w, 3)``) and its elliptical mask (bool)."""
    src, cy, cx, ry, rx = CUTOUTS[name]
    img = skimage_image(src)
    y0, y1 = max(cy - ry, 0), min(cy + ry, img.shape[0])
    x0, x1 = max(cx - rx, 0), min(cx + rx, img.shape[1])
    yy, xx = np.mgrid[y0:y1, x0:x1]
    mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    return img[y0:y1, x0:x1], mask


def _resize(a: np.ndarray, hw: tuple[int, int], nearest: bool = False) -> np.ndarray:
    if a.dtype == bool:
        im = Image.fromarray(a.astype(np.uint8) * 255).resize(hw[::-1], Image.NEAREST)
        return np.asarray(im) > 127
    im = Image.fromarray(to_uint8(a)).resize(hw[::-1], Image.NEAREST if nearest else Image.BICUBIC)
    return np.asarray(im, dtype=np.float32) / 255.0


def background(name: str, shape: tuple[int, int] = SCENE_SHAPE, rng=None) -> np.ndarray:
    """A background picture cropped to the scene's aspect and resized to ``shape``."""
    img = skimage_image(name)
    h, w = img.shape[:2]
    target = shape[1] / shape[0]
    if w / h > target:
        cw = int(h * target)
        x0 = 0 if rng is None else int(rng.integers(0, w - cw + 1))
        img = img[:, x0 : x0 + cw]
    else:
        ch = int(w / target)
        y0 = 0 if rng is None else int(rng.integers(0, h - ch + 1))
        img = img[y0 : y0 + ch]
    return _resize(img, shape)


def make_scene(entity: str | None, bg: str, rng: np.random.Generator, shape=SCENE_SHAPE) -> Scene:
    """Paste ``entity`` (or nothing) onto background ``bg``: scale 40–75 % of the scene
    height, random position fully inside, mirror with p = ½, brightness × 0.8–1.2."""
    img = background(bg, shape, rng)
    mask = np.zeros(shape, bool)
    if entity is not None:
        pix, m = cutout(entity)
        scale = rng.uniform(0.4, 0.75) * shape[0] / pix.shape[0]
        hw = (max(8, int(pix.shape[0] * scale)), max(8, int(pix.shape[1] * scale)))
        hw = (min(hw[0], shape[0]), min(hw[1], shape[1]))
        pix, m = _resize(pix, hw), _resize(m, hw)
        if rng.random() < 0.5:
            pix, m = pix[:, ::-1], m[:, ::-1]
        pix = np.clip(pix * rng.uniform(0.8, 1.2), 0, 1)
        y = int(rng.integers(0, shape[0] - hw[0] + 1))
        x = int(rng.integers(0, shape[1] - hw[1] + 1))
        region = img[y : y + hw[0], x : x + hw[1]]
        region[m] = pix[m]
        mask[y : y + hw[0], x : x + hw[1]] = m
    return Scene(image=img.astype(np.float32), mask=mask, entity=entity, background=bg)


def scene_set(split: str, n: int, seed: int = 0, entities=tuple(CUTOUTS)) -> list[Scene]:
    """``n`` scenes of ``split`` (``calibration`` | ``heldout``): half with an entity
    (cycling through ``entities``), half without."""
    rng = np.random.default_rng([seed, 0 if split == "calibration" else 1])
    bgs = BACKGROUNDS[split]
    out = []
    for i in range(n):
        ent = entities[(i // 2) % len(entities)] if i % 2 == 0 else None
        out.append(make_scene(ent, bgs[int(rng.integers(0, len(bgs)))], rng))
    return out


SCENE_SETS_WITH_ENTITY = tuple(BACKGROUNDS)


def entity_scenes(split: str, n: int, seed: int = 0) -> list[Scene]:
    """The first ``n`` scenes of ``split`` that show an entity (deterministic in ``seed``)."""
    return [s for s in scene_set(split, 2 * n, seed) if s.entity is not None][:n]
