"""``privsem train ...``: training commands (long runs are commands, never tests)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli
from .options import device_option, train_options

FINETUNE_STEPS = 300  # 1.75 s a step at batch 16 on 2 cores: a new DB entity is Bob's in under 10 min


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
@train_options
def train_codec_cmd(out, data_dir, steps, batch, crop, width, depth, c_out, rates, lr, seed, resume,
                    train_opts) -> None:
    """Train the JSCC over AWGN and Rayleigh fading, 0–20 dB; print held-out PSNR.

    Multi-process: torchrun --standalone --nproc_per_node 2 -m privsem train codec ...
    (NCCL with --device cuda, one GPU per process; see docs/scale.md)
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
    metrics = train_codec(out, cfg, data_dir=data_dir, resume=resume, opts=train_opts)
    if metrics:
        click.echo(json.dumps(metrics))


@train.group("recovery")
def train_recovery_group() -> None:
    """The diffusion recovery: `base` (generic pictures, Eve's model) then `finetune`
    (Algorithm 2 on a privacy DB, Bob's model). Multi-process: torchrun --standalone
    --nproc_per_node 2 -m privsem train recovery ..."""


def _recovery_options(f):
    for opt in reversed([
        click.option("--steps", type=int, default=None, help="Optimizer steps [base 8000, finetune 300: about 9 min on 2 cores]."),
        click.option("--batch", type=int, default=16, show_default=True,
                     help="Tiles per step (split over the processes under torchrun)."),
        click.option("--lr", type=float, default=None, help="Peak learning rate [base 3e-4, finetune 1e-4]."),
        click.option("--cond-drop", type=float, default=0.15, show_default=True,
                     help="Share of tiles trained with the zero prompt token."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--resume", is_flag=True, help="Continue from OUT's .ckpt."),
    ]):
        f = opt(f)
    return train_options(f)


@train_recovery_group.command("base")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("models/recovery_base.safetensors"), show_default=True)
@click.option("--resolution", type=int, default=96, show_default=True, help="Tile side in pixels (multiple of 8).")
@click.option("--channels", default="32,64,128,128", show_default=True, help="U-Net block widths.")
@_recovery_options
def train_recovery_base_cmd(out, resolution, channels, steps, batch, lr, cond_drop, seed, resume, train_opts) -> None:
    """Train the base recovery U-Net on generic pictures (never the DB's)."""
    from ..errors import PrivsemError
    from ..recovery.diffusion import RecoveryModelConfig
    from ..recovery.train import RecoveryTrainConfig, base_sampler_factory, train_recovery
    from ..text import default_text_encoder

    try:
        ch = tuple(int(c) for c in channels.split(","))
    except ValueError:
        raise PrivsemError(f"--channels must be comma-separated integers, got {channels!r}") from None
    if resolution % 2 ** (len(ch) - 1) or resolution < 16:
        raise PrivsemError(f"--resolution {resolution} must be ≥ 16 and divisible by {2 ** (len(ch) - 1)}")
    mcfg = RecoveryModelConfig(resolution=resolution, channels=ch)
    tcfg = RecoveryTrainConfig(steps=steps or 8000, batch=batch, lr=lr or 3e-4, cond_drop=cond_drop, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    factory = base_sampler_factory(default_text_encoder(), resolution, tcfg.blob_fraction)
    summary = train_recovery(out, factory, tcfg, "base", mcfg=mcfg, resume=resume, opts=train_opts)
    if summary:
        click.echo(json.dumps(summary))


@train_recovery_group.command("finetune")
@click.option("--db", "db_dir", required=True, type=click.Path(path_type=Path), help="The privacy DB.")
@click.option("--base", "base_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Base weights [models/recovery_base.safetensors].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the weights here (they are always installed into the DB).")
@click.option("--prior-fraction", type=float, default=0.3, show_default=True,
              help="Share of generic tiles mixed in (prior preservation).")
@click.option("--sd-path", type=click.Path(path_type=Path), default=None,
              help="Fine-tune a local Stable Diffusion inpainting checkpoint (diffusers folder) instead.")
@_recovery_options
def train_recovery_finetune_cmd(db_dir, base_path, out, prior_fraction, sd_path, steps, batch, lr, cond_drop,
                                seed, resume, train_opts) -> None:
    """Algorithm 2: fine-tune on the DB's sample images and prompts; installs the result
    into the DB (recovery/finetuned.safetensors, sha256 in its manifest)."""
    from ..database import PrivacyDB
    from ..errors import PrivsemError
    from ..recovery.diffusion import load_recovery_model
    from ..recovery.train import RecoveryTrainConfig, finetune_sampler_factory, train_recovery
    from ..text import default_text_encoder

    db = PrivacyDB.open(db_dir)
    tcfg = RecoveryTrainConfig(steps=steps or FINETUNE_STEPS, batch=batch, lr=lr or 1e-4, cond_drop=cond_drop,
                               prior_fraction=prior_fraction, seed=seed)
    if sd_path is not None:
        from ..recovery.sd import finetune_sd

        target = out or db.root / db.SD_RECOVERY
        summary = finetune_sd(sd_path, db, target, tcfg, resume=resume, opts=train_opts)
        if target.resolve() == (db.root / db.SD_RECOVERY).resolve():
            db.set_sd_recovery()
        click.echo(json.dumps(summary))
        return
    base = load_recovery_model(base_path)
    text = default_text_encoder()
    if base.config.text_dim != text.dim:
        raise PrivsemError(f"the base model takes {base.config.text_dim}-d prompt embeddings, the text encoder "
                           f"gives {text.dim}-d")
    target = out or db.root / db.RECOVERY
    target.parent.mkdir(parents=True, exist_ok=True)
    factory = finetune_sampler_factory(db, text, base.config.resolution,
                                       tcfg.blob_fraction, prior_fraction)
    summary = train_recovery(target, factory, tcfg, "finetune", init=base, resume=resume, opts=train_opts,
                             meta={"db_fingerprint": db.fingerprint(),
                                   "entities": [e.name for e in db.entities]})
    if summary:
        db.set_recovery(target)
        click.echo(json.dumps(summary | {"installed": str(db.root / db.RECOVERY)}))


@train.command("joint")
@click.option("--db", "db_dir", required=True, type=click.Path(path_type=Path), help="Privacy DB (Bob's side).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the jointly trained JSCC, Bob's U-Net, guard margins and report.json.")
@click.option("--steps", type=int, default=300, show_default=True)
@click.option("--batch", type=int, default=8, show_default=True)
@click.option("--tau", "tau_db", type=float, default=5.0, show_default=True,
              help="SNR threshold τ (dB): training SNRs are drawn from [τ, τ+15].")
@click.option("--p-max", type=float, default=1.0, show_default=True, help="Average symbol power P_max.")
@click.option("--leak-weight", type=float, default=1.0, show_default=True, help="w in L_a + w·f.")
@click.option("--scenes", "n_scenes", type=int, default=48, show_default=True, help="Calibration scenes to train on.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT/joint.ckpt.")
@train_options
def train_joint_cmd(db_dir, out, steps, batch, tau_db, p_max, leak_weight, n_scenes, seed, resume,
                    train_opts) -> None:
    """Algorithm 3: guard margin, JSCC and Bob's recovery end to end on L_a + w·f.

    Compare with the separate parts: privsem eval with `joint = "OUT"` in the config."""
    from ..errors import PrivsemError
    from ..joint import JointConfig, train_joint

    if not (steps >= 1 and batch >= 1 and p_max > 0 and leak_weight >= 0 and n_scenes >= 2 and -10 <= tau_db <= 30):
        raise PrivsemError("need --steps ≥ 1, --batch ≥ 1, --p-max > 0, --leak-weight ≥ 0, --scenes ≥ 2, "
                           "−10 ≤ --tau ≤ 30")
    cfg = JointConfig(steps=steps, batch=batch, tau_db=tau_db, p_max=p_max, leak_weight=leak_weight,
                      n_scenes=n_scenes, seed=seed)
    r = train_joint(out, db_dir, cfg, resume=resume, opts=train_opts)
    for split in ("train", "heldout"):
        b, a = (r["before"] or {}).get(split, {}), r["after"][split]
        click.echo(f"{split}: L_a {b.get('l_a', float('nan')):.4f} → {a['l_a']:.4f}, "
                   f"f soft {b.get('f_soft', float('nan')):.3f} → {a['f_soft']:.3f}, "
                   f"f hard {b.get('f_hard', float('nan')):.3f} → {a['f_hard']:.3f}")
    click.echo(f"guard margins (tile px): {r['margin_tile_px']} → {out}")


@train.command("refine")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("models/softcast_refine.safetensors"), show_default=True,
              help="Weights to write; the resumable checkpoint goes beside it as .ckpt.")
