"""Image files ↔ arrays.

Images inside privsem are ``float32`` arrays of shape ``(H, W, 3)`` with values in
``[0, 1]``; masks are ``bool`` arrays of shape ``(H, W)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import PrivsemError


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB.

    Returns:
        float32 ``(H, W, 3)`` in ``[0, 1]``.

    Raises:
        PrivsemError: missing, unreadable or not an image.
    """
    p = Path(path)
    if not p.is_file():
        raise PrivsemError(f"image not found: {p}")
    try:
        with Image.open(p) as im:
            rgb = im.convert("RGB")
            return np.asarray(rgb, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise PrivsemError(f"cannot read image {p}: {e.__class__.__name__}") from None


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float ``[0, 1]`` → uint8 ``[0, 255]`` (rounded, clipped)."""
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_image(path: str | Path, img: np.ndarray) -> None:
    """Write ``(H, W, 3)`` float image or ``(H, W)`` bool mask as PNG."""
    arr = img.astype(np.uint8) * 255 if img.dtype == bool else to_uint8(img)
    Image.fromarray(arr).save(Path(path))
