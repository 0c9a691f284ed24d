"""Training of the JSCC over AWGN and Rayleigh block fading (MMSE-equalized), 0–20 dB.

Resumable: the checkpoint (safetensors) holds the model, the Adam state and the step.
The exported file holds the model and its config only.
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

from ..errors import PrivsemError
from .base import JSCCCodec, codec_from_state
from .data import CropSampler, default_images, folder_images
from .jscc import JSCCDecoder, JSCCEncoder, from_symbols, to_symbols


@dataclass
class CodecTrainConfig:
    """Hyper-parameters; all stored in the checkpoint's metadata."""

    width: int = 48
    c_out: int = 16
    crop: int = 64
    batch: int = 16
    steps: int = 6000
    lr: float = 2e-3
    snr_min_db: float = 0.0
    snr_max_db: float = 20.0
    rayleigh_fraction: float = 0.5
    coherence: int = 256
    seed: int = 0


def simulate_channel(s: torch.Tensor, snr_db: torch.Tensor, rayleigh: torch.Tensor,
                     coherence: int, gen: torch.Generator) -> torch.Tensor:
    """Differentiable channel for training: AWGN, or Rayleigh block fading followed by
    the receiver's MMSE equalizer with perfect CSI. ``s`` complex64 ``(B, n)``."""
    b, n = s.shape
    no = 10.0 ** (-snr_db / 10.0)
    n_blocks = -(-n // coherence)
    h = torch.complex(torch.randn(b, n_blocks, generator=gen), torch.randn(b, n_blocks, generator=gen))
    h = (h / np.sqrt(2)).repeat_interleave(coherence, dim=1)[:, :n]
    h = torch.where(rayleigh[:, None], h, torch.ones_like(h))
    noise = torch.complex(torch.randn(b, n, generator=gen), torch.randn(b, n, generator=gen))
    y = h * s + noise * torch.sqrt(no / 2)[:, None]
    return torch.conj(h) * y / (h.abs() ** 2 + no[:, None])


def cosine_lr(step: int, cfg: CodecTrainConfig) -> float:
    """Cosine decay from ``cfg.lr`` to 5 % of it over ``cfg.steps`` (closed form, so a
    resumed run continues the same schedule)."""
    lo = 0.05 * cfg.lr
    return lo + (cfg.lr - lo) * 0.5 * (1 + np.cos(np.pi * min(step, cfg.steps) / cfg.steps))


def _save(path: Path, enc, dec, opt, step: int, cfg: CodecTrainConfig, with_optimizer: bool,
          extra: dict | None = None) -> None:
    tensors = {f"encoder.{k}": v for k, v in enc.state_dict().items()}
    tensors.update({f"decoder.{k}": v for k, v in dec.state_dict().items()})
    if with_optimizer:
        for i, st in opt.state_dict()["state"].items():
            for k, v in st.items():
                tensors[f"optim.{i}.{k}"] = torch.as_tensor(v)
    meta = {"config": json.dumps(asdict(cfg)), "step": str(step), "format": "privsem-jscc-1"}
    if extra:
        meta["metrics"] = json.dumps(extra)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=meta)
    tmp.replace(path)


def evaluate(codec: JSCCCodec, images: list[np.ndarray], snrs=(0, 10, 20), channel: str = "awgn",
             seed: int = 0) -> dict[str, float]:
    """Mean PSNR (dB) of ``codec`` on ``images`` through the software channel + pilot modem."""
    from ..channel import build_channel
    from ..metrics import psnr
    from ..phy import PilotBlockModem

    modem = PilotBlockModem()
    out = {}
    for snr in snrs:
        vals = []
        for i, img in enumerate(images):
            x = codec.encode(img.transpose(2, 0, 1)[None], snr)[0]
            ch = build_channel(channel, seed=seed + i)(modem.modulate(x), snr)
            y, _ = modem.demodulate(ch.y, x.size, ch.no)
            rec = codec.decode(y[None], snr, img.shape[:2])[0].transpose(1, 2, 0)
            vals.append(psnr(img, rec))
        out[f"psnr_{channel}_{snr}db"] = round(float(np.mean(vals)), 2)
    return out


def train_codec(out: Path, cfg: CodecTrainConfig, data_dir: Path | None = None,
                resume: bool = False, checkpoint_every: int = 500) -> dict[str, float]:
    """Train and write ``out`` (model + config) and ``out.ckpt`` (resumable). Returns
    held-out metrics."""
    torch.manual_seed(cfg.seed)
    train_imgs = folder_images(data_dir, "train") if data_dir else default_images("train")
    held = folder_images(data_dir, "heldout") if data_dir else default_images("heldout")
    sampler = CropSampler(train_imgs, cfg.crop, seed=cfg.seed)
    enc, dec = JSCCEncoder(cfg.width, cfg.c_out), JSCCDecoder(cfg.width, cfg.c_out)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr)
    ckpt = out.with_suffix(".ckpt")
    step = 0
    if resume and ckpt.is_file():
        state = load_file(str(ckpt))
        with safe_open(str(ckpt), "pt") as f:
            step = int(f.metadata()["step"])
        enc.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
        dec.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("decoder.")})
        osd = opt.state_dict()
        for k, v in state.items():
            if k.startswith("optim."):
                _, i, name = k.split(".", 2)
                osd["state"].setdefault(int(i), {})[name] = v
        opt.load_state_dict(osd)
        sampler.rng = np.random.default_rng(cfg.seed + step)
    elif resume:
        raise PrivsemError(f"nothing to resume: {ckpt} does not exist")
    gen = torch.Generator().manual_seed(cfg.seed + step)
    bar = tqdm(total=cfg.steps, initial=step, desc="train codec", unit="step")
    t0 = time.time()
    while step < cfg.steps:
        x = torch.from_numpy(sampler.sample(cfg.batch))
        snr = cfg.snr_min_db + (cfg.snr_max_db - cfg.snr_min_db) * torch.rand(cfg.batch, generator=gen)
        ray = torch.rand(cfg.batch, generator=gen) < cfg.rayleigh_fraction
        z = enc(x, snr)
        y = simulate_channel(to_symbols(z), snr, ray, cfg.coherence, gen)
        rec = dec(from_symbols(y, cfg.c_out, *z.shape[-2:]), snr)
        loss = torch.mean((rec - x) ** 2)
        lr = cosine_lr(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(psnr=f"{-10 * np.log10(loss.item() + 1e-12):.2f}", lr=f"{lr:.1e}")
        if step % checkpoint_every == 0 or step == cfg.steps:
            _save(ckpt, enc, dec, opt, step, cfg, with_optimizer=True)
    bar.close()
    state = {f"encoder.{k}": v for k, v in enc.state_dict().items()}
    state.update({f"decoder.{k}": v for k, v in dec.state_dict().items()})
    codec = codec_from_state(state, asdict(cfg))
    metrics = evaluate(codec, held, channel="awgn") | evaluate(codec, held, channel="rayleigh")
    metrics["train_seconds_this_run"] = round(time.time() - t0, 1)
    _save(out, enc, dec, opt, step, cfg, with_optimizer=False, extra=metrics)
    return metrics
