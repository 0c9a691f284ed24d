"""``privsem train ...``: training commands (long runs are commands, never tests)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli


@cli.group()
def train() -> None:
    """Train the project's models (CPU is fine; resumable with --resume)."""


@train.command("codec")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("models/jscc_small.safetensors"), show_default=True,
              help="Weights to write; the resumable checkpoint goes beside it as .ckpt.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of training images (default: scikit-image's bundled set).")
@click.option("--steps", type=int, default=20000, show_default=True)
@click.option("--batch", type=int, default=32, show_default=True,
              help="Crops per step (split over the processes under torchrun).")
@click.option("--crop", type=int, default=64, show_default=True)
@click.option("--width", type=int, default=48, show_default=True, help="Conv channels.")
@click.option("--depth", type=int, default=5, show_default=True, help="Conv layers per side.")
@click.option("--c-out", type=int, default=16, show_default=True,
              help="Real latent channels per 4×4 patch (c_out/2 complex).")
@click.option("--rates", default=None,
              help="Complex channels m the model learns to send, k/n = m/48; several (2,4,8) train one "
                   "model for 1/24, 1/12 and 1/6. Default: c_out/2.")
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT's .ckpt.")
def train_codec_cmd(out, data_dir, steps, batch, crop, width, depth, c_out, rates, lr, seed, resume) -> None:
    """Train the JSCC over AWGN and Rayleigh fading, 0–20 dB; print held-out PSNR.

    Multi-process: torchrun --standalone --nproc_per_node 2 -m privsem train codec ...
    """
    from ..codec.train import CodecTrainConfig, train_codec
    from ..errors import PrivsemError

    try:
        ms = tuple(sorted({int(r) for r in rates.split(",")})) if rates else (c_out // 2,)
    except ValueError:
        raise PrivsemError(f"--rates must be comma-separated integers, got {rates!r}") from None
    cfg = CodecTrainConfig(width=width, depth=depth, c_out=c_out, rates=ms, crop=crop, batch=batch,
                           steps=steps, lr=lr, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    metrics = train_codec(out, cfg, data_dir=data_dir, resume=resume)
    if metrics:
        click.echo(json.dumps(metrics))
