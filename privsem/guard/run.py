"""``run_guard``: the guard on one image file, with its outputs written to a folder."""

from __future__ import annotations

import json
import time
from pathlib import Path


from ..errors import PrivsemError
from ..imageio import load_image, save_image


def run_guard(image_path, db_dir, out_dir, threshold: float | None = None, device=None) -> dict:
    """Write ``mask.png``, ``guarded.png``, ``guard.json``; return the report dict (the
    image encoder on ``device``, default CPU)::

        {"entities": [{"name", "prompt", "score", "points", "mask_fraction"}], "seconds": ..}
    """
    from ..database import PrivacyDB
    from . import Guard, apply_guard

    image = load_image(image_path)
    db = PrivacyDB.open(db_dir)
    if not db.entities:
        raise PrivsemError(f"the privacy database {db_dir} is empty (add entities with privsem db add)")
    g = Guard(db, threshold=threshold, device=device)
    t = time.perf_counter()  # the guard itself, not loading the encoder
    result = g(image)
    seconds = time.perf_counter() - t
    prompts = {e.name: e.prompt for e in db.entities}
    entities = []
    for name in result.detected:
        m = result.masks[name]
        entities.append({"name": name, "prompt": prompts[name], "score": round(result.scores[name], 4),
                         "face_distance": result.faces.get(name),
                         "points": result.points[name].tolist(), "mask_fraction": round(float(m.mean()), 4)})
    report = {"image": str(image_path), "shape": list(image.shape[:2]), "entities": entities,
              "vetoed_by_face": result.vetoed,
              "mask_fraction": round(float(result.mask.mean()), 4), "seconds": round(seconds, 3)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_image(out / "mask.png", result.mask)
    save_image(out / "guarded.png", apply_guard(image, result.mask))
    (out / "guard.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
