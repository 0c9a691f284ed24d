"""The sender's placement hint: which DB sample to put back, where, and in what light.

Bob sees only the hole M̂; its outline fixes the sample's pose to a few pixels, but not
the light the entity was photographed in, nor where texture lies inside a featureless
outline. The sender holds the original and the same DB, so it can do better: it fits
each sample's silhouette to M (as Bob does, :mod:`.aligned`), refines the fit on the
picture's content itself (ECC, ``cv2.findTransformECC``, on grey levels inside M), fits
a per-channel gain and offset, and keeps the candidate, or the pair of them (the second
where the first does not reach: a crop of the suit without the face), with the best
PSNR inside M. The
result is a few dozen bytes that travel sealed with the removed region's mask (AES-GCM
with the DB key, :func:`privsem.codec.softcast.seal`): Bob reads them and pastes the
sample exactly; Eve gets ciphertext. A receiver without the hint (another codec, an old
recording) fits the silhouette alone.

Wire format (:func:`pack_hint`, big-endian): version, layer count, then per layer
(:data:`LAYER_SIZE` bytes) the sample index, flags (bit 0 mirror), the homography's
eight entries (float32, ``h33 = 1``; sample pixels → image pixels), per-channel gain
and offset (float16 each).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from ..imageio import cv2_one_thread

VERSION = 1
_LAYER = ">BB8f6e"
LAYER_SIZE = struct.calcsize(_LAYER)
MAX_LAYERS = 2
ECC_SIDE = 256  # the content fit runs on M's box scaled to at most this many pixels (long side)
# ECC refines only the ECC_TOP registrations that paste best before it (None: all), in at
# most ECC_ITERATIONS steps. On the 24 held-out entity scenes of bench recovery (true
# masks) against all of them in 100 steps: 0.7 s instead of 1.05 s per picture, 0.03 dB
# less in M on average (0.32 at worst).
ECC_TOP = 4
ECC_ITERATIONS = 50
# The light fit may correct exposure and white balance, not wash the sample out: a
# least-squares gain near 0 (a misaligned sample) would trade the individual for a flat,
# lower-MSE patch. The held-out views span ×0.6–1.4 light and ±12 % colour temperature.
GAIN_RANGE = (0.6, 1.6)
OFFSET_RANGE = 0.2


@dataclass
class Placement:
    """Sample ``sample`` of the entity (mirrored first if ``mirror``), warped by
    ``matrix`` float64 (3, 3) (sample → image pixels), then ``gain * x + offset`` per
    RGB channel (float32 (3,) each, pixel values in [0, 1])."""

    sample: int
    mirror: bool
    matrix: np.ndarray
    gain: np.ndarray
    offset: np.ndarray

    def to_bytes(self) -> bytes:
        H = np.asarray(self.matrix, np.float64)
        H = H / H[2, 2]
        return struct.pack(_LAYER, self.sample, int(self.mirror), *H.reshape(-1)[:8],
                           *np.asarray(self.gain, np.float32), *np.asarray(self.offset, np.float32))

    @classmethod
    def from_bytes(cls, data: bytes) -> Placement | None:
        """One layer's :data:`LAYER_SIZE` bytes; None if not finite."""
        v = struct.unpack(_LAYER, data)
        H = np.append(np.asarray(v[2:10], np.float64), 1.0).reshape(3, 3)
        gain, offset = np.asarray(v[10:13], np.float32), np.asarray(v[13:16], np.float32)
        if not (np.isfinite(H).all() and np.isfinite(gain).all() and np.isfinite(offset).all()):
            return None
        return cls(int(v[0]), bool(v[1] & 1), H, gain, offset)


def pack_hint(layers: list[Placement]) -> bytes:
    """Layers (first pasted first) → the hint's bytes."""
    return bytes([VERSION, len(layers)]) + b"".join(p.to_bytes() for p in layers)


