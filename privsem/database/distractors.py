"""Same-class distractors: crops of OTHER people and OTHER animals than the DB's entities.

The example DB protects a cat (``skimage.data.chelsea()``) and a person (Eileen Collins in
``skimage.data.astronaut()``). A guard that flags "any cat-like animal" or "any face" is
not recognising *those* entities, so it is benchmarked on crops that each show one other
person or one other animal, split like the scenes: the DB's threshold may be calibrated
on the ``calibration`` crops; the ``heldout`` crops are never seen before the report.

Sources (all offline once installed; nothing is downloaded at run time):

* ``matplotlib``: ``matplotlib.cbook.get_sample_data("grace_hopper.jpg")``, the official
  U.S. Navy portrait of Grace Hopper (public domain), shipped in matplotlib's sample data;
  always present (matplotlib is a dependency).
* ``skimage``: ``skimage.data.camera()``, the cameraman, grey; CC0 by the photographer
  (Lav Varshney), shipped with scikit-image; always present.
* ``opencv``: the OpenCV sample pictures (``samples/data``), as packaged by Debian's
  ``opencv-doc`` in ``/usr/share/doc/opencv-doc/examples/data/``; OpenCV's licence
  (BSD-3-Clause, which upstream relicensed to Apache-2.0 from 4.5; Debian's copyright
  file lists the samples as "Apache-2.0 AND BSD-3-Clause"). ``./setup.sh`` installs the
  package, or, without root, extracts the few pictures used here into
  ``<venv>/share/privsem-photos/``. They are looked up, in order, in
  ``/usr/share/doc/opencv-doc/examples/data/``, ``$PRIVSEM_PHOTOS`` and
  ``<sys.prefix>/share/privsem-photos/`` (see :func:`photos_dir`). When none has them,
  :func:`available` leaves those distractors out.

Each crop is a tight-but-whole box around its subject; :func:`distractor` returns it as
float32 ``(h, w, 3)`` RGB in ``[0, 1]`` (grey pictures repeated to 3 channels), h, w ≥ 64.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import PrivsemError

DEBIAN_PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")
SPLITS = ("calibration", "heldout")
CLASSES = ("person", "animal")


@dataclass(frozen=True)
class Distractor:
    """One crop: ``source`` (``matplotlib`` | ``skimage`` | ``opencv``), ``file`` (a file
    name, or the scikit-image picture's name), ``klass`` (``person`` | ``animal``),
    ``split`` (``calibration`` | ``heldout``), ``box`` (y0, y1, x0, x1) in the source
    picture's pixels, ``what`` (a short description)."""

    source: str
    file: str
    klass: str
    split: str
    box: tuple[int, int, int, int]
    what: str


DISTRACTORS: dict[str, Distractor] = {
    # calibration: 3 people, 2 animals
    "cameraman": Distractor("skimage", "camera", "person", "calibration", (60, 512, 0, 335),
                            "a man filming with a tripod camera, grey"),
    "basketball_left": Distractor("opencv", "basketball1.png", "person", "calibration", (70, 480, 25, 205),
                                  "a man holding a basketball, full length, grey"),
    "basketball_right": Distractor("opencv", "basketball2.png", "person", "calibration", (15, 480, 425, 640),
                                   "a man in a patterned shirt, seen from behind, head to hips, grey"),
    "mandrill": Distractor("opencv", "baboon.jpg", "animal", "calibration", (0, 512, 25, 490),
                           "a mandrill's face"),
    "butterfly": Distractor("opencv", "butterfly.jpg", "animal", "calibration", (15, 318, 0, 475),
                            "a swallowtail butterfly, wings open"),
    # held-out: 2 people, 2 animals
    "grace_hopper": Distractor("matplotlib", "grace_hopper.jpg", "person", "heldout", (15, 480, 25, 512),
                               "Grace Hopper, head and shoulders"),
    "messi": Distractor("opencv", "messi5.jpg", "person", "heldout", (55, 342, 60, 458),
                        "a footballer kicking a ball, whole body"),
    "dog": Distractor("opencv", "chicky_512.png", "animal", "heldout", (20, 390, 80, 480),
                      "a dog's face"),
    "squirrel": Distractor("opencv", "squirrel_cls.jpg", "animal", "heldout", (100, 368, 125, 365),
                           "a red squirrel on a branch"),
}


def _candidate_dirs() -> list[Path]:
    dirs = [DEBIAN_PHOTOS]
    env = os.environ.get("PRIVSEM_PHOTOS")
    if env:
        dirs.append(Path(env))
    dirs.append(Path(sys.prefix) / "share" / "privsem-photos")
    return dirs


def photos_dir() -> Path | None:
    """The first directory holding the OpenCV sample pictures (it has ``messi5.jpg``):
    Debian's ``opencv-doc``, ``$PRIVSEM_PHOTOS``, then ``<sys.prefix>/share/privsem-photos``;
    ``None`` when none has them."""
    for d in _candidate_dirs():
        if (d / "messi5.jpg").is_file():
            return d
    return None


def _path(d: Distractor) -> Path | None:
    """The picture file of an ``opencv`` or ``matplotlib`` distractor, or None if missing."""
    if d.source == "matplotlib":
        import matplotlib.cbook

        try:
            p = Path(matplotlib.cbook.get_sample_data(d.file, asfileobj=False))
        except (OSError, ValueError):
            return None
        return p if p.is_file() else None
    base = photos_dir()
    if base is None:
        return None
    p = base / d.file
    return p if p.is_file() else None


def _lookup(name: str) -> Distractor:
    try:
        return DISTRACTORS[name]
    except KeyError:
        raise PrivsemError(f"unknown distractor {name!r}; known: {', '.join(DISTRACTORS)}") from None


def available(split: str | None = None) -> list[str]:
    """Names of the distractors (of ``split``, or all) whose picture can be found, in
    table order. Missing pictures are left out, never an error."""
    if split is not None and split not in SPLITS:
        raise PrivsemError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    out = []
    for name, d in DISTRACTORS.items():
        if split is not None and d.split != split:
            continue
        if d.source == "skimage" or _path(d) is not None:
            out.append(name)
    return out


def distractor(name: str) -> np.ndarray:
    """The crop of distractor ``name``: float32 ``(h, w, 3)`` RGB in ``[0, 1]`` (a fresh
    copy; the crops are cached).

    Raises:
        PrivsemError: unknown name, or its picture is not installed.
    """
    d = _lookup(name)
    if d.source == "skimage":
        return _crop(name, "").copy()
    p = _path(d)
    if p is None:
        raise PrivsemError(
            f"distractor {name!r} needs {d.file} from Debian's opencv-doc; "
            "install it (apt-get install opencv-doc, or ./setup.sh does it) or set PRIVSEM_PHOTOS"
        )
    return _crop(name, str(p)).copy()


@lru_cache(maxsize=len(DISTRACTORS))
def _crop(name: str, path: str) -> np.ndarray:
    d = DISTRACTORS[name]
    if d.source == "skimage":
        from ..codec.data import skimage_image

        img = skimage_image(d.file)
    else:
        from ..imageio import load_image

        img = load_image(path)
    y0, y1, x0, x1 = d.box
    return np.ascontiguousarray(np.clip(img[y0:y1, x0:x1, :3], 0.0, 1.0), dtype=np.float32)


# Everyday OpenCV sample photos (no person, no animal, and none a test background) that
# join every entity's negative bank: the more of the world the bank has seen, the fewer
# cups, fruit and furniture look nearer to an entity than to anything else.
GENERIC_PHOTOS = ("aero1.jpg", "aloeL.jpg", "apple.jpg", "board.jpg", "box_in_scene.png", "building.jpg",
                  "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg", "leuvenA.jpg", "orange.jpg",
                  "pca_test1.jpg", "rubberwhale1.png", "smarties.png", "starry_night.jpg", "stuff.jpg",
                  "licenseplate_motion.jpg", "Blender_Suzanne1.jpg")


def generic_photo_names() -> list[str]:
    """The :data:`GENERIC_PHOTOS` installed here (empty without ``opencv-doc``)."""
    base = photos_dir()
    return [] if base is None else [f for f in GENERIC_PHOTOS if (base / f).is_file()]


def generic_photos() -> list[tuple[str, np.ndarray]]:
    """The installed :data:`GENERIC_PHOTOS` as (file name, float32 ``(H, W, 3)`` in [0, 1])."""
    from ..imageio import load_image

    return [(f, load_image(photos_dir() / f)) for f in generic_photo_names()]
