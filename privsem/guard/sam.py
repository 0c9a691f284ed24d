"""SAM backends for the guard: the segment-anything ViT-B/L/H models and MobileSAM
(ViT-T, from the ``mobilesam-mirror`` package), loaded from a checkpoint the user owns.

``features`` gives SAM's image embedding (256 channels, stride 16 on the 1024-pixel
frame, cropped to the image); ``mask`` runs SAM's prompt encoder and mask decoder on
the point prompts P (eq. 10: M = M_χ(S_α(S), P)). Nothing is downloaded: without a
checkpoint the model is refused unless ``random_init=True`` (tests only).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import torch

from ..errors import PrivsemError
from ..imageio import to_uint8

SAM_MODELS = {
    "sam-vit_b": ("segment_anything", "vit_b"),
    "sam-vit_l": ("segment_anything", "vit_l"),
    "sam-vit_h": ("segment_anything", "vit_h"),
    "mobilesam-vit_t": ("mobile_sam", "vit_t"),
}


def build_sam(name: str, checkpoint: str | Path | None = None, random_init: bool = False, device=None):
    """The SAM model ``name`` with weights from ``checkpoint`` (a state dict saved with
    ``torch.save``, read with ``weights_only=True`` onto the CPU), moved to ``device``
    (default CPU)."""
    from ..device import as_device

    package, kind = SAM_MODELS[name]
    if checkpoint is None and not random_init:
        raise PrivsemError(f"encoder {name} needs a checkpoint file you own (--checkpoint PATH); "
                           "nothing is downloaded")
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise PrivsemError(f"encoder {name} needs the Python package {package!r}") from None
    model = module.sam_model_registry[kind](checkpoint=None)
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file():
            raise PrivsemError(f"checkpoint not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as e:  # torch raises many types for a bad or mismatched file
            raise PrivsemError(f"{path} is not a {name} checkpoint ({e.__class__.__name__})") from None
    return module, model.to(as_device(device)).eval()


class SamEncoder:
    """``features(img float32 (H,W,3)) -> float32 (h, w, 256)`` and ``mask(img, points
    int (P,2) row/col) -> bool (H, W)``; the last image's embedding is cached."""

    stride = 16
    dim = 256

    def __init__(self, name: str, checkpoint: str | Path | None = None, random_init: bool = False,
                 device=None) -> None:
        module, model = build_sam(name, checkpoint, random_init, device)
        self.name = name
        self.predictor = module.SamPredictor(model)
        self._key: tuple | None = None

    def _set(self, img: np.ndarray) -> None:
        key = (img.shape, img.ctypes.data, float(img[::17, ::17].sum()))
        if key != self._key:
            with torch.inference_mode():
                self.predictor.set_image(to_uint8(img))
            self._key = key

    def features(self, img: np.ndarray) -> np.ndarray:
        self._set(img)
        emb = self.predictor.get_image_embedding()[0].permute(1, 2, 0).cpu().numpy()
        h, w = self.predictor.input_size
        return np.ascontiguousarray(emb[: -(-h // self.stride), : -(-w // self.stride)], dtype=np.float32)

    def mask(self, img: np.ndarray, points: np.ndarray) -> np.ndarray:
        if len(points) == 0:
            return np.zeros(img.shape[:2], bool)
        self._set(img)
        with torch.inference_mode():
            masks, _, _ = self.predictor.predict(point_coords=np.asarray(points)[:, ::-1].astype(np.float32),
                                                 point_labels=np.ones(len(points), np.int64),
                                                 multimask_output=False)
        return masks[0].astype(bool)
