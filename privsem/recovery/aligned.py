"""Bob's aligned exemplar: put the individual back where the hole says it was.

The hole M̂ is the entity's silhouette: it tells position, scale, orientation and pose.
Bob holds photos of the individual with their silhouettes (the privacy DB). For the
entity the header names, every sample's silhouette is fitted to M̂ by a similarity
transform (scale, rotation, translation, mirror): image moments give the start, a local
search on the IoU of the warped silhouette with M̂ the finish. The best-fitting sample is
warped into place, its colour and light are matched to the ring of pixels around M̂
(against the same ring around its own silhouette in the sample), and it is blended in
with Poisson blending (OpenCV ``seamlessClone``); what the sample does not cover is
filled smoothly. Pixels outside M̂ are returned bit-exact. Scene completion and Photo
Clip Art work this way; here it needs no learned model and well under a second. A few
low-noise steps of Bob's fine-tuned U-Net then remove the seams
(:class:`~privsem.recovery.generative.DiffusionRecovery` with this as ``exemplar``).
Eve has no samples and cannot do any of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..imageio import cv2_one_thread
from .base import Recovery
from .classical import push_pull_fill
from .exemplar import resolve_prompt

UNKNOWN_PROMPT_COSINE = 0.5  # a received î farther than this from every DB prompt names no entity
FIT_SIDE = 128  # the silhouettes are fitted at this resolution (pixels, long side of the search box)
RING = 6  # pixels of the ring around a silhouette whose colour is matched
CUT_WEIGHT = 1.0  # what a sample loses per share of its outline cut by its frame (a crop of part of the entity);
# chosen on calibration scenes: 0 → 1 took the guard's re-identification of Bob's paste from 25 % to 38 %
UPRIGHT = np.radians(40)  # people and animals stand upright in photos: turns beyond this cost IoU ...
TILT_WEIGHT = 0.3  # ... at this much per π radians (a square silhouette fits as well upside down)


@dataclass
class Fit:
    """A transform from a sample into the image: ``matrix`` float64 (3, 3) homography
    (sample → image pixels; a similarity refined for perspective), the sample's index,
    mirror flag, and the IoU of the warped silhouette with M̂."""

    matrix: np.ndarray
    sample: int
    mirror: bool
    iou: float


def _moments(mask: np.ndarray) -> tuple[float, float, float, float, float]:
    """Centroid (y, x), area, principal-axis angle (radians) and elongation (ratio of
    the second moments' eigenvalues, ≥ 1) of a bool mask."""
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    dy, dx = ys - cy, xs - cx
    a, b, c = (dx * dx).mean(), (dy * dy).mean(), (dx * dy).mean()
    angle = 0.5 * np.arctan2(2 * c, a - b)
    root = np.sqrt(((a - b) / 2) ** 2 + c * c)
    elong = ((a + b) / 2 + root) / max((a + b) / 2 - root, 1e-9)
    return float(cy), float(cx), float(len(ys)), float(angle), float(elong)


def _matrix(scale: float, angle: float, src_c: tuple[float, float], dst_c: tuple[float, float]) -> np.ndarray:
    """Affine (2, 3) that rotates by ``angle`` (radians) and scales about ``src_c`` (y, x),
    then moves it to ``dst_c``."""
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    A = np.array([[c, -s], [s, c]])
    t = np.array([dst_c[1], dst_c[0]]) - A @ np.array([src_c[1], src_c[0]])
    return np.hstack([A, t[:, None]])


def _warp_mask(mask: np.ndarray, M: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.warpAffine(mask.astype(np.uint8), M, (shape[1], shape[0]), flags=cv2.INTER_NEAREST) > 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    u = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / u) if u else 0.0


def tilt_penalty(angle: float) -> float:
    """What a fit loses for turning the sample by ``angle`` radians: nothing up to
    :data:`UPRIGHT`, then :data:`TILT_WEIGHT` per π (the DB's photos and the scene are
    both taken upright, so an upside-down fit of a symmetric outline is the wrong one)."""
    a = abs((angle + np.pi) % (2 * np.pi) - np.pi)
    return TILT_WEIGHT * max(0.0, a - UPRIGHT) / np.pi


def fit_silhouette(sample_mask: np.ndarray, hole: np.ndarray, iters: int = 3) -> tuple[np.ndarray, bool, float]:
    """The similarity transform that best lays ``sample_mask`` (bool ``(h, w)``) over
    ``hole`` (bool ``(H, W)``): moments first, then coordinate search on IoU (less
    :func:`tilt_penalty`) over scale, angle and shift, for the sample as it is and
    mirrored. Returns (matrix (2, 3) sample → hole pixels, mirrored, IoU)."""
    ys, xs = np.nonzero(hole)
    pad = int(0.3 * max(np.ptp(ys), np.ptp(xs))) + 2
    y0, x0 = max(ys.min() - pad, 0), max(xs.min() - pad, 0)
    box = hole[y0: ys.max() + pad + 1, x0: xs.max() + pad + 1]
    f = min(1.0, FIT_SIDE / max(box.shape))  # fit at low resolution, then scale back
    import cv2

    small = cv2.resize(box.astype(np.uint8), (max(1, round(box.shape[1] * f)), max(1, round(box.shape[0] * f))),
                       interpolation=cv2.INTER_AREA) > 0
    if not small.any():
        small = cv2.resize(box.astype(np.uint8), (max(1, round(box.shape[1] * f)), max(1, round(box.shape[0] * f))),
                           interpolation=cv2.INTER_NEAREST) > 0
    hy, hx, harea, hangle, helong = _moments(small)
    best = (-1.0, None, False)
    for mirror in (False, True):
        m = sample_mask[:, ::-1] if mirror else sample_mask
        sy, sx, sarea, sangle, selong = _moments(m)
        # a round or square outline has no principal axis to start from: start from several turns
        turns = (0.0,) if min(helong, selong) > 1.25 else np.radians([-30, -15, 0, 15, 30])
        scale0 = np.sqrt(harea / sarea)
        def score_of(q, m=m, c=(sy, sx)):
            return _iou(_warp_mask(m, _matrix(q[0], q[1], c, (q[2], q[3])), small.shape), small) - tilt_penalty(q[1])

        for flip in [f + t for f in (0.0, np.pi / 2, np.pi, -np.pi / 2) for t in turns]:
            # the principal axis has no direction, and a square no single axis
            p = np.array([scale0, hangle - sangle + flip, hy, hx])
            score = score_of(p)
            steps = np.array([0.08 * scale0, np.radians(6), 0.03 * max(small.shape), 0.03 * max(small.shape)])
            for _ in range(iters):
                for k in range(4):
                    for sign in (-1, 1):
                        q = p.copy()
                        q[k] += sign * steps[k]
                        s = score_of(q)
                        if s > score:
                            p, score = q, s
                steps /= 2
            if score > best[0]:
                best = (score, (p, (sy, sx)), mirror)
    score, (p, src_c), mirror = best
    # back to full resolution: the hole's box offset and the 1/f scale
    M = _matrix(p[0] / f, p[1], src_c, (p[2] / f + y0, p[3] / f + x0))
    return M, mirror, score + tilt_penalty(p[1])


def cut_fraction(mask: np.ndarray) -> float:
    """Share of the silhouette's outline that runs along the picture's frame."""
    from scipy import ndimage

    edge = mask & ~ndimage.binary_erosion(mask, border_value=1)
    frame = np.zeros_like(mask)
    frame[0], frame[-1], frame[:, 0], frame[:, -1] = True, True, True, True
    outline = edge | (mask & frame)
    return float((outline & frame).sum() / max(outline.sum(), 1))


def refine_homography(sample_mask: np.ndarray, hole: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, float]:
    """Refine the similarity ``M`` (2, 3) into a homography (3, 3) that lays the
    sample's silhouette over the hole (views differ by perspective too): ECC
    (``cv2.findTransformECC``) between the blurred silhouettes, on the hole's box at
    most :data:`FIT_SIDE`·2 px. Returns (H sample → image pixels, IoU); ``M`` itself
    (as a homography) when ECC does not improve the IoU."""
    import cv2

    H0 = np.vstack([M, [0, 0, 1]])
    ys, xs = np.nonzero(hole)
    pad = int(0.2 * max(np.ptp(ys), np.ptp(xs))) + 4
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, hole.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, hole.shape[1])
    f = min(1.0, 2 * FIT_SIDE / max(y1 - y0, x1 - x0))
    S = np.array([[f, 0, -f * x0], [0, f, -f * y0], [0, 0, 1]])  # image → box pixels
    size = (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f)))
    target = cv2.resize(hole[y0:y1, x0:x1].astype(np.float32), size, interpolation=cv2.INTER_AREA)
    warp0 = S @ H0
    moved = lambda W: cv2.warpPerspective(sample_mask.astype(np.float32), W, size, flags=cv2.INTER_LINEAR)
    iou0 = _iou(moved(warp0) > 0.5, target > 0.5)
    sigma = max(1.0, 0.02 * max(size))
    blur = lambda a: cv2.GaussianBlur(a, (0, 0), sigma)
    try:
        # ECC warps the input's coordinates into the template's: find W with input(W·x) ≈ template(x)
        src = cv2.warpPerspective(sample_mask.astype(np.float32), warp0, size, flags=cv2.INTER_LINEAR)
        W = np.eye(3, dtype=np.float32)
        with cv2_one_thread():
            _, W = cv2.findTransformECC(blur(target), blur(src), W, cv2.MOTION_HOMOGRAPHY,
                                        (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5), None, 5)
        warp = np.linalg.inv(W.astype(np.float64)) @ warp0
    except cv2.error:
        return H0, iou0
    iou = _iou(moved(warp) > 0.5, target > 0.5)
    if iou <= iou0:
        return H0, iou0
    return np.linalg.inv(S) @ warp, iou


