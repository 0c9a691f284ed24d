"""``privsem db example``: a small DB from pictures bundled with scikit-image.

This script is the provenance of the example DB: no image file is committed. Entities:

* ``chelsea`` — "the cat Chelsea": crops of ``skimage.data.chelsea()`` (300×451, a
  tabby cat's face filling most of the frame), and a mirrored crop;
* ``astronaut`` — "the astronaut Eileen Collins": crops of ``skimage.data.astronaut()``
  (512×512, NASA portrait of Eileen Collins in an orange suit), and a mirrored crop.

Scenes (``--scenes``): the two full pictures and ``coffee.png`` (a cup of coffee, no
entity). Bob's recovery model fine-tuned on exactly these samples
(``models/recovery_example_finetuned.safetensors``) is installed into the DB. The samples are crops of the scenes themselves, so the example shows the
pipeline working, not the guard generalising to unseen photos of the entity.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..codec.data import skimage_image
from ..imageio import save_image
from .store import PrivacyDB

# (y0, y1, x0, x1) in the scikit-image picture, and what the crop shows
CROPS = {
    "chelsea": ("the cat Chelsea", "chelsea", [
        ((20, 300, 60, 380), "face and ears"),
        ((60, 180, 110, 360), "eyes"),
        ((0, 300, 0, 250), "left half: ear, cheek, fur"),
        ((150, 300, 150, 330), "nose, mouth and whiskers"),
    ]),
    "astronaut": ("the astronaut Eileen Collins", "astronaut", [
        ((40, 200, 150, 290), "head"),
        ((180, 512, 40, 370), "suit and mission patch"),
        ((40, 360, 60, 360), "upper body"),
    ]),
}
SCENES = ["chelsea", "astronaut", "coffee"]
FINETUNED = "recovery_example_finetuned.safetensors"  # Bob's recovery model for this DB


def install_finetuned(db: PrivacyDB) -> bool:
    """Install the committed fine-tuned recovery model (``models/``, sha256-checked) into
    the example DB; False (and nothing installed) if it is not there."""
    from ..weights import manifest, models_dir, sha256_file

    path = models_dir() / FINETUNED
    entry = manifest().get("files", {}).get(FINETUNED)
    if entry is None or not path.is_file() or sha256_file(path) != entry["sha256"]:
        return False
    db.set_recovery(path)
    return True


def build_example_db(root: str | Path, scenes_dir: str | Path | None = None, calibrate: bool = True) -> PrivacyDB:
    """Create the example DB in ``root`` (and the scenes in ``scenes_dir``). Each crop's
    silhouette is the entity's true one (:mod:`.silhouettes`) cut the same way; Γ comes
    from ``db calibrate``'s ROC (``calibrate=False`` leaves the provisional Γ)."""
    from .silhouettes import silhouette

    db = PrivacyDB.create(root)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (prompt, picture, crops) in CROPS.items():
            img = skimage_image(picture)
            sil = silhouette(name)[1]
            files, masks = [], []
            boxes = [(box, False) for box, _ in crops] + [(crops[0][0], True)]  # and the first, mirrored
            for i, ((y0, y1, x0, x1), mirror) in enumerate(boxes):
                pix, m = img[y0:y1, x0:x1], sil[y0:y1, x0:x1]
                if mirror:
                    pix, m = pix[:, ::-1], m[:, ::-1]
                f = Path(tmp) / (f"{name}_mirror.png" if mirror else f"{name}_{i}.png")
                save_image(f, np.ascontiguousarray(pix))
                save_image(Path(tmp) / f"{f.stem}_mask.png", np.ascontiguousarray(m))
                files.append(f)
                masks.append(Path(tmp) / f"{f.stem}_mask.png")
            db.add(name, prompt, files, masks=masks)
    if calibrate:
        from .calibrate import calibrate_db

        calibrate_db(db)
    install_finetuned(db)
    if scenes_dir is not None:
        out = Path(scenes_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name in SCENES:
            save_image(out / f"{name}.png", skimage_image(name))
    return db
