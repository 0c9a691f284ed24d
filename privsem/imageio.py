"""Image files ↔ arrays.

Images inside privsem are ``float32`` arrays of shape ``(H, W, 3)`` with values in
``[0, 1]``; masks are ``bool`` arrays of shape ``(H, W)``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import PrivsemError


MAX_PIXELS = 50_000_000  # refuse larger images (a 7k × 7k photo is 49 M)


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL mode → float32 RGB in [0, 1]: grey is repeated, alpha is dropped (composited
    on black), 16-bit and float images are scaled by their type's range."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float32) / (65535.0 if im.mode.startswith("I;16") else max(float(np.max(im)), 1.0))
        return np.repeat(np.clip(a, 0, 1)[..., None], 3, axis=2)
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float32)
        a = (a - a.min()) / max(float(a.max() - a.min()), 1e-12)
        return np.repeat(a[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        return rgba[..., :3] * rgba[..., 3:4]
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB (grey, palette, RGBA, 16-bit and float images are
    converted).

    Returns:
        float32 ``(H, W, 3)`` in ``[0, 1]``.

    Raises:
        PrivsemError: missing, unreadable, empty, not an image, or over 50 M pixels.
    """
    p = Path(path)
    if not p.is_file():
        raise PrivsemError(f"image not found: {p}")
    return _decode(p, p)


def decode_image(data: bytes, name: str | Path) -> np.ndarray:
    """:func:`load_image` on an image file's bytes (e.g. a decrypted DB sample);
    ``name`` only labels error messages."""
    return _decode(io.BytesIO(data), Path(name))


def _decode(source, p: Path) -> np.ndarray:
    try:
        with Image.open(source) as im:
            w, h = im.size
            if w * h == 0:
                raise PrivsemError(f"empty image: {p}")
            if w * h > MAX_PIXELS:
                raise PrivsemError(f"image too large: {p} is {w}×{h} (limit {MAX_PIXELS // 10**6} M pixels)")
            return np.ascontiguousarray(_to_rgb(im), dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise PrivsemError(f"cannot read image {p}: {e.__class__.__name__}") from None


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float ``[0, 1]`` → uint8 ``[0, 255]`` (rounded, clipped)."""
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_image(path: str | Path, img: np.ndarray) -> None:
    """Write ``(H, W, 3)`` float image or ``(H, W)`` bool mask as PNG."""
    arr = img.astype(np.uint8) * 255 if img.dtype == bool else to_uint8(img)
    Image.fromarray(arr).save(Path(path))


@contextlib.contextmanager
def cv2_one_thread():
    """Run OpenCV on one thread inside the block: its parallel reductions (ECC, GrabCut's
    models) otherwise sum in a scheduling-dependent order, and two runs of the same
    input can differ in the last bits: one process's loopback must match another's."""
    import cv2

    n = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(n)
