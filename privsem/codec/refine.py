"""Learned refinement after softcast's LMMSE estimate (issue 21, item 2).

The LMMSE estimate is the best *linear* guess of each DCT coefficient; what it cannot
do is use what photographs look like: the chunks it dropped leave ringing and blur, and
at low SNR its noise is spread evenly over the frame. :class:`RefineNet` is a small
SNR-conditioned residual CNN that maps that estimate to a better image:
``x̃ = x̂ + r(x̂, SNR, k/n)``.

Shapes: ``x̂`` float32 ``(B, 3, H, W)`` in ``[0, 1]`` (H, W even), SNR in dB and k/n as
float32 ``(B,)``. The network works at half resolution (pixel-unshuffle by 2, so 12
channels) with FiLM conditioning, optionally with a quarter-resolution branch
(``coarse``) for a wider view; a 256×256 image costs well under 1 GFLOP.

The committed weights are ``models/softcast_refine.safetensors`` (manifest-checked); a
user's file loads from a path (:func:`load_refiner`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import PrivsemError

DEFAULT_FILE = "softcast_refine.safetensors"
FORMAT = "privsem-refine-1"


@dataclass
class RefineConfig:
    width: int = 32
    depth: int = 6  # 3×3 conv layers at half resolution
    coarse: int = 0  # 3×3 conv layers of a quarter-resolution branch (2·width channels; 0: none)
    snr_min_db: float = -5.0  # conditioning is clipped to the trained range
    snr_max_db: float = 25.0


class RefineNet(nn.Module):
    """``forward(x, snr_db, kn) -> x̃``, float32 ``(B, 3, H, W)``; the last layer starts
    at zero, so an untrained net is the identity."""

    def __init__(self, cfg: RefineConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or RefineConfig()
        w = cfg.width
        self.head = nn.Conv2d(12, w, 3, padding=1)
        self.body = nn.ModuleList(nn.Conv2d(w, w, 3, padding=1) for _ in range(cfg.depth - 2))
        self.film = nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 2 * w * len(self.body)))
        self.tail = nn.Conv2d(w, 12, 3, padding=1)
        if cfg.coarse:  # a wider view at low cost: the LMMSE error spreads over the whole frame
            self.down = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)
            self.coarse = nn.ModuleList(nn.Conv2d(2 * w, 2 * w, 3, padding=1) for _ in range(cfg.coarse))
            self.up = nn.Conv2d(2 * w, 4 * w, 1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def condition(self, snr_db: torch.Tensor, kn: torch.Tensor) -> torch.Tensor:
        """``(B, 2)``: SNR mapped to [-1, 1] over the trained range, log2 of k/n scaled."""
        lo, hi = self.cfg.snr_min_db, self.cfg.snr_max_db
        s = (snr_db.clamp(lo, hi) - lo) / (hi - lo) * 2 - 1
        return torch.stack([s, torch.log2(kn) / 5 + 0.5], dim=1)

    def forward(self, x: torch.Tensor, snr_db: torch.Tensor, kn: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.head(nn.functional.pixel_unshuffle(x - 0.5, 2)))
        gb = self.film(self.condition(snr_db, kn)).view(x.shape[0], len(self.body), 2, -1, 1, 1)
        half = len(self.body) // 2
        for i, conv in enumerate(self.body):
            if i == half and self.cfg.coarse:
                c = torch.relu(self.down(h))
                for conv_c in self.coarse:
                    c = torch.relu(conv_c(c)) + c
                h = h + nn.functional.pixel_shuffle(self.up(c), 2)[..., :h.shape[2], :h.shape[3]]
            h = torch.relu(conv(h) * (1 + gb[:, i, 0]) + gb[:, i, 1])
        return x + nn.functional.pixel_shuffle(self.tail(h), 2)


def refiner_state(net: RefineNet) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file :func:`load_refiner` reads."""
    return ({k: v.detach().contiguous() for k, v in net.state_dict().items()},
            {"format": FORMAT, "config": json.dumps(asdict(net.cfg))})


def load_refiner(path: str | Path | None = None) -> RefineNet:
    """The committed refiner (sha256-checked) or a user's safetensors file."""
    from ..weights import load_model_file

    state, meta, file = load_model_file(path, DEFAULT_FILE, "refiner")
    try:
        if meta.get("format") != FORMAT:
            raise KeyError("format")
        net = RefineNet(RefineConfig(**json.loads(meta["config"])))
        net.load_state_dict({k: v.float() for k, v in state.items()})
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise PrivsemError(f"{file}: not a privsem softcast refiner ({e.__class__.__name__})") from None
    return net.eval()


_CACHE: dict[str, RefineNet] = {}


def default_refiner() -> RefineNet | None:
    """The committed refiner, loaded once; None when it is not installed."""
    from ..weights import models_dir

    if "default" not in _CACHE:
        if not (models_dir() / DEFAULT_FILE).is_file():
            return None
        _CACHE["default"] = load_refiner()
    return _CACHE["default"]


@torch.inference_mode()
def refine(net: RefineNet, x: np.ndarray, snr_db: float, kn: float) -> np.ndarray:
    """float ``(3, H, W)`` LMMSE estimate in [0, 1] → refined float32 ``(3, H, W)`` in
    [0, 1]. Odd sizes are padded by edge replication and cropped back."""
    h, w = x.shape[1:]
    t = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]
    t = nn.functional.pad(t, (0, w % 2, 0, h % 2), mode="replicate")
    out = net(t, torch.tensor([float(snr_db)]), torch.tensor([float(kn)]))
    return out[0, :, :h, :w].clamp(0, 1).numpy()
