"""The privacy guard G (Algorithm 1): detect DB entities, segment them, remove them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .matcher import detection_score, patch_scores, peak_points
from .refiner import grabcut_mask

MASK_LEVEL = 0.0  # patch score at which the coarse mask starts: nearer the entity than anything else
FACE_ALONE = 0.45  # a face this near the entity's detects it even where its patches do not;
# stricter than dlib's 0.6 because the face is then the only evidence (the embossed heads
# of skimage's coins come within 0.52 of Eileen Collins)
FACE_HEAD = 1.6  # a matched face's box grown by this factor is surely the entity (head and hair)


@dataclass
class GuardResult:
    """Output of the guard.

    Attributes:
        mask: bool ``(H, W)``, M (union over detected entities).
        entity: name of the highest-scoring detected entity, or None.
        prompt: its prompt text i_k, or None.
        score: its detection score (cosine similarity units).
        scores: detection score of every DB entity.
        detected: names of every entity at or above its Γ, best first.
        masks: per detected entity, its own bool ``(H, W)`` mask.
        points: per detected entity, its point prompts int ``(P, 2)`` (row, col).
        faces: per face-path entity, the distance of the nearest face in the image to
            its samples' faces (dlib units; < 0.6 is the same person), when a face was seen.
        vetoed: entities whose patches matched but whose face belongs to someone else.
    """

    mask: np.ndarray
    entity: str | None
    prompt: str | None
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    detected: list[str] = field(default_factory=list)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    points: dict[str, np.ndarray] = field(default_factory=dict)
    faces: dict[str, float] = field(default_factory=dict)
    vetoed: list[str] = field(default_factory=list)


RESERVED_BLACK = 0.1  # the transmitter's black level: only removed pixels are darker


def apply_guard(image: np.ndarray, mask: np.ndarray, reserved_black: float = 0.0) -> np.ndarray:
    """Eq. 11: ``A = (1 − M) ⊙ S`` for float32 ``(H, W, 3)`` and bool ``(H, W)``.

    With ``reserved_black = b > 0`` the kept pixels are mapped to ``b + (1 − b)·S``, so
    exact black means "removed" and nothing else: a receiver then finds M̂ even where
    the picture itself is black (night sky, a fundus photo's border), and undoes the
    map with :func:`restore_black`. The transmitter uses :data:`RESERVED_BLACK`."""
    kept = image if reserved_black == 0 else reserved_black + (1 - reserved_black) * image
    return (kept * (~mask)[..., None]).astype(np.float32)


def restore_black(a_hat: np.ndarray, reserved_black: float = RESERVED_BLACK) -> np.ndarray:
    """Inverse of :func:`apply_guard`'s black-level map on a received float32 image."""
    return np.clip((a_hat - reserved_black) / (1 - reserved_black), 0, 1).astype(np.float32)


class Guard:
    """``Guard(db, encoder=None)(img float32 (H,W,3)) -> GuardResult``.

    Each entity is scored patch by patch: nearer to one of its prototypes than to its
    negative bank and to the DB's other entities (:func:`.matcher.patch_scores`); its
    detection score is the mean of the best few smoothed patch scores, against Γ_k. For
    an entity whose samples show a face (the face path), dlib's face recogniser has the
    last word where a face is visible: a face within :data:`FACE_ALONE` (0.45) of the
    entity's faces detects it even when the patches do not (within 0.6 it confirms
    them), and a face farther than 0.6 in the patches' region vetoes them; seen from
    behind, the patches decide alone. The mask
    is the connected patch region around the point prompts, snapped to the outline by
    GrabCut (or, with SAM, SAM's own mask decoder on the points).

    Args:
        db: an open, current-format :class:`~privsem.database.PrivacyDB`.
        encoder: overrides the DB's encoder (must be the one its features came from).
        threshold: overrides every entity's Γ.
        device: where the DB's image encoder runs (default CPU). Scoring against the
            prototypes, GrabCut and dlib's face path are numpy/OpenCV on the CPU: one
            feature map per image comes back.

    Raises:
        PrivsemError: an old-format DB (names the upgrade command).
    """

    def __init__(self, db, encoder=None, threshold: float | None = None, device=None) -> None:
        db.require_current()
        self.db = db
        self.encoder = encoder or db.encoder(device)
        self.threshold = threshold
        self.entities = db.entities
        self._banks = {e.name: np.concatenate([e.negatives, *(o.prototypes for o in self.entities if o.name != e.name)])
                       for e in self.entities}
        self._faces = None
        if any(e.faces is not None and len(e.faces) for e in self.entities):
            from . import face
            from .encoders import build_face_encoder

            self._faces = build_face_encoder(db.face_encoder) if face.available() else None

    def _gamma(self, entity) -> float:
        return self.threshold if self.threshold is not None else entity.threshold

    def score_maps(self, feats: np.ndarray) -> dict[str, np.ndarray]:
        """Per entity, its patch-score map float32 ``(h, w)`` on the encoder grid."""
        return {e.name: patch_scores(feats, e.prototypes, self._banks[e.name], self.db.mu) for e in self.entities}

    def _decide(self, img: np.ndarray):
        """Per entity: (score, map, detected, face distance or None, matched face box or None, vetoed)."""
        maps = self.score_maps(self.encoder.features(img))
        faces = self._faces.faces(img) if self._faces is not None else []
        out = {}
        for e in self.entities:
            sim = maps[e.name]
            score = detection_score(sim)
            gamma = self._gamma(e)
            detected, dist, box, vetoed = score >= gamma, None, None, False
            if faces and e.faces is not None and len(e.faces):
                from .face import MATCH_DISTANCE

                d = [float(np.min(np.linalg.norm(e.faces - f.descriptor, axis=1))) for f in faces]
                k = int(np.argmin(d))
                dist = d[k]
                if dist < FACE_ALONE or (detected and dist < MATCH_DISTANCE):
                    detected, box = True, faces[k].box
                elif detected:  # the patches fired: is a stranger's face where they fired?
                    region = _upsample(sim, img.shape[:2]) >= MASK_LEVEL
                    if any(region[(f.box[0] + f.box[2]) // 2, (f.box[1] + f.box[3]) // 2] for f in faces):
                        detected, vetoed = False, True
            out[e.name] = (score, sim, detected, dist, box, vetoed)
        return out

    def identify(self, img: np.ndarray) -> tuple[str | None, float]:
        """Eq. 8's decision: the best detected entity in ``img`` (or None), and its score."""
        d = self._decide(img)
        hits = [(v[0] - self._gamma(e), e.name, v[0]) for e in self.entities for v in [d[e.name]] if v[2]]
        if not hits:
            return None, max((v[0] for v in d.values()), default=0.0)
        _, name, score = max(hits)
        return name, score

    def __call__(self, img: np.ndarray) -> GuardResult:
        d = self._decide(img)
        mask = np.zeros(img.shape[:2], bool)
        detected, masks, points = [], {}, {}
        for e in self.entities:
            score, sim, hit, _, box, _ = d[e.name]
            if not hit:
                continue
            detected.append(e.name)
            pts = peak_points(sim, max(MASK_LEVEL, min(self._gamma(e), score)), img.shape[:2])
            sure = np.zeros(img.shape[:2], bool)
            if box is not None:
                head = _grow_box(box, FACE_HEAD, img.shape[:2])
                sure[head[0]:head[2], head[1]:head[3]] = True
                pts = np.concatenate([[[(box[0] + box[2]) // 2, (box[1] + box[3]) // 2]], pts]).astype(np.int64)
            points[e.name] = pts
            if hasattr(self.encoder, "mask"):  # SAM: its own mask decoder on the points
                masks[e.name] = self.encoder.mask(img, pts)
            else:
                masks[e.name] = grabcut_mask(img, _region(sim, img.shape[:2], pts) | sure, sure=_seeds(pts, sim, img.shape[:2]) | _shrink(sure))
            mask |= masks[e.name]
        detected.sort(key=lambda n: -(d[n][0] - self._gamma(next(e for e in self.entities if e.name == n))))
        top = detected[0] if detected else None
        prompt = next((e.prompt for e in self.entities if e.name == top), None)
        return GuardResult(mask=mask, entity=top, prompt=prompt,
                           score=d[top][0] if top else 0.0,
                           scores={k: round(v[0], 4) for k, v in d.items()}, detected=detected,
                           masks=masks, points=points,
                           faces={k: round(v[3], 4) for k, v in d.items() if v[3] is not None},
                           vetoed=[k for k, v in d.items() if v[5]])


def _upsample(sim: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(sim, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _region(sim: np.ndarray, shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """The connected parts of ``sim ≥ MASK_LEVEL`` (upsampled) that hold a point prompt."""
    from scipy import ndimage

    labels, _ = ndimage.label(_upsample(sim, shape) >= MASK_LEVEL)
    keep = {int(labels[r, c]) for r, c in points} - {0}
    return np.isin(labels, list(keep))


def _seeds(points: np.ndarray, sim: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Small discs around the point prompts (half a patch): surely the entity."""
    out = np.zeros(shape, bool)
    r = max(2, int(0.5 * shape[0] / sim.shape[0]))
    for y, x in points:
        out[max(y - r, 0): y + r + 1, max(x - r, 0): x + r + 1] = True
    return out


def _grow_box(box, factor: float, shape) -> tuple[int, int, int, int]:
    t, l, b, r = box
    cy, cx, h, w = (t + b) / 2, (l + r) / 2, (b - t) * factor, (r - l) * factor
    return (max(int(cy - h / 2), 0), max(int(cx - w / 2), 0), min(int(cy + h / 2), shape[0]), min(int(cx + w / 2), shape[1]))


def _shrink(m: np.ndarray) -> np.ndarray:
    """The inner half of a box mask (the face itself, not the hair around it)."""
    if not m.any():
        return m
    ys, xs = np.nonzero(m)
    out = np.zeros_like(m)
    h, w = np.ptp(ys) + 1, np.ptp(xs) + 1
    out[ys.min() + h // 4: ys.max() + 1 - h // 4, xs.min() + w // 4: xs.max() + 1 - w // 4] = True
    return out
