"""``privsem view``."""

from __future__ import annotations

import click

from ..view.events import DEFAULT_EVENTS
from . import cli


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="HTTP port of the page (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; anything but loopback shows the private images to the network.")
@click.option("--events", default=DEFAULT_EVENTS, show_default=True,
              help="ZMQ endpoint runs publish to (loopback/rx/eval --view=ENDPOINT).")
def view(port, host, events) -> None:
    """A live page of the runs started with --view: images, frames, SNR/CFO, CRC, PSNR, identity."""
    from ..view.server import run_view

    run_view(host, port, events)
