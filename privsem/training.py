"""What the trainers share: multi-process training under ``torchrun`` (NCCL on CUDA,
gloo on the CPU), the device, mixed precision and gradient accumulation
(:class:`TrainOptions`), the global batch across a change of world size, the LR
schedule, and the optimizer state as flat tensors for safetensors checkpoints.

Every trainer calls :func:`distributed` first; under ``torchrun --nproc_per_node N`` it
joins the process group, otherwise it is a no-op that returns ``(0, 1)``. The global
batch (``--batch``) is split over the processes and the micro-batches of
``--accum``; each rank draws its own data and noise stream (:func:`stream_seed`).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .device import CPU, as_device

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class TrainOptions:
    """Where and how a trainer runs: ``device`` (under torchrun with CUDA each process
    takes ``cuda:LOCAL_RANK``), ``amp`` (None: float32; ``bf16``: autocast to bfloat16,
    CUDA, MPS or CPU; ``fp16``: autocast to float16 with a gradient scaler, CUDA only)
    and ``accum`` (micro-batches per optimizer step). The defaults are today's float32
    CPU training, bit for bit."""

    device: torch.device = field(default=CPU)
    amp: str | None = None
    accum: int = 1

    @classmethod
    def make(cls, device=None, amp: str | None = None, accum: int = 1) -> TrainOptions:
        """Checked options (one-line :class:`~privsem.errors.PrivsemError` on bad input)."""
        from .errors import PrivsemError

        dev = as_device(device)
        amp = amp.strip().lower() if amp else None
        if amp is not None and amp not in AMP_DTYPES:
            raise PrivsemError(f"--amp takes bf16 or fp16, not {amp!r}")
        if amp == "fp16" and dev.type != "cuda":
            raise PrivsemError(f"--amp fp16 needs a CUDA device (float16 with a gradient scaler); on {dev.type} "
                               "train in float32 (no --amp) or with --amp bf16")
        if accum < 1:
            raise PrivsemError(f"--accum must be ≥ 1, got {accum}")
        return cls(dev, amp, int(accum))

    def autocast(self):
        """``torch.autocast`` for the forward pass and loss (a no-op without ``amp``)."""
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=AMP_DTYPES[self.amp])

    def scaler(self):
        """A ``torch.amp.GradScaler`` for fp16, else None."""
        return torch.amp.GradScaler(self.device.type) if self.amp == "fp16" else None


def world_size() -> int:
    """``$WORLD_SIZE`` (1 outside torchrun): known before the process group is joined,
    so a batch that does not split fails on every rank at once, before rendezvous."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    """``$LOCAL_RANK`` (0 outside torchrun)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def rank_device(device: torch.device | str | None) -> torch.device:
    """The device this process trains on: under torchrun (``WORLD_SIZE`` > 1) with CUDA,
    ``cuda:LOCAL_RANK`` whatever index was asked for; otherwise ``device`` itself."""
    dev = as_device(device)
    if dev.type == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return torch.device("cuda", local_rank())
    return dev


def distributed(device: torch.device | str | None = None) -> tuple[int, int]:
    """(rank, world size); under torchrun joins the process group: NCCL when training on
    CUDA (after ``torch.cuda.set_device(LOCAL_RANK)``), gloo on the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        dev = as_device(device)
        if dev.type == "mps":
            from .errors import PrivsemError

            raise PrivsemError("multi-process training on mps is not supported: run one process")
        if dev.type == "cuda":
            torch.cuda.set_device(local_rank())
            torch.distributed.init_process_group("nccl")
        else:
            torch.distributed.init_process_group("gloo")
    return (torch.distributed.get_rank() if world > 1 else 0), world


def ddp(module: torch.nn.Module, device: torch.device, world: int) -> torch.nn.Module:
    """``module`` wrapped in DistributedDataParallel when ``world > 1`` (pinned to its
    GPU on CUDA), else ``module`` itself."""
    if world == 1:
        return module
    if device.type == "cuda":
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=[device.index],
                                                         output_device=device.index)
    return torch.nn.parallel.DistributedDataParallel(module)


def single_process(what: str) -> None:
    """Refuse torchrun with more than one process for a trainer that has no DDP.

    Raises:
        PrivsemError: ``WORLD_SIZE`` > 1 (one line naming ``what`` and ``--accum``)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from .errors import PrivsemError

        raise PrivsemError(f"{what} runs in one process (not under torchrun with --nproc-per-node > 1); "
                           "use --accum for a larger batch")


