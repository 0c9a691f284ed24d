"""``privsem bench ...``: print and save measured figures (never asserted by tests)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli
from .options import device_option


@cli.group()
def bench() -> None:
    """Benchmarks: print the figures and save them as JSON."""


def _emit(figures: dict, json_path: Path | None) -> None:
    text = json.dumps(figures, indent=2)
    click.echo(text)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text + "\n")


@bench.command("phy")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the figures here.")
@click.option("--frames", type=int, default=100, show_default=True, help="Frames for the throughput run.")
@click.option("--detection-frames", type=int, default=300, show_default=True,
              help="Frames for the 5 dB detection run.")
@click.option("--gnuradio-samples", type=int, default=20_000_000, show_default=True,
              help="Samples streamed through sim_channel.")
def bench_phy(json_path, frames, detection_frames, gnuradio_samples) -> None:
    """Modem throughput (Msps), 5 dB detection with impairments, GNU Radio sustained rate."""
    from ..bench.phy import run

    _emit(run(frames, detection_frames, gnuradio_samples), json_path)


@bench.command("guard")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the figures here.")
@click.option("--db", "db_dir", type=click.Path(path_type=Path), default=None,
              help="Privacy DB (default: the example DB, built in a temporary folder).")
@click.option("--scenes", "n_scenes", type=int, default=120, show_default=True, help="Held-out scenes.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--figure", "figure", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG of the first 12 scenes: true outline (green), removed pixels (red).")
@device_option
def bench_guard(json_path, db_dir, n_scenes, seed, figure, device) -> None:
    """Guard per entity: TPR, FPR on other people/animals and empty scenes, ROC AUC,
    mask IoU on real silhouettes, time per image, on held-out scenes."""
    from ..bench.guard import run

    _emit(run(db_dir, n_scenes, seed, figure, device=device), json_path)


def _floats(text: str) -> tuple[float, ...]:
    from ..errors import PrivsemError

    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise PrivsemError(f"expected comma-separated numbers, got {text!r}") from None


@bench.command("codec")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rows here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save PSNR vs SNR panels (PNG).")
@click.option("--images", "images_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of test images (default: the held-out default images).")
@click.option("--snrs", default="0,5,10,15,20", show_default=True, help="SNRs in dB.")
@click.option("--kn", "kns", default="1/6,1/12,1/24", show_default=True, help="Bandwidth ratios.")
@click.option("--channels", default="awgn,rayleigh", show_default=True)
@click.option("--image-codecs", default="jpeg,webp,avif", show_default=True)
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="JSCC safetensors (default: the committed model).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--design-snr", type=float, default=10.0, show_default=True,
              help="Also run both schemes built for this SNR at other SNRs (AWGN, first k/n).")
@click.option("--no-mismatch", is_flag=True, help="Skip the design-SNR mismatch rows.")
@click.option("--phy", "phy_vias", default="software", show_default=True,
              help="Also send every code through the OFDM PHY at --phy-snr (AWGN, first k/n): software, "
                   "gnuradio (the sim_channel flowgraph), both comma-separated, or none.")
@click.option("--phy-snr", type=float, default=10.0, show_default=True)
@click.option("--margins", default="5,2", show_default=True,
              help="hda/auto base-layer margins (dB below the design SNR); the first is --margin's default and "
                   "the PHY rows', the others add hda and auto rows (labelled auto@2dB).")
@device_option
def bench_codec(json_path, plot_path, images_dir, snrs, kns, channels, image_codecs, weights, seed,
                design_snr, no_mismatch, phy_vias, phy_snr, margins, device) -> None:
    """PSNR/SSIM of softcast, hda, the JSCC, the digital baseline and the capacity bound."""
    from ..bench.codec import plot, run
    from ..channel import CHANNELS
    from ..codec.base import parse_kn
    from ..codec.imagecodec import FORMATS
    from ..errors import PrivsemError

    chans = tuple(c.strip() for c in channels.split(","))
    codecs = tuple(c.strip().lower() for c in image_codecs.split(","))
    for c in chans:
        if c not in CHANNELS:
            raise PrivsemError(f"unknown channel {c!r} (known: {', '.join(CHANNELS)})")
    for c in codecs:
        if c not in FORMATS:
            raise PrivsemError(f"unknown image codec {c!r} (known: {', '.join(FORMATS)})")
    kn_list = tuple(str(parse_kn(k)) for k in kns.split(","))
    vias = () if phy_vias.strip() == "none" else tuple(v.strip() for v in phy_vias.split(","))
    for v in vias:
        if v not in ("software", "gnuradio"):
            raise PrivsemError(f"--phy {v!r}: known transports are software, gnuradio (or none)")
    margin_list = _floats(margins)
    if len(set(margin_list)) != len(margin_list) or not all(0 <= m <= 30 for m in margin_list):
        raise PrivsemError(f"--margins {margins}: distinct numbers from 0 to 30 dB")
    result = run(images_dir, _floats(snrs), kn_list, chans, codecs, weights, seed,
                 progress=lambda s: click.echo(s, err=True), design_snr=None if no_mismatch else design_snr,
                 device=device, phy_vias=vias, phy_snr=phy_snr, margins=margin_list)
    _emit(result, json_path)
    from ..codec.registry import DEFAULT_CODEC

    means = ", ".join(f"{k} {v:.2f}" for k, v in result["mean_psnr_per_codec"].items())
    click.echo(f"default codec by this run: {result['default_codec']} (mean PSNR dB: {means}); "
               f"privsem's --codec default: {DEFAULT_CODEC}", err=True)
    if plot_path is not None:
        plot(result, plot_path)


@bench.command("outline")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the figures here.")
@click.option("--scenes", "n_scenes", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Held-out entity scenes.")
@click.option("--snr", "snr_db", type=float, default=10.0, show_default=True)
def bench_outline(json_path, n_scenes, snr_db) -> None:
    """How much of a sealed region's outline Eve finds, smooth fill vs textured fill."""
    from ..bench.outline import run

    _emit(run(n_scenes, snr_db), json_path)


