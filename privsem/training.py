"""What the trainers share: multi-process CPU training under ``torchrun`` (gloo), the LR
schedule, and the optimizer state as flat tensors for safetensors checkpoints.

Every trainer calls :func:`distributed` first; under ``torchrun --nproc_per_node N`` it
joins the process group, otherwise it is a no-op that returns ``(0, 1)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch


def distributed() -> tuple[int, int]:
    """(rank, world size); joins the gloo process group when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo")
    return (torch.distributed.get_rank() if world > 1 else 0), world


def check_replicas(module: torch.nn.Module) -> None:
    """Every rank must end with the same weights (DDP keeps them in step)."""
    total = torch.stack([p.detach().double().sum() for p in module.parameters()]).sum().view(1)
    lo, hi = total.clone(), total.clone()
    torch.distributed.all_reduce(lo, op=torch.distributed.ReduceOp.MIN)
    torch.distributed.all_reduce(hi, op=torch.distributed.ReduceOp.MAX)
    if not torch.isclose(lo, hi, rtol=0, atol=1e-6):
        raise RuntimeError(f"DDP replicas diverged: parameter sums {lo.item()} vs {hi.item()}")


def cosine_lr(step: int, lr: float, steps: int, floor: float = 0.05) -> float:
    """Cosine decay from ``lr`` to ``floor · lr`` over ``steps`` (closed form, so a
    resumed run continues the same schedule)."""
    lo = floor * lr
    return lo + (lr - lo) * 0.5 * (1 + np.cos(np.pi * min(step, steps) / steps))


def optimizer_tensors(opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """The optimizer's per-parameter state as ``optim.<i>.<name>`` tensors."""
    return {f"optim.{i}.{k}": torch.as_tensor(v).contiguous()
            for i, st in opt.state_dict()["state"].items() for k, v in st.items()}


def load_optimizer_tensors(opt: torch.optim.Optimizer, state: dict[str, torch.Tensor]) -> None:
    """Inverse of :func:`optimizer_tensors` (other keys of ``state`` are ignored)."""
    osd = opt.state_dict()
    for k, v in state.items():
        if k.startswith("optim."):
            _, i, name = k.split(".", 2)
            osd["state"].setdefault(int(i), {})[name] = v
    opt.load_state_dict(osd)


def start_step(ckpt: Path, resume: bool, load) -> int:
    """0 for a fresh run; with ``resume`` the step that ``load(ckpt)`` restores."""
    if not resume:
        return 0
    if not ckpt.is_file():
        from .errors import PrivsemError

        raise PrivsemError(f"nothing to resume: {ckpt} does not exist")
    return load(ckpt)


def stream_seed(seed: int, rank: int, step: int) -> int:
    """A rank-specific data/noise stream, fresh after a resume."""
    return seed + 7919 * rank + step
