"""Training of the JSCC over AWGN and Rayleigh block fading, 0–20 dB, with the receiver
the PHY has: least-squares channel estimates from pilots, then MMSE equalization.

Every step mixes the bandwidth ratios the model offers (per image, the complex channels
beyond its ratio are dropped), so one set of weights serves 1/6, 1/12 and 1/24.

Resumable: the checkpoint (safetensors) holds the model, the Adam state and the step.
The exported file holds the model, its config and held-out metrics.

Distributed: under ``torchrun --nproc_per_node N`` (NCCL on CUDA, gloo on the CPU) each
process trains on ``batch / N`` crops (``batch / (N · accum)`` per micro-batch) and
DistributedDataParallel averages the gradients; rank 0 writes the files. The
checkpoint records the world size and the global batch: a resume on another number of
processes keeps the global batch and the schedule. ``opts``
(:class:`~privsem.training.TrainOptions`): device, mixed precision, accumulation.
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
from .base import FORMAT, JSCCCodec, _load_part, codec_from_state
from .data import CropSampler, default_images, folder_images
from .jscc import JSCCDecoder, JSCCEncoder, from_symbols


@dataclass
class CodecTrainConfig:
    """Hyper-parameters; all stored in the checkpoint's metadata."""

    width: int = 48
    c_out: int = 16
    depth: int = 5
    rates: tuple[int, ...] = (8,)  # complex channels sent, m: k/n = m/48 (several: one shared model)
    crop: int = 64
    batch: int = 32
    steps: int = 20000
    lr: float = 2e-3
    snr_min_db: float = 0.0
    snr_max_db: float = 20.0
    rayleigh_fraction: float = 0.5
    coherence: int = 256
    n_pilots: int = 16
    scale_weight: float = 1e-4  # keeps the encoder's output power near 1 (see _Link)
    seed: int = 0


def _cn(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | None = None) -> torch.Tensor:
    """Circular complex Gaussian, unit variance, drawn from ``gen`` and put on ``device``."""
    return torch.complex(randn(shape, gen, device), randn(shape, gen, device)) / np.sqrt(2)