@bench.command("mcs")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--codewords", type=int, default=50, show_default=True)
def bench_mcs(json_path, codewords) -> None:
    """AWGN SNR each MCS needs (codeword errors < 2 %): the link-adaptation table."""
    from ..bench.codec import measure_thresholds

    _emit(measure_thresholds(n_codewords=codewords), json_path)


@bench.command("recovery")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the figures and rows here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save region PSNR / identity bar charts (PNG).")
@click.option("--examples", "examples_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save a grid of example outputs (PNG): original, received, Bob, Bob without text, Eve, Telea.")
@click.option("--scenes", "n_scenes", type=int, default=24, show_default=True, help="Held-out entity scenes.")
@click.option("--snrs", default="10,20", show_default=True, help="SNRs in dB.")
@click.option("--channel", default="awgn", show_default=True)
@click.option("--steps", type=int, default=20, show_default=True, help="Diffusion steps.")
@click.option("--scheduler", default="ddpm", show_default=True, help="ddpm | ddim")
@click.option("--variants", default=",".join(("bob", "bob_noise", "bob_notext", "eve", "eve_text", "exemplar",
                                               "exemplar_outline", "telea", "ns",
                                               "pushpull", "other")), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@device_option
def bench_recovery(json_path, plot_path, examples_path, n_scenes, snrs, channel, steps, scheduler, variants,
                   seed, device) -> None:
    """Bob vs Eve: region PSNR/SSIM, identity recognition, text ablation, classical baselines,
    mask-estimate IoU and the 256×256 recovery time, on held-out entity scenes."""
    from ..bench.recovery import VARIANTS, plot, plot_examples, run
    from ..channel import CHANNELS
    from ..errors import PrivsemError

    vs = tuple(v.strip() for v in variants.split(","))
    for v in vs:
        if v not in VARIANTS:
            raise PrivsemError(f"unknown variant {v!r} (known: {', '.join(VARIANTS)})")
    if channel not in CHANNELS:
        raise PrivsemError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    if n_scenes < 1 or steps < 1:
        raise PrivsemError("--scenes and --steps must be ≥ 1")
    from ..recovery import SCHEDULERS

    if scheduler not in SCHEDULERS:
        raise PrivsemError(f"unknown scheduler {scheduler!r} (known: {', '.join(SCHEDULERS)})")
    result = run(n_scenes, _floats(snrs), channel, steps, seed, vs, scheduler=scheduler, device=device)
    if examples_path is not None:
        plot_examples(result, examples_path)
    result.pop("_examples")
    _emit(result, json_path)
    if plot_path is not None:
        plot(result, plot_path)


@bench.command("soak")
@click.option("--images", type=int, default=100, show_default=True, help="Images to send (e.g. 1000).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (also when the run stops early).")
@click.option("--db", "db_dir", type=click.Path(path_type=Path), default=None,
              help="Privacy DB (default: the example DB, built in a temporary folder).")
@click.option("--distinct", type=int, default=8, show_default=True, help="Held-out scenes cycled through.")
@click.option("--snr", "snr_db", type=float, default=10.0, show_default=True, help="Bob's SNR (dB), AWGN.")
@click.option("--eve-snr", "eve_snr_db", type=float, default=10.0, show_default=True, help="Eve's SNR (dB), AWGN.")
@click.option("--recovery", default="telea", show_default=True, help="Recovery at both receivers (see privsem loopback).")
@click.option("--sample-every", type=int, default=25, show_default=True, help="Images between memory samples.")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
              help="Seconds to wait for an image's samples to come back.")
@click.option("--seed", type=int, default=0, show_default=True)
def bench_soak(images, json_path, db_dir, distinct, snr_db, eve_snr_db, recovery, sample_every, timeout_s, seed) -> None:
    """Many images through one GNU Radio sim_channel to Bob and Eve: frames sent / received /
    lost per role, resident memory and open fds of privsem and the flowgraph."""
    from ..bench.soak import SoakConfig, run_soak

    cfg = SoakConfig(images=images, db=str(db_dir or ""), distinct=distinct, snr_db=snr_db, eve_snr_db=eve_snr_db,
                     recovery=recovery, sample_every=sample_every, timeout_s=timeout_s, seed=seed)
    report = run_soak(cfg, json_path)
    _emit({k: v for k, v in report.items() if k != "samples"} | {"roles": {
        r: {k: v for k, v in rec.items() if k != "lost"} | {"lost": rec["lost"][:20]}
        for r, rec in report["roles"].items()}}, None)
