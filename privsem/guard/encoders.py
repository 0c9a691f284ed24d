"""Image encoders S_α for the guard, behind a small registry (as segment-anything's
``sam_model_registry``): ``build_encoder(name, checkpoint=None)``.

The embedded default is ImageNet MobileNetV2 up to block 13 (stride 16, 96 channels),
converted once to ``models/mobilenet_v2_features14.safetensors``
(see :mod:`privsem.guard.convert_mobilenet`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import PrivsemError
from ..weights import load_weights

_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class MobileNetV2Encoder:
    """``features(img float32 (H,W,3) in [0,1]) -> float32 (h, w, 96)``, ``h ≈ H'/16``.

    The image is resized so that its long side is ``max_side`` pixels (default 512)
    before encoding; ``h, w`` refer to that resized grid. The network runs on ``device``
    (default CPU); the image goes there and the features come back as numpy.
    """

    name = "mobilenet_v2"
    stride = 16
    dim = 96

    def __init__(self, checkpoint: str | Path | None = None, max_side: int = 512, device=None) -> None:
        from ..device import as_device

        from torchvision.models import mobilenet_v2

        net = mobilenet_v2(weights=None).features[:14]
        if checkpoint is None:
            state = load_weights("mobilenet_v2_features14.safetensors")
        else:
            from safetensors.torch import load_file

            state = load_file(str(checkpoint))
        net.load_state_dict(state)
        self.device = as_device(device)
        self.net = net.to(self.device).eval()
        self.max_side = max_side
        self._norm = (_MEAN.to(self.device), _STD.to(self.device))

    @torch.inference_mode()
    def features(self, img: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None].to(self.device)
        scale = self.max_side / max(x.shape[-2:])
        if scale < 1:
            x = F.interpolate(x, scale_factor=scale, mode="bilinear", antialias=True, align_corners=False)
        mean, std = self._norm
        x = (x - mean) / std
        return self.net(x)[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)


def _sam(name: str):
    def build(checkpoint=None, random_init: bool = False, device=None):
        from .sam import SamEncoder

        return SamEncoder(name, checkpoint, random_init, device=device)

    return build


ENCODERS = {"mobilenet_v2": lambda checkpoint=None, random_init=False, device=None: MobileNetV2Encoder(
    checkpoint, device=device),
            **{n: _sam(n) for n in ("sam-vit_b", "sam-vit_l", "sam-vit_h", "mobilesam-vit_t")}}


def _dlib_face():
    from .face import cached_encoder

    return cached_encoder()


# Identity encoders for the face path (per entity, beside the DB's patch encoder): an
# entity whose samples show a face records one of these names in the manifest.
FACE_ENCODERS = {"dlib-resnet": _dlib_face}


def build_face_encoder(name: str = "dlib-resnet"):
    """A face-identity encoder by registry name: ``faces(img) -> list[Face]`` with 128-d
    descriptors (:mod:`.face`)."""
    try:
        return FACE_ENCODERS[name]()
    except KeyError:
        raise PrivsemError(f"unknown face encoder {name!r} (known: {', '.join(FACE_ENCODERS)})") from None


def build_encoder(name: str = "mobilenet_v2", checkpoint: str | Path | None = None, random_init: bool = False,
                  device=None):
    """Instantiate an encoder by registry name (``checkpoint``: a local weights file;
    required by the SAM encoders, optional for the embedded default) on ``device``
    (default CPU)."""
    try:
        build = ENCODERS[name]
    except KeyError:
        raise PrivsemError(f"unknown encoder {name!r} (known: {', '.join(ENCODERS)})") from None
    if device is None:
        return build(checkpoint=checkpoint, random_init=random_init)
    return build(checkpoint=checkpoint, random_init=random_init, device=device)
