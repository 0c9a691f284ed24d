"""The image set of an evaluation: held-out entity scenes, or a user's folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PrivsemError

SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class EvalImage:
    """float32 ``(H, W, 3)`` image in [0, 1]; ``entity`` the true entity when known
    (scenes), else None (a folder: the guard's detection is taken as the truth)."""

    name: str
    image: np.ndarray
    entity: str | None


def image_set(spec: str, n: int, seed: int = 0) -> list[EvalImage]:
    """``heldout`` / ``calibration``: the first ``n`` scenes with an entity of that split
    (backgrounds of the held-out split were never seen by the DB's calibration or the
    recovery models' data); otherwise a folder, its first ``n`` images by name."""
    from ..database.scenes import SCENE_SETS_WITH_ENTITY, entity_scenes

    if spec in SCENE_SETS_WITH_ENTITY:
        return [EvalImage(f"{spec}{i:03d}_{s.entity}_{s.background}", s.image, s.entity)
                for i, s in enumerate(entity_scenes(spec, n, seed))]
    from ..imageio import load_image

    folder = Path(spec)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES) if folder.is_dir() else []
    if not files:
        raise PrivsemError(f"image set {spec}: no PNG or JPEG images in that folder")
    return [EvalImage(p.stem, load_image(p), None) for p in files[:n]]