def with_silhouettes(pairs: list) -> list:
    """The (image, silhouette) pairs whose silhouette is not empty: the samples a fit,
    and a placement hint's sample index, count."""
    return [(im, m) for im, m in pairs if m.any()]


def fit_sample(sample_mask: np.ndarray, hole: np.ndarray) -> tuple[bool, np.ndarray]:
    """One sample's silhouette fit to ``hole``: (mirrored, homography (3, 3) from the
    (mirrored) sample's pixels to the image's)."""
    M, mirror, _ = fit_silhouette(sample_mask, hole)
    m = np.ascontiguousarray(sample_mask[:, ::-1]) if mirror else sample_mask
    return mirror, refine_homography(m, hole, M)[0]


class AlignedExemplar(Recovery):
    """``AlignedExemplar(entities, prompt_embeddings)(image, mask, î) -> image``.

    Args:
        entities: per DB entity, a callable returning its samples as a list of
            (image float32 ``(h, w, 3)`` in [0, 1], silhouette bool ``(h, w)``) (read
            lazily, decrypting an encrypted DB).
        prompt_embeddings: float32 ``(N, d)`` embeddings of the entities' prompts.
    """

    name = "aligned"
    takes_placement = True  # __call__(placement=...): the sender's sealed hint

    def __init__(self, entities: list, prompt_embeddings: np.ndarray, light: bool = False,
                 poisson: bool = False) -> None:
        self.entities, self.prompt_embeddings = entities, prompt_embeddings
        self.light, self.poisson = light, poisson
        self._cache: dict[int, list] = {}
        self.last_fit: Fit | None = None
        self.last_entity: int | None = None
        self.last_covered: np.ndarray | None = None  # bool (H, W): the part of M̂ the last paste covered

    def _samples(self, k: int) -> list:
        if k not in self._cache:
            self._cache[k] = with_silhouettes(self.entities[k]())
        return self._cache[k]

    def fit(self, k: int, hole: np.ndarray) -> Fit | None:
        """The best (sample, transform) of entity ``k`` for ``hole``, or None (no sample).
        A sample ranks by its silhouette's IoU with the hole, less :data:`CUT_WEIGHT`
        times the share of its outline that is its picture's frame beyond the hole's own
        (a crop of the eyes fits any blob; a view of the whole entity is what fits)."""
        best, rank = None, -np.inf
        own_cut = cut_fraction(hole)
        for i, (_, m) in enumerate(self._samples(k)):
            M, mirror, iou = fit_silhouette(m, hole)
            r = iou - CUT_WEIGHT * max(0.0, cut_fraction(m) - own_cut)
            if r > rank:
                best, rank = Fit(M, i, mirror, iou), r
        if best is not None:
            m = self._samples(k)[best.sample][1]
            m = np.ascontiguousarray(m[:, ::-1]) if best.mirror else m
            best.matrix, best.iou = refine_homography(m, hole, best.matrix)
        return best

    def __call__(self, image, mask, prompt_embedding=None, steps=0, seed=0, placement: bytes | None = None):
        """float32 ``(H, W, 3)``, bool ``(H, W)`` → float32 ``(H, W, 3)``; unchanged outside
        ``mask``. Without a prompt that names a DB entity, a smooth fill (Bob cannot tell
        whom to put back). ``placement``: the sender's hint (:mod:`.placement`): its
        sample, transform and light replace the silhouette fit; unreadable or naming a
        sample the entity does not have, it is ignored."""
        self.last_fit = self.last_entity = self.last_covered = None
        if not mask.any():
            return image.copy()
        fill = push_pull_fill(image, mask)
        if prompt_embedding is None or not len(self.prompt_embeddings) or (~mask).sum() == 0:
            return fill
        k, cos = resolve_prompt(prompt_embedding, self.prompt_embeddings)
        if cos < UNKNOWN_PROMPT_COSINE:
            return fill
        from .placement import unpack_hint

        layers = unpack_hint(placement)
        if layers and all(p.sample < len(self._samples(k)) for p in layers):
            return self._paste_layers(image, mask, fill, k, layers)
        fit = self.fit(k, mask)
        if fit is None:
            return fill
        self.last_entity, self.last_fit = k, fit
        src, smask = self._samples(k)[fit.sample]
        if fit.mirror:
            src, smask = src[:, ::-1], smask[:, ::-1]
        out, self.last_covered = _place(image, mask, fill, np.ascontiguousarray(src), np.ascontiguousarray(smask),
                                        fit.matrix, self.light, self.poisson)
        return out

    def _paste_layers(self, image, mask, fill, k: int, layers: list) -> np.ndarray:
        """The sender's placement: each layer's sample, lit and warped, over what the
        layers before it left uncovered."""
        out, covered = image, np.zeros_like(mask)
        for p in layers:
            src, smask = self._samples(k)[p.sample]
            if p.mirror:
                src, smask = src[:, ::-1], smask[:, ::-1]
            lit = np.ascontiguousarray(src * p.gain + p.offset, dtype=np.float32)
            out, part = _place(out, mask & ~covered, fill, lit, np.ascontiguousarray(smask), p.matrix,
                               False, self.poisson)
            covered |= part
        self.last_entity, self.last_fit, self.last_covered = k, Fit(layers[0].matrix, layers[0].sample,
                                                                    layers[0].mirror, float("nan")), covered
        return out

    def samples(self, k: int) -> list:
        """Entity ``k``'s samples with a silhouette, as (image, mask) pairs in the DB's order:
        the list a placement hint's sample index refers to."""
        return self._samples(k)


