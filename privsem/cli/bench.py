"""``privsem bench ...``: print and save measured figures (never asserted by tests)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli


@cli.group()
def bench() -> None:
    """Benchmarks: print the figures and save them as JSON."""


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

    figures = run(frames, detection_frames, gnuradio_samples)
    text = json.dumps(figures, indent=2)
    click.echo(text)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text + "\n")
