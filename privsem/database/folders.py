"""A DB from a one-folder-per-individual image collection, the layout of the
cat-individuals data set the paper used (``ROOT/<individual>/<images>``).

Each sub-folder becomes an entity named after it (lower-cased, other characters to
``_``) with the prompt ``template.format(name=<folder name>)``; its first
``max_samples`` images (sorted) are the samples, the rest can serve as held-out photos.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..codec.data import IMAGE_SUFFIXES
from ..errors import PrivsemError
from .store import PrivacyDB


def entity_name(folder: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "_", folder.lower()).strip("_")[:64]
    if not name:
        raise PrivsemError(f"cannot make an entity name from folder {folder!r}")
    return name


def import_folders(db_dir: str | Path, root: str | Path, template: str = "the cat {name}",
                   max_samples: int = 8, limit: int | None = None) -> list[str]:
    """Add one entity per sub-folder of ``root`` to the DB at ``db_dir`` (created if
    absent); returns the entity names added."""
    root = Path(root)
    if not root.is_dir():
        raise PrivsemError(f"not a folder: {root}")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if limit is not None:
        folders = folders[:limit]
    if not folders:
        raise PrivsemError(f"{root} has no sub-folders (one per individual expected)")
    db = PrivacyDB.open(db_dir) if (Path(db_dir) / "manifest.json").is_file() else PrivacyDB.create(db_dir)
    added = []
    for f in folders:
        images = sorted(p for p in f.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:max_samples]
        if not images:
            continue
        name = entity_name(f.name)
        db.add(name, template.format(name=f.name), images)
        added.append(name)
    if not added:
        raise PrivsemError(f"no images found under {root}")
    return added
