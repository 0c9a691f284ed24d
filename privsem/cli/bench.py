"""``privsem bench ...``: print and save measured figures (never asserted by tests)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli


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
@click.option("--scenes", "n_scenes", type=int, default=60, show_default=True, help="Held-out scenes.")
@click.option("--seed", type=int, default=0, show_default=True)
def bench_guard(json_path, db_dir, n_scenes, seed) -> None:
    """Guard detection TPR/FPR, mask IoU and time per image on held-out scenes."""
    from ..bench.guard import run

    _emit(run(db_dir, n_scenes, seed), json_path)
