"""Labelled scenes from offline pictures: the example entities with their real
silhouettes, other people and animals, and empty backgrounds.

An entity appears as a new view (:mod:`.views`: rotation, perspective, scale, mirror,
light, colour temperature, blur, noise, partial occlusion) of its source photo, pasted
along its true silhouette (:mod:`.silhouettes`); the true mask is the visible
silhouette. The DB's samples, the calibration scenes and the held-out scenes draw views
from separate ranges and random streams, and backgrounds and distractors (other people
and animals, :mod:`.distractors`) are split so that held-out scenes use pictures that
calibration never saw. All views of one entity come from one photo: they test new
poses of the same picture, not new photos of the individual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..codec.data import skimage_image
from ..imageio import to_uint8

# the example entities; their source photos and outlines are in .silhouettes
CUTOUTS = ("chelsea", "astronaut")
BACKGROUNDS = {
    "calibration": ["rocket", "brick", "grass", "camera", "moon", "page", "immunohistochemistry"],
    "heldout": ["coffee", "gravel", "hubble_deep_field", "clock", "retina", "colorwheel", "text", "coins"],
}
SCENE_SHAPE = (384, 512)


@dataclass
class Scene:
    """A labelled scene: float32 ``(H, W, 3)`` image, bool ``(H, W)`` true mask (empty
    when ``entity`` is None), the entity's name, the background's, and ``distractor``:
    the other person or animal shown instead (None for an empty or entity scene)."""

    image: np.ndarray
    mask: np.ndarray
    entity: str | None
    background: str
    distractor: str | None = None
    view: dict | None = None


def cutout(name: str, split: str = "heldout", rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A view of entity ``name`` for ``split`` (float32 ``(h, w, 3)``) and its visible
    silhouette (bool ``(h, w)``); without ``rng`` the untransformed photo's silhouette,
    cropped to it."""
    from .silhouettes import silhouette
    from .views import make_view

    img, mask = silhouette(name)
    if rng is None:
        ys, xs = np.nonzero(mask)
        box = np.s_[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
        return img[box], mask[box]
    v = make_view(img, mask, split, rng, margin=0.0)
    return v.image, v.mask


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


def _paste(img: np.ndarray, pix: np.ndarray, m: np.ndarray, rng: np.random.Generator,
           height: tuple[float, float]) -> np.ndarray:
    """Paste ``pix`` where ``m`` at a random place and a height of ``height`` (fractions
    of the scene); returns the pasted mask (bool, scene-sized). ``img`` is changed."""
    shape = img.shape[:2]
    scale = rng.uniform(*height) * shape[0] / pix.shape[0]
    hw = (max(8, int(pix.shape[0] * scale)), max(8, int(pix.shape[1] * scale)))
    f = min(1.0, shape[0] / hw[0], shape[1] / hw[1])
    hw = (max(8, int(hw[0] * f)), max(8, int(hw[1] * f)))
    pix, m = _resize(pix, hw), _resize(m, hw)
    y = int(rng.integers(0, shape[0] - hw[0] + 1))
    x = int(rng.integers(0, shape[1] - hw[1] + 1))
    region = img[y: y + hw[0], x: x + hw[1]]
    region[m] = pix[m]
    mask = np.zeros(shape, bool)
    mask[y: y + hw[0], x: x + hw[1]] = m
    return mask


def _ellipse(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return ((yy + 0.5 - h / 2) / (h / 2)) ** 2 + ((xx + 0.5 - w / 2) / (w / 2)) ** 2 <= 1.0


def make_scene(entity: str | None, bg: str, rng: np.random.Generator, shape=SCENE_SHAPE,
               split: str = "heldout", distractor: str | None = None, source=None) -> Scene:
    """Paste a ``split`` view of ``entity`` along its silhouette (40–75 % of the scene
    height, anywhere fully inside), or the crop of ``distractor`` (another person or
    animal, in an ellipse), or nothing, onto background ``bg``. ``source``: the
    entity's (image, silhouette) to take the view of (default: its source photo)."""
    img = background(bg, shape, rng)
    mask = np.zeros(shape, bool)
    params = None
    if entity is not None:
        from .silhouettes import silhouette
        from .views import make_view

        v = make_view(*(source if source is not None else silhouette(entity)), split, rng, margin=0.0)
        mask, params = _paste(img, v.image, v.mask, rng, (0.4, 0.75)), v.params
    elif distractor is not None:
        from .distractors import distractor as load

        pix = load(distractor)
        if rng.random() < 0.5:
            pix = pix[:, ::-1]
        pix = np.clip(pix * rng.uniform(0.8, 1.2), 0, 1)
        _paste(img, pix, _ellipse(*pix.shape[:2]), rng, (0.4, 0.75))
    return Scene(image=img.astype(np.float32), mask=mask, entity=entity, background=bg,
                 distractor=distractor, view=params)


def scene_set(split: str, n: int, seed: int = 0, entities=CUTOUTS, distractors: bool = True) -> list[Scene]:
    """``n`` scenes of ``split`` (``calibration`` | ``heldout``): every other scene shows
    an entity (cycling through ``entities``); the rest alternate between an empty
    background and another person or animal of the split (when ``distractors`` and such
    pictures are installed, :func:`.distractors.available`)."""
    from .distractors import available

    rng = np.random.default_rng([seed, 0 if split == "calibration" else 1])
    others = available(split) if distractors else []
    bgs = BACKGROUNDS[split]
    out = []
    for i in range(n):
        ent = entities[(i // 2) % len(entities)] if i % 2 == 0 else None
        other = others[(i // 4) % len(others)] if (ent is None and others and i % 4 == 3) else None
        out.append(make_scene(ent, bgs[int(rng.integers(0, len(bgs)))], rng, split=split, distractor=other))
    return out


SCENE_SETS_WITH_ENTITY = tuple(BACKGROUNDS)


def entity_scenes(split: str, n: int, seed: int = 0) -> list[Scene]:
    """The first ``n`` scenes of ``split`` that show an entity (deterministic in ``seed``)."""
    return [s for s in scene_set(split, 2 * n, seed, distractors=False) if s.entity is not None][:n]
