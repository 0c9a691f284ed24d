"""The privacy guard G (Algorithm 1): detect DB entities, segment them, remove them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .matcher import detection_score, peak_points, similarity_map
from .refiner import refine_mask

MASK_LEVEL = 0.65  # mask level as a fraction of Γ: the body of an entity scores lower than its peak
# (chosen on the calibration scenes of privsem.database.scenes — mean IoU 0.79 there —
# lower levels fit the scenes a little better but leak into the background of full photos)


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
    """

    mask: np.ndarray
    entity: str | None
    prompt: str | None
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    detected: list[str] = field(default_factory=list)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    points: dict[str, np.ndarray] = field(default_factory=dict)


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

    Args:
        db: an open :class:`~privsem.database.PrivacyDB` (features f_k, Γ_k, μ).
        encoder: overrides the DB's encoder (must be the one its features came from).
        threshold: overrides every entity's Γ.
    """

    def __init__(self, db, encoder=None, threshold: float | None = None) -> None:
        self.db = db
        self.encoder = encoder or db.encoder()
        self.threshold = threshold

    def _gamma(self, entity) -> float:
        return self.threshold if self.threshold is not None else entity.threshold

    def _scores(self, feats: np.ndarray) -> dict[str, tuple[float, np.ndarray]]:
        return {e.name: (detection_score(sim), sim)
                for e in self.db.entities
                for sim in [similarity_map(feats, e.feature, self.db.mu)]}

    def identify(self, img: np.ndarray) -> tuple[str | None, float]:
        """Eq. 8's decision: the best entity at or above its Γ in ``img`` (or None), and
        its score."""
        scores = self._scores(self.encoder.features(img))
        best = None, float("-inf")
        for e in self.db.entities:
            s = scores[e.name][0]
            if s >= self._gamma(e) and s > best[1]:
                best = e.name, s
        if best[0] is None:
            return None, max((v[0] for v in scores.values()), default=0.0)
        return best

    def __call__(self, img: np.ndarray) -> GuardResult:
        scores = self._scores(self.encoder.features(img))
        mask = np.zeros(img.shape[:2], bool)
        detected, masks, points = [], {}, {}
        for e in self.db.entities:
            score, sim = scores[e.name]
            gamma = self._gamma(e)
            if score < gamma:
                continue
            detected.append(e.name)
            points[e.name] = peak_points(sim, gamma, img.shape[:2])
            if hasattr(self.encoder, "mask"):  # SAM: its own mask decoder on the points
                masks[e.name] = self.encoder.mask(img, points[e.name])
            else:
                masks[e.name] = refine_mask(img, sim, MASK_LEVEL * gamma, points[e.name])
            mask |= masks[e.name]
        detected.sort(key=lambda n: -scores[n][0])
        top = detected[0] if detected else None
        prompt = next((e.prompt for e in self.db.entities if e.name == top), None)
        return GuardResult(mask=mask, entity=top, prompt=prompt,
                           score=scores[top][0] if top else 0.0,
                           scores={k: round(v[0], 4) for k, v in scores.items()}, detected=detected,
                           masks=masks, points=points)
