"""Entity prototypes and the negative bank: what the guard compares patches against.

An entity is described by its own pixels only: the patch features that fall inside each
sample's silhouette, taken at several scales and mirrored (an entity seen smaller,
larger or from the other side still matches), clustered into ``P`` prototypes. Next to
them a bank of negative prototypes: patches of generic pictures and of the samples' own
surroundings (and, after ``db calibrate``, the patches of other people and animals that
came closest). A patch belongs to the entity when it is nearer to one of its prototypes
than to anything in the bank (see :func:`privsem.guard.matcher.patch_scores`).

All vectors are centred on μ (the DB's generic mean feature) and L2-normalised.
"""

from __future__ import annotations

import numpy as np

# entity's long side in pixels when its features are taken: scenes show entities from
# about 100 px (small in a 512-px frame) to the whole frame
SCALES = (112, 192, 320)
PROTOTYPES = 512
NEGATIVES = 1024
INSIDE, OUTSIDE = 0.6, 0.05  # share of a patch the silhouette must cover / may touch


def normalize(v: np.ndarray) -> np.ndarray:
    return (v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 20) -> np.ndarray:
    """Spherical k-means of unit rows ``x`` float32 ``(n, d)``: ``(min(k, n), d)`` unit
    centres (k-means++ start, deterministic in ``seed``)."""
    n = len(x)
    if n <= k:
        return x.astype(np.float32)
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(n)]]
    best = 1 - x @ centres[0]
    for _ in range(1, k):
        p = np.maximum(best, 0) ** 2
        c = x[rng.choice(n, p=p / p.sum())] if p.sum() > 0 else x[rng.integers(n)]
        centres.append(c)
        best = np.minimum(best, 1 - x @ c)
    c = np.stack(centres)
    for _ in range(iters):
        assign = np.argmax(x @ c.T, axis=1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                c[j] = members.sum(0)
        c = normalize(c)
    return c


def _grid_cover(mask: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Share of each feature-grid cell covered by ``mask``: float32 ``(h, w)``."""
    import cv2

    return cv2.resize(mask.astype(np.float32), (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def _rescale(img: np.ndarray, mask: np.ndarray, long_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Resize so that the entity's bounding box has ``long_side`` pixels (the image at
    most 512 on its long side, as the encoder sees scenes)."""
    import cv2

    ys, xs = np.nonzero(mask)
    f = long_side / max(np.ptp(ys) + 1, np.ptp(xs) + 1)
    f = min(f, 512 / max(img.shape[:2]))
    hw = (max(16, round(img.shape[0] * f)), max(16, round(img.shape[1] * f)))
    im = cv2.resize(img, hw[::-1], interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    m = cv2.resize(mask.astype(np.uint8), hw[::-1], interpolation=cv2.INTER_NEAREST) > 0
    return im, m


def sample_patches(encoder, img: np.ndarray, mask: np.ndarray, mu: np.ndarray,
                   scales=SCALES) -> tuple[np.ndarray, np.ndarray]:
    """Centred unit patch features inside and outside the silhouette of one sample,
    over ``scales`` and its mirror: ``(inside (n, d), outside (m, d))`` float32."""
    inside, outside = [], []
    for s in scales:
        im, m = _rescale(img, mask, s)
        for flip in (False, True):
            a, b = (im[:, ::-1], m[:, ::-1]) if flip else (im, m)
            f = encoder.features(np.ascontiguousarray(a))
            cover = _grid_cover(b, f.shape[:2])
            v = normalize(f - mu)
            inside.append(v[cover >= INSIDE])
            if cover.max() < INSIDE:  # tiny at this scale: its best-covered cells
                inside.append(v[cover >= 0.5 * cover.max()])
            outside.append(v[cover <= OUTSIDE])
    return np.concatenate(inside), np.concatenate(outside)


def generic_patches(feature_maps, mu: np.ndarray, per_image: int = 400, seed: int = 0) -> np.ndarray:
    """Up to ``per_image`` centred unit patches of each generic picture's map."""
    rng = np.random.default_rng(seed)
    out = []
    for f in feature_maps:
        v = normalize(f.reshape(-1, f.shape[-1]) - mu)
        out.append(v[rng.permutation(len(v))[:per_image]])
    return np.concatenate(out)


def build(encoder, samples: list[tuple[np.ndarray, np.ndarray]], mu: np.ndarray, generic: np.ndarray,
          others: list[np.ndarray] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Prototypes and negative bank of one entity.

    Args:
        samples: (image float32 ``(H, W, 3)``, silhouette bool ``(H, W)``) per sample.
        generic: centred unit patches of generic pictures ``(g, d)``.
        others: prototypes of the DB's other entities (each ``(p, d)``): they join the
            bank, so one entity is not mistaken for another.

    Returns:
        ``(prototypes (≤ PROTOTYPES, d), negatives (≤ NEGATIVES, d))`` float32 unit rows.
    """
    ins, outs = zip(*(sample_patches(encoder, im, m, mu) for im, m in samples))
    protos = kmeans(np.concatenate(ins), PROTOTYPES)
    bank = np.concatenate([generic, *outs, *others])
    return protos, kmeans(bank, NEGATIVES, seed=1)
