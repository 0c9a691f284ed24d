"""Face identity for the privacy guard: dlib's HOG face detector, its 5-point landmarks
and its 128-d face-recognition ResNet (99.38 % on LFW at Euclidean distance 0.6).

Detection runs on a grey copy of the image resized so that its long side is
``detect_side`` pixels (default 896, i.e. ×1.75 for a 512-pixel image); landmarks and
descriptors are computed on the full-resolution RGB input. The smallest face the HOG
detector (80-px window) finds is ~56 px wide in that copy, i.e. ~56/``detect_side`` of
the input's long side: ~32 px in a 512×512 image at the default, at a cost bounded by
``detect_side`` whatever the input size.

Measured on 2 CPU cores (dlib-bin 20.0.1, built without BLAS: dlib runs on one core and
holds the GIL), 512×512 ``skimage.data.astronaut()`` with one face, best of 25 runs;
"smallest" is the smallest face box width (px) found when the astronaut's or Grace
Hopper's head is pasted, scaled down, into a 512×384 scene:

=========================  ===========  ==============  ==========
detector input             detect (s)   ``faces`` (s)   smallest
=========================  ===========  ==============  ==========
grey, 512                  0.016        0.089           52–56
grey, 640                  —            —               40–44
grey, 768                  0.037        0.112           34–38
grey, 896 (default)        0.049        0.125           30–34
grey, 1024                 0.063        0.139           28
RGB, dlib upsample 1       0.083        ~0.16           ~28
=========================  ===========  ==============  ==========

The descriptor (an aligned 150×150 chip through the ResNet) costs 0.071 s per face and
the 5 landmarks 0.4 ms. Rejected: the LBP cascade ``lbpcascade_frontalface_opencv.xml``
as a proposal stage — OpenCV ≥ 5 has no cascade classifier, and scikit-image's
``Cascade`` takes 0.29–0.41 s per image (more than HOG at ×2) and fires on
``skimage.data.coffee()``. At dlib's default threshold (score > 0) a few non-faces pass
(e.g. the round mission patch on the astronaut's suit once rotated by 15°, score
0.06–0.29 against 0.4–1.5 for real faces); their descriptors lie > 0.7 from any face
seen here, so they do not match.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PrivsemError

#: dlib's same-person threshold on the Euclidean distance between descriptors.
MATCH_DISTANCE = 0.6

_MODELS = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
_MISSING = "face identity needs dlib and its models: pip install dlib-bin face-recognition-models"


def _model_dir() -> Path | None:
    # `import face_recognition_models` imports pkg_resources; find its folder instead.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / "models"
    return folder if all((folder / m).is_file() for m in _MODELS) else None


def available() -> bool:
    """Whether dlib imports and its face models are installed."""
    try:
        import dlib  # noqa: F401
    except ImportError:
        return False
    return _model_dir() is not None


@dataclass
class Face:
    """One detected face, in pixels of the input image.

    Attributes:
        box: ``(top, left, bottom, right)`` ints, clipped to the image.
        descriptor: float32 ``(128,)``, unit-free; same person if
            ``distance(a, b) < MATCH_DISTANCE``.
        landmarks: float32 ``(5, 2)`` ``(row, col)``: eye corners and the base of the nose.
        score: detector confidence (HOG margin, > 0 for a detection).
    """

    box: tuple[int, int, int, int]
    descriptor: np.ndarray
    landmarks: np.ndarray
    score: float


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two ``(128,)`` descriptors."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


class FaceEncoder:
    """``faces(img float32 (H, W, 3) RGB in [0, 1]) -> list[Face]``, largest first.

    Args:
        detect_side: long side, in pixels, of the grey copy the detector scans; faces
            down to ~56/``detect_side`` of the input's long side are found, at a cost
            proportional to ``detect_side ** 2``.
    """

    def __init__(self, detect_side: int = 896) -> None:
        folder = _model_dir()
        try:
            import dlib
        except ImportError:
            folder = None
        if folder is None:
            raise PrivsemError(_MISSING)
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(folder / _MODELS[0]))
        self._net = dlib.face_recognition_model_v1(str(folder / _MODELS[1]))
        self.detect_side = detect_side

    def faces(self, img: np.ndarray) -> list[Face]:
        """Detect, align and describe every frontal face in ``img``.

        Args:
            img: float32 ``(H, W, 3)`` RGB in ``[0, 1]``.

        Returns:
            The faces, sorted by box area, largest first; empty if there is none.
        """
        import cv2

        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {img.shape}")
        rgb = np.ascontiguousarray(np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8))
        h, w = rgb.shape[:2]
        scale = self.detect_side / max(h, w)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
        rects, scores, _ = self._detector.run(grey, 0, 0.0)

        found = []
        for r, score in zip(rects, scores):
            rect = self._dlib.rectangle(
                round(r.left() / scale), round(r.top() / scale), round(r.right() / scale), round(r.bottom() / scale)
            )
            shape = self._landmarks(rgb, rect)
            descriptor = np.asarray(self._net.compute_face_descriptor(rgb, shape), dtype=np.float32)
            landmarks = np.array([(p.y, p.x) for p in shape.parts()], dtype=np.float32)
            box = (max(rect.top(), 0), max(rect.left(), 0), min(rect.bottom(), h), min(rect.right(), w))
            found.append(Face(box, descriptor, landmarks, float(score)))
        return sorted(found, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), reverse=True)

    def descriptors_of(self, img: np.ndarray) -> np.ndarray:
        """float32 ``(n, 128)``: the descriptors of ``faces(img)``, largest face first."""
        return np.array([f.descriptor for f in self.faces(img)], dtype=np.float32).reshape(-1, 128)


@functools.lru_cache(maxsize=1)
def cached_encoder() -> FaceEncoder:
    """One :class:`FaceEncoder` per process (loading dlib's models takes ~0.5 s)."""
    return FaceEncoder()