def simulate_channel(s: torch.Tensor, snr_db: torch.Tensor, rayleigh: torch.Tensor,
                     coherence: int, gen: torch.Generator, n_pilots: int = 16, with_gain: bool = False):
    """Differentiable channel for training: AWGN or Rayleigh block fading (one gain per
    ``coherence`` symbols), an LS estimate from ``n_pilots`` unit pilots per block (error
    variance ``N0 / n_pilots``) and the MMSE equalizer the PHY applies.
    ``s`` complex64 ``(B, n)`` → equalized complex64 ``(B, n)``; with ``with_gain`` also
    the equalizer's gain on the signal as the receiver estimates it, |ĥ|²/(|ĥ|²+N0),
    float32 ``(B, n)``. Runs on ``s``'s device (``snr_db`` and ``rayleigh`` there too);
    the noise comes from ``gen`` (a CPU stream: the same draws on every device)."""
    b, n = s.shape
    dev = s.device
    no = 10.0 ** (-snr_db / 10.0)
    n_blocks = -(-n // coherence)
    h = torch.where(rayleigh[:, None], _cn((b, n_blocks), gen, dev),
                    torch.ones(b, n_blocks, dtype=torch.complex64, device=dev))
    h_hat = h + _cn((b, n_blocks), gen, dev) * torch.sqrt(no / n_pilots)[:, None]
    h, h_hat = (t.repeat_interleave(coherence, dim=1)[:, :n] for t in (h, h_hat))
    y = h * s + _cn((b, n), gen, dev) * torch.sqrt(no)[:, None]
    eq = torch.conj(h_hat) * y / (h_hat.abs() ** 2 + no[:, None])
    if with_gain:
        return eq, h_hat.abs() ** 2 / (h_hat.abs() ** 2 + no[:, None])
    return eq


class _Link(torch.nn.Module):
    """Encoder → symbols → channel → decoder, one module so DDP sees every parameter."""

    def __init__(self, enc: JSCCEncoder, dec: JSCCDecoder, cfg: CodecTrainConfig) -> None:
        super().__init__()
        self.enc, self.dec, self.cfg = enc, dec, cfg

    def forward(self, x, snr, ray, m, gen):
        """Returns the reconstruction and ``mean (log P_j)²`` of the encoder's per-channel
        power before normalization. The loss is blind to that scale (the transmitter
        normalizes), so without this term it drifts to ~1e6 and the encoder's gradients
        vanish: the model then decodes the same blur at every rate and SNR."""
        cfg = self.cfg
        z = self.enc(x, snr).float()  # the channel in float32 (a no-op without autocast)
        b, c, h, w = z.shape
        keep = (torch.arange(c // 2, device=z.device)[None, :] < m[:, None]).to(z.dtype)  # (B, c/2) channels sent
        p = (z[:, 0::2] ** 2 + z[:, 1::2] ** 2).mean(dim=(2, 3))  # power per complex channel
        power = ((p * keep).sum(1) / keep.sum(1)).clamp_min(1e-12)  # over the prefix sent
        scale = power.log().pow(2).mean()
        s = torch.complex(z[:, 0::2], z[:, 1::2]).reshape(b, -1) / power.sqrt()[:, None]
        y = simulate_channel(s, snr, ray, cfg.coherence, gen, cfg.n_pilots)
        z_hat = from_symbols(y, c, h, w) * keep.repeat_interleave(2, dim=1)[:, :, None, None]
        return self.dec(z_hat, snr, m.to(z.dtype) / (c // 2)), scale


def _model_state(enc, dec) -> dict[str, torch.Tensor]:
    """The flat ``encoder.*`` / ``decoder.*`` state that :func:`codec_from_state` reads."""
    return {f"encoder.{k}": v for k, v in enc.state_dict().items()} | {
        f"decoder.{k}": v for k, v in dec.state_dict().items()}


def _save(path: Path, enc, dec, opt, step: int, cfg: CodecTrainConfig, with_optimizer: bool,
          extra: dict | None = None, scale: dict | None = None) -> None:
    tensors = _model_state(enc, dec)
    if with_optimizer:
        tensors |= optimizer_tensors(opt)
    meta = {"config": json.dumps(asdict(cfg)), "step": str(step), "format": FORMAT} | (scale or {})
    if extra:
        meta["metrics"] = json.dumps(extra)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=meta)
    tmp.replace(path)


def evaluate(codec, images: list[np.ndarray], snrs=(0, 10, 20), channel: str = "awgn",
             seed: int = 0, send=None) -> dict[str, float]:
    """Mean PSNR (dB) of ``codec`` (at its k/n) on ``images`` through the software channel
    and the pilot-block modem. Keys: ``psnr_<channel>_<snr>db``. ``send``: the path
    through the modem (default :func:`~privsem.codec.link.send_jscc`; softcast, hda and
    the digital code use :func:`~privsem.codec.link.send_zf`)."""
    from ..metrics import psnr
    from .link import send_jscc

    send = send or send_jscc
    return {f"psnr_{channel}_{snr}db": round(float(np.mean(
        [psnr(img, send(codec, img, channel, snr, seed + i)) for i, img in enumerate(images)])), 2)
        for snr in snrs}


def held_out_metrics(codec: JSCCCodec, images: list[np.ndarray]) -> dict[str, float]:
    """PSNR at 0/10/20 dB, AWGN and Rayleigh, for every k/n: ``psnr_1/6_awgn_10db``."""
    out = {}
    for kn in codec.kn_choices:
        view = codec.at(kn)
        for ch in ("awgn", "rayleigh"):
            out |= {k.replace("psnr_", f"psnr_{kn}_"): v for k, v in evaluate(view, images, channel=ch).items()}
    return out


def _resume(ckpt: Path, enc, dec, opt) -> int:
    state = load_file(str(ckpt))
    with safe_open(str(ckpt), "pt") as f:
        step = int(f.metadata()["step"])
    _load_part(enc, state, "encoder.", str(ckpt))
    _load_part(dec, state, "decoder.", str(ckpt))
    load_optimizer_tensors(opt, state)
    return step


def train_codec(out: Path, cfg: CodecTrainConfig, data_dir: Path | None = None,
                resume: bool = False, checkpoint_every: int = 500,
                opts: TrainOptions | None = None) -> dict[str, float]:
    """Train and write ``out`` (model + config + metrics) and ``out.ckpt`` (resumable).
    Returns held-out metrics (rank 0; other ranks return ``{}``). ``opts``: device,
    ``amp``, ``accum`` (default: float32 on the CPU, one micro-batch). The exported
    model's tensors are on the CPU whatever the device; the held-out metrics run there
    too (the PHY is numpy)."""
    opts = opts or TrainOptions()
    if not cfg.rates or max(cfg.rates) > cfg.c_out // 2 or min(cfg.rates) < 1:
        raise PrivsemError(f"rates {list(cfg.rates)} must lie in 1..{cfg.c_out // 2} (c_out/2)")
    ckpt = out.with_suffix(".ckpt")
    cfg.batch = resume_batch(ckpt, resume, cfg.batch, world_size(), opts.accum)
    rank, world = distributed(opts.device)
    device = rank_device(opts.device)
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    train_imgs = folder_images(data_dir, "train") if data_dir else default_images("train")
    held = folder_images(data_dir, "heldout") if data_dir else default_images("heldout")
    enc, dec = JSCCEncoder(cfg.width, cfg.c_out, cfg.depth), JSCCDecoder(cfg.width, cfg.c_out, cfg.depth)
    link = _Link(enc, dec, cfg).to(device)
    opt = torch.optim.Adam(link.parameters(), lr=cfg.lr)
    step = start_step(ckpt, resume, lambda c: _resume(c, enc, dec, opt))
    model = ddp(link, device, world)
    scaler = opts.scaler()
    stream = stream_seed(cfg.seed, rank, step)
    sampler = CropSampler(train_imgs, cfg.crop, seed=stream)
    gen = torch.Generator().manual_seed(stream)
    rates = torch.tensor(cfg.rates)
    local = cfg.batch // (world * opts.accum)
    scale_meta = checkpoint_meta(world, cfg.batch, opts, device)
    bar = tqdm(total=cfg.steps, initial=step, desc="train codec", unit="step", disable=rank != 0)
    t0 = time.time()

    def micro(_):
        x = torch.from_numpy(sampler.sample(local)).to(device)
        snr = (cfg.snr_min_db + (cfg.snr_max_db - cfg.snr_min_db) * torch.rand(local, generator=gen)).to(device)
        ray = (torch.rand(local, generator=gen) < cfg.rayleigh_fraction).to(device)
        m = rates[torch.randint(len(rates), (local,), generator=gen)].to(device)
        rec, scale = model(x, snr, ray, m, gen)
        mse = torch.mean((rec.float() - x) ** 2)
        return mse + cfg.scale_weight * scale, mse

    while step < cfg.steps:
        lr = cosine_lr(step, cfg.lr, cfg.steps)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        mses = [m for _, m in accumulate(model, opts, scaler, micro)]
        optimizer_step(opt, scaler)
        step += 1
        bar.update(1)
        mse = mses[0] if len(mses) == 1 else torch.stack(mses).mean()
        bar.set_postfix(psnr=f"{-10 * np.log10(mse.item() + 1e-12):.2f}", lr=f"{lr:.1e}")
        if rank == 0 and (step % checkpoint_every == 0 or step == cfg.steps):
            _save(ckpt, enc, dec, opt, step, cfg, with_optimizer=True, scale=scale_meta)
    bar.close()
    if world > 1:
        check_replicas(link)
    if rank != 0:
        torch.distributed.barrier()
        return {}
    codec = codec_from_state({k: v.cpu() for k, v in _model_state(enc, dec).items()}, asdict(cfg))
    metrics = held_out_metrics(codec, held)
    metrics["train_seconds_this_run"] = round(time.time() - t0, 1)
    metrics["world_size"] = world
    _save(out, enc, dec, opt, step, cfg, with_optimizer=False, extra=metrics)
    if world > 1:
        torch.distributed.barrier()
    return metrics
