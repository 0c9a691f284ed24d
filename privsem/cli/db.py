"""``privsem db ...``: the privacy database."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import PrivsemError
from . import cli


@cli.group()
def db() -> None:
    """Create, fill and inspect a privacy database (shared by Tx and Bob only)."""


@db.command("create")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--encoder", default="mobilenet_v2", show_default=True,
              help="Guard image encoder: mobilenet_v2 | sam-vit_b | sam-vit_l | sam-vit_h | mobilesam-vit_t.")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="The encoder's weights file (required for the SAM encoders).")
def create(directory: Path, encoder: str, checkpoint: Path | None) -> None:
    """Create an empty DB in DIRECTORY."""
    from ..database import PrivacyDB

    PrivacyDB.create(directory, encoder=encoder, checkpoint=checkpoint)
    click.echo(f"created privacy database {directory} (encoder {encoder})")


@db.command("add")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("name")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--prompt", required=True, help='Text that names the entity, e.g. "the cat Vicky".')
@click.option("--threshold", type=float, default=None, help="Γ (default: provisional, from the samples).")
@click.option("--mask", "masks", multiple=True, type=click.Path(path_type=Path),
              help="The entity's silhouette in each image (PNG, white = entity), one --mask per image in "
                   "order; without it the entity is found in the images.")
def add(directory: Path, name: str, images: tuple[Path, ...], prompt: str, threshold: float | None,
        masks: tuple[Path, ...]) -> None:
    """Add entity NAME with its sample IMAGES (whole scenes are fine: the entity is found
    in them). Then run `privsem db calibrate DIR` to set Γ against other people and animals."""
    from ..database import PrivacyDB

    e = PrivacyDB.open(directory).add(name, prompt, list(images), threshold=threshold, masks=list(masks) or None)
    face = f", face path ({len(e.faces)} faces)" if e.faces is not None and len(e.faces) else ""
    click.echo(f"added {e.name}: {len(e.samples)} samples with silhouettes{face}, Γ = {e.threshold:.3f} "
               f"(provisional: run privsem db calibrate {directory})" if threshold is None else
               f"added {e.name}: {len(e.samples)} samples with silhouettes{face}, Γ = {e.threshold:.3f}")


@db.command("upgrade")
@click.argument("directory", type=click.Path(path_type=Path))
def upgrade(directory: Path) -> None:
    """Bring a DB of an older privsem to the current format (adds silhouettes, prototypes
    and faces; keeps every sample, prompt and Bob's models; Γ becomes provisional: calibrate next)."""
    from ..database import PrivacyDB

    names = PrivacyDB.open(directory).upgrade()
    click.echo(f"upgraded {directory}: {', '.join(names)}; now run privsem db calibrate {directory}" if names
               else f"{directory} is already current")


@db.command("list")
@click.argument("directory", type=click.Path(path_type=Path))
def list_(directory: Path) -> None:
    """List the entities of a DB."""
    from ..database import PrivacyDB

    d = PrivacyDB.open(directory)
    click.echo(f"{'name':<16} {'samples':>7} {'Γ':>6}  prompt")
    for e in d.entities:
        click.echo(f"{e.name:<16} {len(e.samples):>7} {e.threshold:>6.3f}  {e.prompt}")
    if d.encrypted:
        click.echo("(sample images encrypted at rest)")


@db.command("remove")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("name")
def remove(directory: Path, name: str) -> None:
    """Remove entity NAME and its files."""
    from ..database import PrivacyDB

    PrivacyDB.open(directory).remove(name)
    click.echo(f"removed {name} from {directory}")


@db.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
def verify(directory: Path) -> None:
    """Check the sha256 of every file of a DB (exit 1 on any change or missing file)."""
    from ..database import PrivacyDB

    n = PrivacyDB.verify(directory)
    click.echo(f"{directory}: {n} files verified")


def _interactive() -> bool:
    import sys

    return sys.stdin.isatty()


def _passphrase(directory: Path, confirm: bool) -> str:
    """``$PRIVSEM_DB_PASSPHRASE``, else asked on the terminal (twice if ``confirm``)."""
    import os

    from ..database.crypto import ENV

    if os.environ.get(ENV):
        return os.environ[ENV]
    if not _interactive():
        raise PrivsemError(f"no passphrase for {directory}: set {ENV} (no terminal to ask on)")
    return click.prompt(f"passphrase for {directory}", hide_input=True, confirmation_prompt=confirm)


@db.command("encrypt")
@click.argument("directory", type=click.Path(path_type=Path))
def encrypt(directory: Path) -> None:
    """Encrypt the sample images of DIRECTORY at rest (scrypt + AES-256-GCM).

    The passphrase comes from $PRIVSEM_DB_PASSPHRASE, or is asked twice on a terminal;
    every later command that reads the samples needs it in $PRIVSEM_DB_PASSPHRASE.
    Run again on an encrypted DB to delete plaintexts an interrupted run left behind."""
    from ..database import PrivacyDB

    d = PrivacyDB.open(directory)
    was = d.encrypted
    n, leftovers = d.encrypt(_passphrase(directory, confirm=not was))
    if was:
        click.echo(f"{directory} is already encrypted; deleted {leftovers} leftover plaintext samples")
    else:
        click.echo(f"encrypted {n} sample images in {directory}")


@db.command("decrypt")
@click.argument("directory", type=click.Path(path_type=Path))
def decrypt(directory: Path) -> None:
    """Store the sample images of DIRECTORY in clear again (passphrase as for encrypt)."""
    from ..database import PrivacyDB

    d = PrivacyDB.open(directory)
    if not d.encrypted:
        raise PrivsemError(f"privacy database {directory} is not encrypted")
    n = d.decrypt(_passphrase(directory, confirm=False))
    click.echo(f"decrypted {n} sample images in {directory}")


@db.command("calibrate")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--max-fpr", type=float, default=0.05, show_default=True, help="False-positive rate allowed.")
@click.option("--scenes", "n_scenes", type=int, default=None,
              help="Calibration scenes (default: 80, or 8 per entity, whichever is more).")
def calibrate(directory: Path, max_fpr: float, n_scenes: int | None) -> None:
    """Choose Γ per entity from an ROC on calibration scenes; store it and print it."""
    from ..database import PrivacyDB
    from ..database.calibrate import calibrate_db

    d = PrivacyDB.open(directory)
    if not d.entities:
        raise PrivsemError(f"{directory} has no entity to calibrate")
    from ..database.calibrate import default_scenes

    n_scenes = n_scenes or default_scenes(len(d.entities))
    click.echo(f"{'name':<16} {'Γ':>7} {'TPR':>6} {'FPR':>6}  positives/negatives")
    for p in calibrate_db(d, n_scenes=n_scenes, max_fpr=max_fpr):
        click.echo(f"{p.entity:<16} {p.threshold:>7.4f} {p.tpr:>6.3f} {p.fpr:>6.3f}  {p.positives}/{p.negatives}")


@db.command("import")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--prompt", "template", default="the cat {name}", show_default=True,
              help="Prompt template; {name} is the folder's name.")
@click.option("--max-samples", type=int, default=8, show_default=True, help="Samples per individual.")
@click.option("--limit", type=int, default=None, help="Import only the first N individuals.")
def import_(directory: Path, source: Path, template: str, max_samples: int, limit: int | None) -> None:
    """Add one entity per sub-folder of SOURCE (e.g. the cat-individuals data set)."""
    from ..database.folders import import_folders

    names = import_folders(directory, source, template, max_samples, limit)
    click.echo(f"imported {len(names)} entities into {directory}: {', '.join(names[:10])}"
               + (" …" if len(names) > 10 else ""))


@db.command("example")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--scenes", type=click.Path(path_type=Path), default=None,
              help="Also write test scenes (chelsea.png, astronaut.png, coffee.png) here.")
def example(directory: Path, scenes: Path | None) -> None:
    """Build the example DB from pictures bundled with scikit-image."""
    from ..database.example import build_example_db

    d = build_example_db(directory, scenes)
    names = ", ".join(e.name for e in d.entities)
    click.echo(f"built example privacy database {directory}: {names}"
               + (f"; scenes in {scenes}" if scenes else ""))
