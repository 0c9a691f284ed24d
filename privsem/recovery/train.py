"""Training of the recovery U-Net: the base model (generic pictures; Eve's model) and
Algorithm 2, fine-tuning on the privacy DB (Bob's model).

Loss: the noise-prediction MSE ``‖ε − ε̂(B_t, t | i)‖²`` at a random t per tile. It is
Algorithm 2's ``‖C_{t−1} − B_{t−1}‖²`` (the denoised step against the forward-diffused
target) up to a weight per t, the standard reparameterisation of DDPM training. The
prompt embedding is replaced by the zero token for ``cond_drop`` of the tiles, so the
same model also runs unconditioned (the text ablation, classifier-free guidance).

Resumable (``OUT.ckpt`` holds model, Adam state, step, world size and global batch; a
resume on another number of processes keeps the global batch and the schedule),
multi-process under ``torchrun --standalone --nproc_per_node N`` (NCCL on CUDA, gloo on
the CPU), like the codec's trainer; device, mixed precision and gradient accumulation
come in :class:`~privsem.training.TrainOptions`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..device import randn
from ..training import (TrainOptions, accumulate, check_replicas, checkpoint_meta, cosine_lr, ddp, distributed,
                        load_optimizer_tensors, optimizer_step, optimizer_tensors, rank_device, resume_batch,
                        start_step, stream_seed, world_size)
from ..errors import PrivsemError
from .data import TileSampler, generic_contents
from .diffusion import (RecoveryModel, RecoveryModelConfig, build_scheduler, build_unet, condition,
                        forward_diffusion, save_recovery_model, unet_input)


@dataclass
class RecoveryTrainConfig:
    """Hyper-parameters; stored in the checkpoint."""

    steps: int = 6000
    batch: int = 16
    lr: float = 3e-4
    cond_drop: float = 0.15
    prior_fraction: float = 0.3  # fine-tuning: share of generic tiles
    blob_fraction: float = 0.3
    outside_weight: float = 0.1  # loss weight outside M̂ (see diffusion_loss)
    seed: int = 0


def diffusion_loss(unet, scheduler, x0, mask, cond, gen: torch.Generator, outside: float = 0.1) -> torch.Tensor:
    """Noise-prediction MSE for a batch of tiles (``x0`` ``(B,3,r,r)`` in [-1,1]), weighted
    1 inside M̂ and ``outside`` elsewhere: the blend of eq. 14 replaces every prediction
    outside M̂ by B_{t−1}, so the capacity is spent where it is used. Runs on ``x0``'s
    device; ``t`` and ε come from ``gen`` (a CPU stream) and are moved there."""
    b, dev = x0.shape[0], x0.device
    t = torch.randint(0, scheduler.config.num_train_timesteps, (b,), generator=gen)
    eps = randn(x0.shape, gen, dev)
    ab = scheduler.alphas_cumprod[t].view(b, 1, 1, 1).to(dev)
    x_t = forward_diffusion(x0, ab, eps)
    pred = unet(unet_input(x_t, x0, mask), t.to(dev), encoder_hidden_states=cond).sample
    return masked_mse(pred.float(), eps, mask, outside)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, outside: float) -> torch.Tensor:
    """MSE weighted 1 where ``mask`` (``(B,1,h,w)``) is 1 and ``outside`` elsewhere."""
    w = mask + outside * (1 - mask)
    return torch.sum(w * (pred - target) ** 2) / (torch.sum(w) * pred.shape[1])


def _save_ckpt(path: Path, unet, opt, step: int, mcfg, tcfg, stage: str, scale: dict | None = None) -> None:
    tensors = {f"unet.{k}": v.detach().cpu().contiguous() for k, v in unet.state_dict().items()}
    tensors |= optimizer_tensors(opt)
    meta = {"model": json.dumps(asdict(mcfg)), "train": json.dumps(asdict(tcfg)), "step": str(step),
            "stage": stage} | (scale or {})
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)


def _resume(ckpt: Path, unet, opt, stage: str) -> int:
    with safe_open(str(ckpt), "pt") as f:
        md = f.metadata()
    if md.get("stage") != stage:
        raise PrivsemError(f"{ckpt} is a {md.get('stage')!r} checkpoint, not {stage!r}")
    state = load_file(str(ckpt))
    own = unet.state_dict()
    ustate = {k[5:]: v for k, v in state.items() if k.startswith("unet.")}
    if set(ustate) != set(own) or any(ustate[k].shape != own[k].shape for k in own):
        raise PrivsemError(f"{ckpt}: checkpoint does not match this model's architecture")
    unet.load_state_dict(ustate)
    load_optimizer_tensors(opt, state)
    return int(md["step"])


def train_recovery(out: Path, sampler_factory, tcfg: RecoveryTrainConfig, stage: str,
                   init: RecoveryModel | None = None, mcfg: RecoveryModelConfig | None = None,
                   resume: bool = False, meta: dict | None = None, checkpoint_every: int = 250,
                   opts: TrainOptions | None = None) -> dict:
    """Train and write ``out`` (fp16 weights + config + meta) and ``out.ckpt``.

    Args:
        sampler_factory: ``seed -> TileSampler`` (each rank gets its own stream).
        stage: ``base`` (from scratch, ``mcfg``) or ``finetune`` (from ``init``, on any
            device: its weights are copied).
        opts: device, ``amp``, ``accum`` (default: float32 on the CPU, one micro-batch).
    Returns the final-loss summary (rank 0; other ranks return ``{}``).
    """
    opts = opts or TrainOptions()
    ckpt = Path(out).with_suffix(".ckpt")
    tcfg.batch = resume_batch(ckpt, resume, tcfg.batch, world_size(), opts.accum)
    rank, world = distributed(opts.device)
    device = rank_device(opts.device)
    torch.manual_seed(tcfg.seed)
    if init is not None:
        mcfg = init.config
        unet = build_unet(mcfg)
        unet.load_state_dict(init.unet.state_dict())
    else:
        unet = build_unet(mcfg)
    unet.to(device).train().requires_grad_(True)
    sch = build_scheduler("ddpm", mcfg)
    opt = torch.optim.AdamW(unet.parameters(), lr=tcfg.lr, weight_decay=0.0)
    step = start_step(ckpt, resume, lambda c: _resume(c, unet, opt, stage))
    model = ddp(unet, device, world)
    scaler = opts.scaler()
    stream = stream_seed(tcfg.seed, rank, step)
    sampler = sampler_factory(stream)
    gen = torch.Generator().manual_seed(stream)
    local = tcfg.batch // (world * opts.accum)
    scale_meta = checkpoint_meta(world, tcfg.batch, opts, device)
    bar = tqdm(total=tcfg.steps, initial=step, desc=f"train recovery {stage}", unit="step", disable=rank != 0)
    t0, losses = time.time(), []

    def micro(_):
        x0, mask, emb = (torch.from_numpy(a) for a in sampler.sample(local))
        drop = torch.rand(local, generator=gen) < tcfg.cond_drop
        emb = torch.where(drop[:, None], torch.zeros_like(emb), emb)
        return diffusion_loss(model, sch, x0.to(device), mask.to(device),
                              condition(emb, mcfg.text_dim, local).to(device), gen, tcfg.outside_weight)

    while step < tcfg.steps:
        lr = cosine_lr(step, tcfg.lr, tcfg.steps)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        micro_losses = accumulate(model, opts, scaler, micro)
        optimizer_step(opt, scaler, unet.parameters(), 1.0)
        step += 1
        losses.append(micro_losses[0].item() if len(micro_losses) == 1 else torch.stack(micro_losses).mean().item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", lr=f"{lr:.1e}")
        if rank == 0 and (step % checkpoint_every == 0 or step == tcfg.steps):
            _save_ckpt(ckpt, unet, opt, step, mcfg, tcfg, stage, scale_meta)
    bar.close()
    if world > 1:
        check_replicas(unet)
    if rank != 0:
        torch.distributed.barrier()
        return {}
    summary = {"final_loss": round(float(np.mean(losses[-200:])), 5) if losses else None,
               "steps": step, "train_seconds_this_run": round(time.time() - t0, 1), "world_size": world}
    save_recovery_model(Path(out), unet, mcfg, "finetuned" if stage == "finetune" else "base",
                        {"training": asdict(tcfg)} | (meta or {}) | {"summary": summary})
    if world > 1:
        torch.distributed.barrier()
    return summary


def base_sampler_factory(text_encoder, res: int, blob_fraction: float):
    """Generic pictures as content and background."""
    contents = generic_contents(text_encoder)
    backgrounds = [c.image for c in contents]
    return lambda seed: TileSampler(contents, backgrounds, res, seed, blob_fraction, crop_content=True)


def finetune_sampler_factory(db, text_encoder, res: int, blob_fraction: float, prior_fraction: float):
    """Algorithm 2's data: every entity's samples S_k with its prompt i_k, on generic
    backgrounds, plus ``prior_fraction`` generic tiles."""
    from .data import Content

    ents = db.entities
    if not ents:
        raise PrivsemError(f"privacy database {db.root} has no entities to fine-tune on")
    emb = text_encoder.encode([e.prompt for e in ents])
    contents = [Content(db.read_sample(p), emb[k]) for k, e in enumerate(ents) for p in e.samples]
    generic = generic_contents(text_encoder)
    backgrounds = [c.image for c in generic]
    return lambda seed: TileSampler(contents, backgrounds, res, seed, blob_fraction,
                                    prior=(generic, prior_fraction) if prior_fraction > 0 else None)
