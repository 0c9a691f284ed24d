"""Training and held-out images.

Default set (offline, no download): the colour and greyscale pictures bundled with
scikit-image, scikit-learn's two sample photos (``china``, ``flower``) and matplotlib's
``grace_hopper``. ``HELD_OUT`` (scikit-image ``chelsea`` and ``coffee``, scikit-learn
``china``) are never used for training and give the reported metrics.
A user's folder of images replaces the default with ``--data DIR`` (90/10 split by
sorted file name).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PrivsemError
from ..imageio import load_image

TRAIN = ["astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "colorwheel",
         "retina", "brick", "grass", "gravel", "camera", "coins", "moon", "clock", "page", "text"]
HELD_OUT = ["chelsea", "coffee", "china"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


def _package_photo(name: str) -> np.ndarray:
    """``china`` / ``flower`` (scikit-learn) or ``grace_hopper`` (matplotlib), float32."""
    from PIL import Image

    if name == "grace_hopper":
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    else:
        import sklearn.datasets

        path = Path(sklearn.datasets.__file__).parent / "images" / f"{name}.jpg"
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), np.float32) / 255.0


PACKAGE_PHOTOS = ("china", "flower", "grace_hopper")


def named_image(name: str) -> np.ndarray:
    """Any image of the default set by name, float32 ``(H, W, 3)`` in ``[0, 1]``."""
    return _package_photo(name) if name in PACKAGE_PHOTOS else skimage_image(name)


def skimage_image(name: str) -> np.ndarray:
    """A bundled scikit-image picture as float32 ``(H, W, 3)`` in ``[0, 1]``."""
    from skimage import data

    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return (img[..., :3].astype(np.float32) / 255.0).copy()


def default_images(split: str) -> list[np.ndarray]:
    """``split`` = ``train`` | ``heldout``: the default scikit-image set."""
    names = TRAIN + ["flower", "grace_hopper"] if split == "train" else HELD_OUT
    imgs = [named_image(n) for n in names]
    if split == "train":
        from skimage import data

        left, right, _ = data.stereo_motorcycle()
        imgs += [left.astype(np.float32) / 255.0, right.astype(np.float32) / 255.0]
    return imgs


def folder_images(directory: str | Path, split: str) -> list[np.ndarray]:
    """Images of a folder (recursive), split 90/10 by sorted path (``split`` = ``train``
    | ``heldout``), or every image (``all``)."""
    d = Path(directory)
    if not d.is_dir():
        raise PrivsemError(f"data folder not found: {d}")
    files = sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if split == "all":
        if not files:
            raise PrivsemError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {d}")
        return [load_image(p) for p in files]
    if len(files) < 2:
        raise PrivsemError(f"need at least 2 images in {d}, found {len(files)}")
    n_held = max(1, len(files) // 10)
    chosen = files[-n_held:] if split == "heldout" else files[:-n_held]
    return [load_image(p) for p in chosen]


class CropSampler:
    """Random ``crop × crop`` patches with flips and 90° rotations.

    ``sample(batch) -> float32 (batch, 3, crop, crop)``; images are drawn in proportion
    to their area.
    """

    def __init__(self, images: list[np.ndarray], crop: int, seed: int = 0) -> None:
        self.images = [im for im in images if min(im.shape[:2]) >= crop]
        if not self.images:
            raise PrivsemError(f"no training image is at least {crop}×{crop}")
        areas = np.array([im.shape[0] * im.shape[1] for im in self.images], np.float64)
        self.p = areas / areas.sum()
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int) -> np.ndarray:
        out = np.empty((batch, 3, self.crop, self.crop), np.float32)
        for b in range(batch):
            im = self.images[self.rng.choice(len(self.images), p=self.p)]
            y = self.rng.integers(0, im.shape[0] - self.crop + 1)
            x = self.rng.integers(0, im.shape[1] - self.crop + 1)
            patch = im[y : y + self.crop, x : x + self.crop]
            if self.rng.random() < 0.5:
                patch = patch[:, ::-1]
            patch = np.rot90(patch, self.rng.integers(0, 4))
            out[b] = patch.transpose(2, 0, 1)
        return out
