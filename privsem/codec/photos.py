"""Real photographs for training the codecs, from Debian packages (never committed, never
a benchmark image).

Sources, in order (each is used when it is installed; ``./setup.sh`` installs them where
apt is allowed, or unpacks them into the venv otherwise):

- ``plasma-workspace-wallpapers``: the wallpapers that are photographs (``WALLPAPER_PHOTOS``;
  the rest are renderings), 2560×1600 up to 5120×2880;
- ``libjxl-testdata``: its camera photos (``flower``, ``hdr_room``, the 8-bit sRGB
  wesaturate 500px ones; the raw.pixls photos are 64² thumbnails);
- the default set of :mod:`privsem.codec.data` (scikit-image, scikit-learn, matplotlib
  samples), whose ``HELD_OUT`` pictures are never among them.

Large photos are shrunk so their long side is at most ``max_side`` pixels: a 256² crop of a
5K wallpaper is mostly flat sky, at about 1000 px it holds a scene.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .data import default_images

WALLPAPER_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
                    "Grey", "Kite", "OneStandsOut", "Path", "Volna", "summer_1am")
JXL_PHOTOS = ("jxl/flower/flower.png", "jxl/hdr_room.png", "external/wesaturate/500px/*_srgb8.png")


def _roots(name: str) -> list[Path]:
    """Where a Debian package's ``/usr/share/<name>`` may be: the system, or the copy
    ``./setup.sh`` unpacks into the venv when it may not use apt."""
    roots = [Path("/usr/share") / name]
    venv = os.environ.get("VIRTUAL_ENV")
    prefix = Path(venv) if venv else Path(sys.prefix)
    roots.append(prefix / "share" / "privsem-photos" / name)
    return [r for r in roots if r.is_dir()]


def wallpaper_files() -> list[Path]:
    """The largest image of each photographic wallpaper that is installed."""
    out = []
    for root in _roots("wallpapers"):
        for name in WALLPAPER_PHOTOS:
            imgs = sorted((root / name / "contents" / "images").glob("*.*"))
            if imgs:
                out.append(max(imgs, key=lambda p: p.stat().st_size))
        if out:
            break
    return out


def jxl_files() -> list[Path]:
    """libjxl-testdata's camera photos that are installed."""
    for root in _roots("libjxl-testdata"):
        found = sorted({p for pattern in JXL_PHOTOS for p in root.glob(pattern)})
        if found:
            return found
    return []


def _load(path: Path, max_side: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = max_side / max(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        return np.asarray(im, np.float32) / 255.0


def training_photos(max_side: int = 1024, min_side: int = 128) -> tuple[list[np.ndarray], list[str]]:
    """All installed training photos as float32 ``(H, W, 3)`` in ``[0, 1]``, and their
    names (file paths, or the default set's names). Never one of ``HELD_OUT``."""
    files = wallpaper_files() + jxl_files()
    imgs = [_load(p, max_side) for p in files]
    names = [str(p) for p in files]
    imgs += default_images("train")
    names += ["privsem.codec.data default training set"] * (len(imgs) - len(names))
    keep = [i for i, im in enumerate(imgs) if min(im.shape[:2]) >= min_side]
    return [imgs[i] for i in keep], [names[i] for i in keep]