@click.option("--steps", type=int, default=3000, show_default=True)
@click.option("--batch", type=int, default=16, show_default=True, help="128² crops per step.")
@click.option("--pool", type=int, default=240, show_default=True,
              help="(estimate, original) pairs kept; one is replaced every --refresh-every steps.")
@click.option("--refresh-every", type=int, default=2, show_default=True)
@click.option("--width", type=int, default=32, show_default=True, help="Conv channels.")
@click.option("--depth", type=int, default=6, show_default=True, help="Conv layers (at half resolution).")
@click.option("--coarse", type=int, default=0, show_default=True,
              help="Conv layers of a quarter-resolution branch (0: none).")
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT's .ckpt.")
@device_option
def train_refine_cmd(out, steps, batch, pool, refresh_every, width, depth, coarse, lr, seed, resume, device) -> None:
    """Train softcast's learned refinement after the LMMSE estimate on photos that are
    never benchmark images (Debian's wallpapers and libjxl test photos, see
    privsem.codec.photos); print held-out PSNR with and without it."""
    from ..codec.refine import RefineConfig
    from ..codec.refine_train import RefineTrainConfig, train_refiner
    from ..errors import PrivsemError

    if min(steps, batch, pool, refresh_every, width) < 1 or depth < 3 or coarse < 0:
        raise PrivsemError("need --steps, --batch, --pool, --refresh-every, --width ≥ 1, --depth ≥ 3, --coarse ≥ 0")
    cfg = RefineTrainConfig(steps=steps, batch=batch, pool=pool, refresh_every=refresh_every, lr=lr, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    metrics = train_refiner(out, cfg, RefineConfig(width=width, depth=depth, coarse=coarse), resume=resume,
                            device=device)
    click.echo(json.dumps(metrics))
