"""Where privsem's neural networks run: ``--device auto|cpu|cuda|cuda:N|mps``.

:func:`resolve_device` turns what the user wrote (the ``--device`` flag, else the
``PRIVSEM_DEVICE`` environment variable, else ``cpu``) into a :class:`torch.device`, or
refuses it in one line. Library functions take ``device=None`` (= the CPU, today's
behaviour, bit for bit) and go through :func:`as_device`.

What follows the device: the guard's image encoder (MobileNetV2 / SAM), the JSCC
encoder and decoder, the recovery U-Net (and a Stable Diffusion checkpoint's U-Net,
VAE and CLIP text encoder), the multi-task networks and everything the trainers
build from them. What stays on the CPU (numpy PHY and channels, Sionna's LDPC/QAM
blocks, softcast/hda, OpenCV, dlib, the MiniLM prompt encoder, the seeded random
streams): see ``docs/scale.md`` ("Devices").

Seeded ``torch.Generator`` streams stay on the CPU on purpose (diffusers' convention):
a seed then gives the same noise on every device, so a CUDA run can be compared with
a CPU run within floating-point tolerance; :func:`randn` draws there and moves the
draw to the device (one copy of a few MB at most per step).
"""

from __future__ import annotations

import os
import re

import torch

from .errors import PrivsemError

ENV = "PRIVSEM_DEVICE"
CHOICES = "auto, cpu, cuda, cuda:N, mps"
CPU = torch.device("cpu")


def _torch_build() -> str:
    cuda = torch.version.cuda
    return f"torch {torch.__version__} CPU build" if cuda is None else \
        f"torch {torch.__version__} built for CUDA {cuda}, but no CUDA GPU is visible"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(spec: str | torch.device | None = None, source: str = "--device") -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps`` → :class:`torch.device`.

    ``None`` reads ``$PRIVSEM_DEVICE`` (default ``cpu``). ``auto`` takes CUDA when
    present, else MPS, else the CPU. ``source`` names where the spec came from in
    the error (``--device`` or ``PRIVSEM_DEVICE``).

    Raises:
        PrivsemError: an unknown name, or a device this machine does not have (one line,
            e.g. ``--device cuda: CUDA is not available on this machine (torch 2.x CPU build)``).
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    if spec is None:
        spec, source = os.environ.get(ENV) or "cpu", ENV
    text = spec.strip().lower()
    said = f"{source} {spec}" if source.startswith("-") else f"{source}={spec}"
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if _mps_available() else CPU
    if text == "cpu":
        return CPU
    m = re.fullmatch(r"cuda(?::(\d+))?", text)
    if m:
        if not torch.cuda.is_available():
            raise PrivsemError(f"{said}: CUDA is not available on this machine ({_torch_build()})")
        index = int(m.group(1) or 0)
        if index >= torch.cuda.device_count():
            raise PrivsemError(f"{said}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                               f"(cuda:0..cuda:{torch.cuda.device_count() - 1})")
        return torch.device("cuda", index)
    if text == "mps":
        if not _mps_available():
            raise PrivsemError(f"{said}: Apple MPS is not available on this machine (torch {torch.__version__})")
        return torch.device("mps")
    raise PrivsemError(f"{said}: unknown device (known: {CHOICES})")


def as_device(device: str | torch.device | None) -> torch.device:
    """A library function's ``device`` keyword: None is the CPU (never the environment:
    only the CLI reads ``$PRIVSEM_DEVICE``); a string is resolved and checked."""
    if device is None:
        return CPU
    if isinstance(device, torch.device) and device.type != "cuda":
        return device
    return resolve_device(device)


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter (CPU for a module without any)."""
    p = next(module.parameters(), None)
    return CPU if p is None else p.device


def randn(shape, generator: torch.Generator | None, device: torch.device | None = None) -> torch.Tensor:
    """``torch.randn(shape, generator=generator)`` drawn on the generator's device (the
    CPU for privsem's seeded streams) and moved to ``device``: the same numbers on every
    device for a given seed; on the CPU exactly ``torch.randn``."""
    x = torch.randn(shape, generator=generator)
    return x if device is None or x.device == device else x.to(device)


def rand(shape, generator: torch.Generator | None, device: torch.device | None = None) -> torch.Tensor:
    """:func:`randn`'s uniform twin."""
    x = torch.rand(shape, generator=generator)
    return x if device is None or x.device == device else x.to(device)


def describe(device: torch.device) -> str:
    """``cuda:0 (NVIDIA A100-SXM4-80GB)``, ``cpu (2 threads)``: for logs and reports."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