def unpack_hint(data: bytes | None) -> list[Placement]:
    """The hint's bytes → its layers; [] for missing, foreign-version, mis-sized or
    non-finite bytes (Bob then fits the outline himself)."""
    if not data or len(data) < 2 or data[0] != VERSION or not 1 <= data[1] <= MAX_LAYERS:
        return []
    if len(data) != 2 + data[1] * LAYER_SIZE:
        return []
    layers = [Placement.from_bytes(data[2 + i * LAYER_SIZE: 2 + (i + 1) * LAYER_SIZE]) for i in range(data[1])]
    return [] if any(p is None for p in layers) else layers


def _grey(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a @ np.float32([0.299, 0.587, 0.114]), dtype=np.float32)


def refine_on_content(image: np.ndarray, mask: np.ndarray, src: np.ndarray, H0: np.ndarray) -> np.ndarray | None:
    """Refine the homography ``H0`` (3, 3; ``src`` pixels → image pixels) so that the
    warped ``src`` (float32 ``(h, w, 3)``) matches ``image`` (float32 ``(H, W, 3)``)
    inside ``mask`` (bool ``(H, W)``): ECC on grey levels, on M's box at most
    :data:`ECC_SIDE` px. None when ECC does not converge."""
    import cv2

    ys, xs = np.nonzero(mask)
    pad = 4
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, mask.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, mask.shape[1])
    f = min(1.0, ECC_SIDE / max(y1 - y0, x1 - x0))
    S = np.array([[f, 0, -f * x0], [0, f, -f * y0], [0, 0, 1]])  # image → box pixels
    size = (max(8, round((x1 - x0) * f)), max(8, round((y1 - y0) * f)))
    target = cv2.warpPerspective(_grey(image), S, size, flags=cv2.INTER_AREA)
    where = cv2.warpPerspective(mask.astype(np.uint8), S, size, flags=cv2.INTER_NEAREST)
    where = cv2.erode(where, np.ones((3, 3), np.uint8))
    if where.sum() < 64:
        return None
    warp0 = S @ H0
    moved = cv2.warpPerspective(_grey(src), warp0, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    try:
        with cv2_one_thread():
            _, W = cv2.findTransformECC(target, moved, np.eye(3, dtype=np.float32), cv2.MOTION_HOMOGRAPHY,
                                        (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ECC_ITERATIONS, 1e-5), where, 5)
    except cv2.error:
        return None
    # W maps box pixels into the moved sample's: the sample → image map is S⁻¹ · W⁻¹ · S · H0
    out = np.linalg.inv(S) @ np.linalg.inv(W.astype(np.float64)) @ warp0
    return out if np.isfinite(out).all() else None


MIN_INLIERS = 12  # feature matches a homography must explain to count as a registration
RATIO = 0.8  # Lowe's ratio test (RANSAC and the squared-error choice weed out what it lets through)


def sift_features(image: np.ndarray, mask: np.ndarray):
    """SIFT keypoints and descriptors of float32 ``(H, W, 3)`` ``image`` inside bool
    ``mask``: (keypoints, float32 ``(n, 128)`` or None)."""
    import cv2

    u8 = np.ascontiguousarray(np.clip(_grey(image) * 255 + 0.5, 0, 255).astype(np.uint8))
    with cv2_one_thread():
        # half OpenCV's default contrast threshold: a small, blurred, dimly lit entity
        # (a 130 px cat at ×0.7 light) has too few keypoints at the default
        return cv2.SIFT_create(nfeatures=3000, contrastThreshold=0.02).detectAndCompute(u8, mask.astype(np.uint8))


def sample_features(src: np.ndarray, smask: np.ndarray):
    """:func:`sift_features` of a DB sample view, kept per process (a sender registers
    the same samples for every picture it guards)."""
    key = (hashlib.sha1(np.ascontiguousarray(src).tobytes()).hexdigest(), src.shape,
           hashlib.sha1(np.packbits(smask)).hexdigest())
    return _remembered(_SAMPLE_FEATURES, 256, key, lambda: sift_features(src, smask))


_SAMPLE_FEATURES: dict = {}  # (sample pixels, silhouette) → SIFT keypoints and descriptors


def _remembered(cache: dict, limit: int, key, make):
    """``cache[key]``, made by ``make()`` when missing; the oldest entries go beyond ``limit``."""
    if key not in cache:
        cache[key] = make()
        while len(cache) > limit:
            cache.pop(next(iter(cache)))
    return cache[key]


def match_features(src_features, image_features) -> np.ndarray | None:
    """A homography (3, 3; sample pixels → image pixels) from a sample's
    :func:`sift_features` inside its silhouette matched to the image's inside M (ratio
    test, RANSAC); None with fewer than :data:`MIN_INLIERS` inliers. Unlike the outline,
    texture fixes scale and position where the frame cuts the entity (a cat's head
    filling the picture)."""
    import cv2

    (k1, d1), (k2, d2) = src_features, image_features
    if d1 is None or d2 is None or len(k1) < MIN_INLIERS or len(k2) < MIN_INLIERS:
        return None
    with cv2_one_thread():
        pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(d1, d2, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
        if len(good) < MIN_INLIERS:
            return None
        a = np.float32([k1[m.queryIdx].pt for m in good])
        b = np.float32([k2[m.trainIdx].pt for m in good])
        Hm, inl = cv2.findHomography(a, b, cv2.RANSAC, 4.0)
    if Hm is None or inl is None or int(inl.sum()) < MIN_INLIERS or not np.isfinite(Hm).all():
        return None
    return Hm.astype(np.float64)


def fit_light(image: np.ndarray, warped: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel least-squares ``gain * warped + offset ≈ image`` over ``where``
    (bool ``(H, W)``); gains clipped to :data:`GAIN_RANGE`, offsets to ±:data:`OFFSET_RANGE`."""
    gain, offset = np.ones(3, np.float32), np.zeros(3, np.float32)
    if where.sum() < 16:
        return gain, offset
    for c in range(3):
        a, b = warped[..., c][where].astype(np.float64), image[..., c][where].astype(np.float64)
        va = a.var()
        g = np.cov(a, b, bias=True)[0, 1] / va if va > 1e-8 else 1.0
        g = float(np.clip(g, *GAIN_RANGE))
        gain[c], offset[c] = g, np.clip(b.mean() - g * a.mean(), -OFFSET_RANGE, OFFSET_RANGE)
    return gain, offset


def sender_placement(image: np.ndarray, mask: np.ndarray, samples: list) -> list[Placement]:
    """The sender's placement layers of ``samples`` (list of (float32 ``(h, w, 3)``,
    bool ``(h, w)`` silhouette), the DB's order) over ``mask`` in ``image`` (the
    original, float32 ``(H, W, 3)``). Candidates: per sample, the silhouette's fit and
    the SIFT registration (:func:`match_features`, as is and mirrored), the best few
    also refined by ECC, each with its light. The result is the one candidate, or the pair (the
    second covering what the first leaves to the smooth fill: the face a crop of the
    suit lacks), whose paste has the least squared error inside ``mask``. A pair is
    judged as a whole: a correct crop plus a second view beats one whole view laid in
    wrong, which a single best candidate would pick. [] when ``mask`` is empty or no
    sample has a silhouette."""
    from .classical import push_pull_fill

    if not mask.any():
        return []
    holed = np.where(mask[..., None], 0.0, image).astype(np.float32)
    fill = push_pull_fill(holed, mask)  # what Bob puts where the sample does not reach
    fill_err = np.sum((fill[mask] - image[mask]) ** 2, axis=-1)
    cands = _candidates(image, mask, samples, fill, fill_err)
    return [cands[k][2] for k in _choose(cands, fill_err)[0]]


def _choose(cands: list, fill_err: np.ndarray) -> tuple[tuple[int, ...], float]:
    """The candidate, or ordered pair, of least mean squared error inside M (``fill_err``
    float (n,): the fill's, where no candidate reaches): (indices, that error)."""
    best, best_err = (), np.inf
    for a, (err_a, cov_a, _) in enumerate(cands):
        own = _alone(cands[a], fill_err)
        if own < best_err:
            best, best_err = (a,), own
        for b, (err_b, cov_b, _) in enumerate(cands):
            if b != a and (cov_b & ~cov_a).any():
                total = np.where(cov_a, err_a, np.where(cov_b, err_b, fill_err)).mean()
                if total < best_err:
                    best, best_err = (a, b), total
    return best, float(best_err)


def _alone(cand, fill_err: np.ndarray) -> float:
    """Mean squared error inside M of one candidate pasted alone (the fill elsewhere)."""
    err, covered, _ = cand
    return float(np.where(covered, err, fill_err).mean())


def _candidates(image, mask, samples, fill, fill_err) -> list:
    """Every sample's registrations over ``mask`` (bool ``(H, W)``): the silhouette's
    fit and SIFT's, as is and mirrored; the :data:`ECC_TOP` of them that paste best
    alone are also refined by ECC. As (squared error per pixel of ``mask`` float (n,),
    covered bool (n,), :class:`Placement`)."""
    from .aligned import fit_sample

    starts = []  # (sample index, mirrored, pixels, silhouette, homography)
    image_features = sift_features(image, mask)
    for i, (src, smask) in enumerate(samples):
        if not smask.any() or i > 255:
            continue
        views = {False: (src, smask),  # the sample as is and mirrored: (pixels, silhouette)
                 True: (np.ascontiguousarray(src[:, ::-1]), np.ascontiguousarray(smask[:, ::-1]))}
        mirror, H0 = fit_sample(smask, mask)
        starts.append((i, mirror, *views[mirror], H0))
        for mirror, (m_src, m_mask) in views.items():
            H1 = match_features(sample_features(m_src, m_mask), image_features)
            if H1 is not None:
                starts.append((i, mirror, m_src, m_mask, H1))
    cands = []
    for i, mirror, m_src, m_mask, M in starts:
        err, covered, gain, offset = _score(image, mask, fill, m_src, m_mask, M)
        cands.append((err, covered[mask], Placement(i, mirror, M, gain, offset)))
    for k in np.argsort([_alone(c, fill_err) for c in cands])[:ECC_TOP]:
        i, mirror, m_src, m_mask, H0 = starts[k]
        M = refine_on_content(image, mask, m_src, H0)
        if M is not None:
            err, covered, gain, offset = _score(image, mask, fill, m_src, m_mask, M)
            cands.append((err, covered[mask], Placement(i, mirror, M, gain, offset)))
    return cands


def _score(image, mask, fill, src, smask, M):
    """What Bob would paste over ``mask`` with ``M`` and its fitted light (as
    :func:`.aligned._place` does it: the lit, warped sample where its silhouette lands,
    ``fill`` elsewhere; the light is per-channel affine, so it is applied after the warp):
    (squared error per pixel of ``mask``, float (n,); covered bool ``(H, W)``; gain; offset)."""
    import cv2

    H, W = mask.shape
    warped = cv2.warpPerspective(src, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    covered = (cv2.warpPerspective(smask.astype(np.uint8), M, (W, H), flags=cv2.INTER_NEAREST) > 0) & mask
    gain, offset = fit_light(image, warped, covered)
    out = np.where(covered[..., None], np.clip(warped * gain + offset, 0, 1), fill)
    return np.sum((out[mask] - image[mask]) ** 2, axis=-1), covered, gain, offset


def placement_hint(db, entity: str | None, image: np.ndarray, mask: np.ndarray) -> bytes | None:
    """The sealed-side-information bytes for removing ``entity`` (its DB name) over
    ``mask`` from ``image`` (float32 ``(H, W, 3)``, the original): :func:`sender_placement`
    over the entity's samples in Bob's order. None without an entity, a mask, or
    silhouettes in the DB (an old DB: Bob then fits the outline alone)."""
    from ..errors import PrivsemError
    from .aligned import with_silhouettes
    from .build import db_samples

    found = [e for e in getattr(db, "entities", []) if e.name == entity]
    if not found or not mask.any():
        return None
    try:
        db.require_current()
    except PrivsemError:
        return None
    # an evaluation sends one picture at many SNRs and channels: register it once
    key = (str(getattr(db, "root", "")), entity, tuple(map(str, found[0].samples)), image.shape,
           hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest(), hashlib.sha1(np.packbits(mask)).hexdigest())

    def register() -> bytes | None:
        layers = sender_placement(image, mask, with_silhouettes(db_samples(db, found[0])()))
        return pack_hint(layers) if layers else None

    return _remembered(_HINTS, 64, key, register)


_HINTS: dict = {}  # (DB, entity, picture, mask) → hint bytes
