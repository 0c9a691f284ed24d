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


def dataset_split(root: str | Path, db_photos: int) -> dict[str, tuple[str, list[Path], list[Path]]]:
    """Per individual (entity name) of a one-folder-per-individual collection
    (``ROOT/<individual>/``): (its folder's name, the first ``db_photos`` photos by name
    for the DB, the rest for the test).
    Individuals with no test photo left are skipped; none at all is an error."""
    from ..codec.data import IMAGE_SUFFIXES
    from ..database.folders import entity_name

    root = Path(root)
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    out = {}
    for f in folders:
        photos = sorted(p for p in f.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(photos) > db_photos:
            out[entity_name(f.name)] = (f.name, photos[:db_photos], photos[db_photos:])
    if not out:
        raise PrivsemError(f"dataset {root}: no individual's folder has more than {db_photos} photos "
                           "(the first go into the DB, the rest are the test images)")
    return out


def dataset_images(root: str | Path, db_photos: int, n: int) -> list[EvalImage]:
    """The test photos of :func:`dataset_split`, taken in turn from each individual, at
    most ``n``; each labelled with its individual's entity name."""
    from ..imageio import load_image

    tests = [(name, t) for name, (_, _, t) in dataset_split(root, db_photos).items()]
    order = [(name, t[j]) for j in range(max(len(t) for _, t in tests)) for name, t in tests if j < len(t)]
    return [EvalImage(f"{name}_{p.stem}", load_image(p), name) for name, p in order[:n]]


def images_of(cfg) -> list[EvalImage]:
    """The image set of an :class:`~privsem.eval.config.EvalConfig`."""
    if cfg.dataset:
        return dataset_images(cfg.dataset, cfg.dataset_db_photos, cfg.n_images)
    return image_set(cfg.images, cfg.n_images)


def build_dataset_db(cfg, db_dir: Path) -> None:
    """The DB of a dataset run: each individual's first photos, then calibrated (Γ and
    the mined negatives; :func:`~privsem.database.calibrate.calibrate_db`)."""
    import shutil

    from ..database import PrivacyDB
    from ..database.calibrate import calibrate_db

    tmp = db_dir.with_name(db_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    db = PrivacyDB.create(tmp)
    for name, (folder, photos, _) in dataset_split(cfg.dataset, cfg.dataset_db_photos).items():
        db.add(name, cfg.dataset_prompt.format(name=folder), photos)
    calibrate_db(db, cfg.dataset_calibration_scenes or None)
    tmp.rename(db_dir)  # only a finished DB is ever reused by a resumed run


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
