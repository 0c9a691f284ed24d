"""Training tiles for the recovery U-Net: an entity-like region pasted on a background,
the region's mask, and the text embedding of what the region shows.

A tile is built the way recovery sees one (:mod:`.tiles`): a content picture inside an
ellipse (or an irregular blob) whose bounding box fills 70–90 % of the tile's side,
pasted on a crop of another picture. The base model's content and captions are generic
pictures (:data:`GENERIC_CAPTIONS`); Algorithm 2's fine-tuning uses the DB's sample
images S_k with their prompts i_k, mixed with a fraction of generic tiles (prior
preservation, so the fine-tuned model still fills unknown regions sensibly).

The generic pictures exclude every picture the example DB's entities come from
(``chelsea``, ``astronaut``): Eve's model must never have seen the DB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ..codec.data import named_image

# Generic pictures (scikit-image, scikit-learn, matplotlib) and what they show.
GENERIC_CAPTIONS = {
    "rocket": "a rocket on a launch pad",
    "hubble_deep_field": "galaxies in deep space",
    "immunohistochemistry": "a stained tissue sample under a microscope",
    "colorwheel": "a colour wheel",
    "retina": "a photo of a human retina",
    "brick": "a brick wall",
    "grass": "a patch of grass",
    "gravel": "gravel on the ground",
    "camera": "a man with a camera on a tripod",
    "coins": "old coins on a table",
    "moon": "the surface of the moon",
    "clock": "a wall clock",
    "page": "a printed page of a book",
    "text": "a sign with text",
    "coffee": "a cup of coffee",
    "flower": "a flower in a garden",
    "grace_hopper": "a portrait of a woman in a uniform",
    "china": "a temple in a park",
}
DB_PICTURES = ("chelsea", "astronaut")  # the example DB's sources: never in generic data


@dataclass
class Content:
    """A picture that can fill a region: float32 ``(H, W, 3)`` and its prompt embedding
    float32 ``(d,)``."""

    image: np.ndarray
    embedding: np.ndarray


def generic_contents(text_encoder) -> list[Content]:
    """The generic pictures with the embeddings of their captions."""
    names = [n for n in GENERIC_CAPTIONS if n not in DB_PICTURES]
    emb = text_encoder.encode([GENERIC_CAPTIONS[n] for n in names])
    return [Content(named_image(n), e) for n, e in zip(names, emb)]


def _resize(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    im = Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)).resize(hw[::-1], Image.BICUBIC)
    return np.asarray(im, np.float32) / 255.0


def _ellipse(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    sy, sx = rng.uniform(0.9, 1.0, 2)
    return ((yy - (h - 1) / 2) / (sy * h / 2)) ** 2 + ((xx - (w - 1) / 2) / (sx * w / 2)) ** 2 <= 1.0


def _blob(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """An irregular region: smoothed noise thresholded inside the box, largest component."""
    noise = ndimage.gaussian_filter(rng.standard_normal((h, w)), max(h, w) / 6)
    m = (noise > np.quantile(noise, 0.35)) & _ellipse(h, w, rng)
    labels, n = ndimage.label(m)
    if n == 0:
        return _ellipse(h, w, rng)
    sizes = ndimage.sum_labels(m, labels, np.arange(1, n + 1))
    return ndimage.binary_fill_holes(labels == 1 + int(np.argmax(sizes)))


class TileSampler:
    """``sample(n) -> (x0 float32 (n,3,r,r) in [-1,1], mask float32 (n,1,r,r),
    embedding float32 (n,d))``.

    Args:
        contents: what fills the region (DB samples or generic pictures).
        backgrounds: pictures the tile's context is cropped from.
        res: tile side in pixels.
        blob_fraction: share of irregular masks (the rest are ellipses, like the guard's
            entity regions).
        prior: ``(contents, fraction)``: generic contents mixed in (fine-tuning only).
    """

    def __init__(self, contents: list[Content], backgrounds: list[np.ndarray], res: int = 96,
                 seed: int = 0, blob_fraction: float = 0.3, prior: tuple[list[Content], float] | None = None,
                 crop_content: bool = False) -> None:
        self.contents, self.backgrounds, self.res = contents, backgrounds, res
        self.rng = np.random.default_rng(seed)
        self.blob_fraction = blob_fraction
        self.prior = prior
        self.crop_content = crop_content

    def _content(self) -> tuple[np.ndarray, np.ndarray]:
        rng = self.rng
        generic = self.prior is not None and rng.random() < self.prior[1]
        pool = self.prior[0] if generic else self.contents
        c = pool[int(rng.integers(len(pool)))]
        img = c.image
        if self.crop_content or generic:
            # a random window of a generic picture (DB samples are used whole, as the
            # entity's view; a small jitter only)
            h, w = img.shape[:2]
            side = int(rng.uniform(0.3, 0.9) * min(h, w))
            ch, cw = (side, int(side * rng.uniform(0.8, 1.25))) if rng.random() < 0.5 else \
                (int(side * rng.uniform(0.8, 1.25)), side)
            ch, cw = min(ch, h), min(cw, w)
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            img = img[y : y + ch, x : x + cw]
        else:
            h, w = img.shape[:2]
            dy, dx = (int(rng.uniform(0, 0.06) * h), int(rng.uniform(0, 0.06) * w))
            img = img[dy : h - int(rng.uniform(0, 0.06) * h), dx : w - int(rng.uniform(0, 0.06) * w)]
        return img, c.embedding

    def _one(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng, r = self.rng, self.res
        bg = self.backgrounds[int(rng.integers(len(self.backgrounds)))]
        side = int(rng.uniform(0.4, 1.0) * min(bg.shape[:2]))
        y, x = int(rng.integers(0, bg.shape[0] - side + 1)), int(rng.integers(0, bg.shape[1] - side + 1))
        tile = _resize(bg[y : y + side, x : x + side], (r, r))
        img, emb = self._content()
        box = rng.uniform(0.7, 0.9) * r
        aspect = img.shape[1] / img.shape[0]
        hw = (int(box), max(8, int(box * aspect))) if aspect <= 1 else (max(8, int(box / aspect)), int(box))
        hw = (min(hw[0], r), min(hw[1], r))
        pix = _resize(img, hw)
        if rng.random() < 0.5:
            pix = pix[:, ::-1]
        pix = np.clip(pix * rng.uniform(0.8, 1.2), 0, 1)
        m = _blob(*hw, rng) if rng.random() < self.blob_fraction else _ellipse(*hw, rng)
        y0 = (r - hw[0]) // 2 + int(rng.integers(-2, 3))
        x0 = (r - hw[1]) // 2 + int(rng.integers(-2, 3))
        y0, x0 = int(np.clip(y0, 0, r - hw[0])), int(np.clip(x0, 0, r - hw[1]))
        mask = np.zeros((r, r), bool)
        mask[y0 : y0 + hw[0], x0 : x0 + hw[1]] = m
        tile[y0 : y0 + hw[0], x0 : x0 + hw[1]][m] = pix[m]
        grow = int(rng.integers(0, 3))  # M̂ is grown a little (iterations=0 would fill the tile)
        if grow:
            mask = ndimage.binary_dilation(mask, iterations=grow)
        return tile, mask, emb

    def sample(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tiles, masks, embs = zip(*(self._one() for _ in range(n)))
        x0 = np.stack(tiles).transpose(0, 3, 1, 2) * 2 - 1
        return x0.astype(np.float32), np.stack(masks)[:, None].astype(np.float32), np.stack(embs)
