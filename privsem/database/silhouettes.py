"""True silhouettes of the example entities in their source pictures.

The ground truth of every guard and recovery figure on generated scenes. Each outline
was drawn by hand as a polygon over the picture (the vertices below, (x, y) pixels),
then snapped to the picture's edges by GrabCut inside a ±12 px band around the polygon
(the polygon decides everywhere else). The result was checked by eye: the cat's head
with its ears and cheeks, and Eileen Collins' hair, face, neck ring and suit without the
helmet she holds. It is computed here, not committed, so this file is the provenance.
"""

from __future__ import annotations

import functools

import numpy as np

from ..codec.data import skimage_image
from ..imageio import cv2_one_thread

# (source picture, outline polygon (x, y)): the cat is cut by the frame on three sides
POLYGONS = {
    "chelsea": ("chelsea", [(40, 0), (320, 0), (345, 15), (370, 40), (365, 80), (360, 120), (372, 160),
                            (368, 200), (355, 240), (340, 270), (330, 300), (0, 300), (0, 140), (12, 110),
                            (22, 60), (32, 20)]),
    "astronaut": ("astronaut", [(152, 62), (160, 40), (185, 22), (215, 15), (245, 18), (275, 30), (295, 50),
                                (302, 75), (298, 100), (285, 118), (278, 130), (275, 150), (280, 165),
                                (290, 185), (300, 210), (305, 230), (335, 250), (350, 270), (358, 300),
                                (362, 340), (340, 350), (315, 375), (295, 410), (285, 450), (280, 512),
                                (25, 512), (22, 460), (25, 400), (30, 340), (45, 300), (60, 260), (90, 230),
                                (115, 210), (115, 190), (125, 165), (150, 150), (172, 140), (175, 118),
                                (165, 100), (155, 85)]),
}
BAND = 12  # px either side of the hand-drawn outline that GrabCut may move it


@functools.lru_cache(maxsize=4)
def _silhouette(name: str) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    src, poly = POLYGONS[name]
    img = skimage_image(src)
    u8 = np.ascontiguousarray((img * 255 + 0.5).astype(np.uint8)[..., ::-1])
    inside = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.asarray(poly, np.int32)], 1)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * BAND + 1, 2 * BAND + 1))
    core, reach = cv2.erode(inside, k), cv2.dilate(inside, k)
    gc = np.full(img.shape[:2], cv2.GC_BGD, np.uint8)
    gc[reach > 0] = cv2.GC_PR_BGD
    gc[inside > 0] = cv2.GC_PR_FGD
    gc[core > 0] = cv2.GC_FGD
    with cv2_one_thread():
        cv2.setRNGSeed(0)
        cv2.grabCut(u8, gc, None, np.zeros((1, 65)), np.zeros((1, 65)), 8, cv2.GC_INIT_WITH_MASK)
    mask = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    return img, mask


def silhouette(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The source picture (float32 ``(H, W, 3)`` in [0, 1]) and the entity's true mask
    (bool ``(H, W)``); copies, safe to modify."""
    img, mask = _silhouette(name)
    return img.copy(), mask.copy()