def split_batch(batch: int, world: int, accum: int = 1, what: str = "--batch") -> int:
    """Per-process micro-batch of a global ``batch``: ``batch / (world · accum)``.

    Raises:
        PrivsemError: it does not divide (one line)."""
    from .errors import PrivsemError

    if batch < 1 or batch % (world * accum):
        raise PrivsemError(f"{what} {batch} does not split over {world} process(es) × {accum} micro-batch(es) "
                           f"(--accum): use a multiple of {world * accum}")
    return batch // (world * accum)


def checkpoint_meta(world: int, batch: int, opts: TrainOptions, device: torch.device | None = None) -> dict[str, str]:
    """What a checkpoint records about the run's scale and where it ran (the global
    batch and world size are read back by :func:`resume_batch`; the tensors are always
    saved from the CPU, so a checkpoint made on CUDA resumes on the CPU and back)."""
    return {"world_size": str(world), "global_batch": str(batch), "accum": str(opts.accum),
            "amp": opts.amp or "fp32", "device": str(device or opts.device)}


def resume_batch(ckpt: Path, resume: bool, batch: int, world: int, accum: int = 1) -> int:
    """The global batch to train with: ``batch``, or on resume the checkpoint's own (a
    changed world size keeps the global batch, so the schedule continues as it was;
    a different ``--batch`` gives way to the checkpoint's, with a warning). Checks that it splits over
    ``world · accum`` (one-line error otherwise)."""
    from .errors import PrivsemError

    if resume and ckpt.is_file():
        from safetensors import safe_open

        with safe_open(str(ckpt), "pt") as f:
            md = f.metadata() or {}
        saved = int(md.get("global_batch", batch))
        if saved != batch:
            warnings.warn(f"resuming {ckpt.name} with its global batch {saved} (--batch {batch} ignored)",
                          stacklevel=2)
        old = int(md.get("world_size", "1"))
        if saved % (world * accum):
            raise PrivsemError(f"{ckpt.name} was trained with a global batch of {saved} on {old} process(es); "
                               f"it does not split over {world} process(es) × {accum} micro-batch(es): "
                               f"resume with a world size × --accum that divides {saved}")
        batch = saved
    split_batch(batch, world, accum)
    return batch


def accumulate(model: torch.nn.Module, opts: TrainOptions, scaler, micro_loss) -> list[torch.Tensor]:
    """Forward and backward over ``opts.accum`` micro-batches: ``micro_loss(i)`` returns
    the loss of micro-batch ``i`` (and, optionally, more tensors to report) inside
    autocast; gradients add up (DDP synchronises on the last micro-batch only). Returns
    what ``micro_loss`` returned for each micro-batch, detached."""
    out = []
    for i in range(opts.accum):
        sync = i == opts.accum - 1 or not hasattr(model, "no_sync")
        with (contextlib.nullcontext() if sync else model.no_sync()):
            with opts.autocast():
                res = micro_loss(i)
            loss = res[0] if isinstance(res, tuple) else res
            if opts.accum > 1:
                loss = loss / opts.accum
            (scaler.scale(loss) if scaler is not None else loss).backward()
        out.append(tuple(r.detach() for r in res) if isinstance(res, tuple) else res.detach())
    return out


def optimizer_step(opt: torch.optim.Optimizer, scaler=None, clip_params=None, clip: float | None = None) -> None:
    """``opt.step()`` after optional gradient clipping, through the fp16 scaler if any."""
    if scaler is not None:
        if clip is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(clip_params, clip)
        scaler.step(opt)
        scaler.update()
        return
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(clip_params, clip)
    opt.step()


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
    return {f"optim.{i}.{k}": torch.as_tensor(v).detach().cpu().contiguous()
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
