"""Models of the second scheme: the transmitter's encoder, Bob's two decoders, Eve's
classifier, and their safetensors files.

Shapes: images float32 ``(B, C, H, W)`` in [0, 1]; channel symbols complex64 ``(B, d)``
with mean power 1 per image (the power limit P_max = 1); decoders read the equalized
symbols as float32 ``(B, 2d)`` (real parts, then imaginary parts).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import PrivsemError

FORMAT = "privsem-multitask-1"
N_CLASSES = 10


@dataclass
class LinkSpec:
    """What fixes the architecture: image shape and latent dimension d (complex
    channel uses per image)."""

    channels: int = 1
    size: int = 28
    latent_dim: int = 16
    width: int = 32


def to_real(y: torch.Tensor) -> torch.Tensor:
    """complex ``(B, d)`` → float32 ``(B, 2d)``."""
    return torch.cat([y.real, y.imag], dim=1)


def normalize_power(z: torch.Tensor) -> torch.Tensor:
    """float32 ``(B, 2d)`` → complex64 ``(B, d)`` with mean |s|² = 1 per image."""
    d = z.shape[1] // 2
    s = torch.complex(z[:, :d], z[:, d:])
    p = (s.abs() ** 2).mean(dim=1, keepdim=True).clamp_min(1e-12)
    return s / p.sqrt()


class Encoder(nn.Module):
    """Image → d unit-power complex symbols (two stride-2 convs, one linear layer)."""

    def __init__(self, spec: LinkSpec) -> None:
        super().__init__()
        w, q = spec.width, spec.size // 4
        self.features = nn.Sequential(
            nn.Conv2d(spec.channels, w, 3, 2, 1), nn.PReLU(w),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.PReLU(2 * w),
            nn.Flatten(), nn.Linear(2 * w * q * q, 2 * spec.latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return normalize_power(self.features(x))


class Classifier(nn.Module):
    """Equalized symbols → class logits ``(B, 10)``. Bob's semantic decoder and Eve's."""

    def __init__(self, latent_dim: int, hidden: int = 128, layers: int = 1) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        n = 2 * latent_dim
        for _ in range(layers):
            mods += [nn.Linear(n, hidden), nn.PReLU(hidden)]
            n = hidden
        self.net = nn.Sequential(*mods, nn.Linear(n, N_CLASSES))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(to_real(y))


class Reconstructor(nn.Module):
    """Equalized symbols → image ``(B, C, H, W)`` in [0, 1] (Bob's data decoder)."""

    def __init__(self, spec: LinkSpec) -> None:
        super().__init__()
        w, q = spec.width, spec.size // 4
        self.shape = (2 * w, q, q)
        self.net = nn.Sequential(
            nn.Linear(2 * spec.latent_dim, 2 * w * q * q), nn.PReLU(),
            nn.Unflatten(1, self.shape),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.PReLU(w),
            nn.ConvTranspose2d(w, spec.channels, 4, 2, 1), nn.Sigmoid())

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(to_real(y))


def eve_classifier(latent_dim: int) -> Classifier:
    """Eve's decoder: wider and deeper than Bob's, so her failures are not for lack of capacity."""
    return Classifier(latent_dim, hidden=256, layers=2)


class LegitLink(nn.Module):
    """The legitimate transmitter-receiver pair: encoder, Bob's classifier and reconstructor."""

    def __init__(self, spec: LinkSpec) -> None:
        super().__init__()
        self.spec = spec
        self.encoder = Encoder(spec)
        self.classifier = Classifier(spec.latent_dim)
        self.reconstructor = Reconstructor(spec)


def save_model(path: Path, module: nn.Module, kind: str, spec: LinkSpec, info: dict) -> None:
    """safetensors with the spec and ``info`` (training config, metrics) as metadata."""
    from safetensors.torch import save_file

    meta = {"format": FORMAT, "kind": kind, "spec": json.dumps(asdict(spec)), "info": json.dumps(info)}
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}, str(tmp), metadata=meta)
    tmp.replace(path)


def read_meta(path: Path) -> dict:
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except Exception as e:  # safetensors raises several types for a corrupt file
        raise PrivsemError(f"{path}: not a safetensors file ({str(e).splitlines()[0]})") from None
    if meta.get("format") != FORMAT:
        raise PrivsemError(f"{path}: not a privsem multitask model (format {meta.get('format')!r})")
    return meta


def load_model(path: str | Path, kind: str, device=None) -> tuple[nn.Module, LinkSpec, dict]:
    """Load a ``kind`` ("link" | "eve") model file → (module in eval mode on ``device``,
    default CPU; spec; info)."""
    from ..device import as_device

    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise PrivsemError(f"model not found: {path}")
    meta = read_meta(path)
    if meta.get("kind") != kind:
        raise PrivsemError(f"{path}: holds a {meta.get('kind')!r} model, expected {kind!r}")
    try:
        spec = LinkSpec(**json.loads(meta["spec"]))
    except (KeyError, TypeError, json.JSONDecodeError):
        raise PrivsemError(f"{path}: bad model spec in its metadata") from None
    module = LegitLink(spec) if kind == "link" else eve_classifier(spec.latent_dim)
    try:
        module.load_state_dict(load_file(str(path)))
    except RuntimeError as e:
        raise PrivsemError(f"{path}: weights do not fit the spec ({str(e).splitlines()[0]})") from None
    return module.to(as_device(device)).eval(), spec, json.loads(meta.get("info", "{}"))
