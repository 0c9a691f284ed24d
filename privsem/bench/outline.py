"""``privsem bench outline``: what Eve can infer of the removed region's outline when the
mask is sealed, for each way of filling the hole.

Per held-out scene (``privsem.database.scenes``, views the guard never saw): the
region is filled (smooth, or textured as a sealed mask sends it), sent with softcast at
``snr_db`` over AWGN, and the optimistic attacker
(:func:`~privsem.metrics.outline.flattest_region`, told the region's area) guesses it
from what Eve receives. Rows give the IoU of its guess with the true mask, the IoU a
random guess of that area would get, and the PSNR outside the region (what the fill
costs everyone else).
"""

from __future__ import annotations

import numpy as np


def run(n_scenes: int = 8, snr_db: float = 10.0, kn: str = "1/6", seed: int = 0) -> dict:
    from ..codec.fill import smooth_fill, textured_fill
    from ..codec.link import receive_zf
    from ..codec.softcast import SoftCastCodec, known_hole
    from ..database.scenes import entity_scenes
    from ..metrics.image import mask_iou
    from ..metrics.outline import flattest_region

    scenes = entity_scenes("heldout", n_scenes, seed)
    codec = SoftCastCodec(kn)
    rows = []
    for name, fill in (("smooth", smooth_fill), ("textured", textured_fill)):
        iou, chance, outside = [], [], []
        for i, sc in enumerate(scenes):
            hole, area = known_hole(sc.mask), int(sc.mask.sum())
            filled = fill(sc.image, hole).transpose(2, 0, 1).astype(np.float64)
            n = codec.n_symbols(sc.mask.shape)
            x, side = codec.encode_one(filled, n, snr_db, sc.mask, fill=False, seal_key=b"\0" * 32)
            rec = receive_zf(codec, x, [side], sc.mask.shape, "awgn", snr_db, seed + i)
            iou.append(mask_iou(flattest_region(rec, area), sc.mask))
            chance.append(area / (2 * sc.mask.size - area))
            out = ~hole
            outside.append(float(10 * np.log10(1 / np.mean((rec[out] - sc.image[out]) ** 2))))
        rows.append({"fill": name, "eve_iou_mean": round(float(np.mean(iou)), 3),
                     "eve_iou_min": round(float(np.min(iou)), 3), "eve_iou_max": round(float(np.max(iou)), 3),
                     "chance_iou_mean": round(float(np.mean(chance)), 3),
                     "psnr_outside_db": round(float(np.mean(outside)), 2)})
    return {"data": f"{n_scenes} held-out entity scenes (privsem.database.scenes, seed {seed})",
            "snr_db": snr_db, "kn": kn, "codec": "softcast, mask sealed (Eve has no key)",
            "attacker": "flattest region of the true area (privsem.metrics.outline)", "rows": rows}
