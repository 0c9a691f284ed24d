"""``privsem guard``: run the privacy guard on one image."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli
from .options import device_option


@cli.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--db", "db_dir", required=True, type=click.Path(path_type=Path), help="Privacy DB directory.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Output directory.")
@click.option("--threshold", type=float, default=None, help="Override every entity's Γ.")
@device_option
def guard(image: Path, db_dir: Path, out_dir: Path, threshold: float | None, device) -> None:
    """Find the DB's entities in IMAGE; write mask.png, guarded.png and guard.json."""
    from ..guard.run import run_guard

    report = run_guard(image, db_dir, out_dir, threshold, device=device)
    if not report["entities"]:
        click.echo("no entity of the database found; guarded.png is the image unchanged")
    for e in report["entities"]:
        click.echo(f"{e['name']}: score {e['score']:.3f}, {len(e['points'])} points, "
                   f"mask {100 * e['mask_fraction']:.1f}% ({e['prompt']!r})")