def _ring(mask: np.ndarray, width: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=width) & ~mask


def _place(image, hole, fill, src, smask, M, light: bool = False,
           poisson: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``src`` by the homography ``M`` (3, 3) into the image; with ``light``, match
    its colour to the ring around the hole; with ``poisson``, Poisson-blend it; keep
    every pixel outside the hole bit-exact. Returns (image float32 ``(H, W, 3)``, bool
    ``(H, W)``: the part of the hole the warped sample covers)."""
    import cv2

    H, W = hole.shape
    warped = cv2.warpPerspective(src, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    covered = cv2.warpPerspective(smask.astype(np.uint8), M, (W, H), flags=cv2.INTER_NEAREST) > 0
    # light and colour: the scene's ring around M̂ against the sample's ring around its silhouette
    scene_ring, sample_ring = _ring(hole, RING) & ~hole, _ring(smask, RING)
    if light and scene_ring.sum() >= 16 and sample_ring.sum() >= 16:
        gain = (np.median(image[scene_ring], 0) + 0.02) / (np.median(src[sample_ring], 0) + 0.02)
        warped = warped * np.clip(gain, 0.6, 1.6).astype(np.float32)
    covered &= hole
    content = np.where(covered[..., None], np.clip(warped, 0, 1), fill)
    if not poisson:
        out = image.copy()
        out[hole] = content[hole]
        return out, covered
    # Poisson blending inside a reflected 8-px frame, so that a hole on the border blends too
    P = 8
    pad = lambda a: cv2.copyMakeBorder(np.ascontiguousarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)),
                                       P, P, P, P, cv2.BORDER_REFLECT)
    region = np.zeros((H + 2 * P, W + 2 * P), np.uint8)
    region[P:-P, P:-P] = cv2.dilate(hole.astype(np.uint8), np.ones((5, 5), np.uint8)) * 255
    region[:2], region[-2:], region[:, :2], region[:, -2:] = 0, 0, 0, 0
    ys, xs = np.nonzero(region)
    centre = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    blended = cv2.seamlessClone(pad(content), pad(fill), region, centre, cv2.NORMAL_CLONE)
    content = blended[P:-P, P:-P].astype(np.float32) / 255.0
    out = image.copy()
    out[hole] = content[hole]
    return out, covered
