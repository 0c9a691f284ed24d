"""``--gui``: the QT GUI variant of a flowgraph (``<name>_gui``: spectrum, waterfall and
the equalized constellation that privsem feeds back) instead of the headless one."""

from __future__ import annotations

import os
import time

from ..errors import PrivsemError


def gui_flowgraph(name: str) -> str:
    """The GUI variant's name; PrivsemError when there is no display to open it on."""
    if not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise PrivsemError("--gui needs a display: set DISPLAY (or run under xvfb-run), "
                           "or QT_QPA_PLATFORM=offscreen")
    return f"{name}_gui"


def hold(flowgraph, seconds: float | None, echo=print) -> None:
    """Keep a GUI flowgraph's window up after the run: ``seconds`` (0: not at all), or
    with None until its window is closed or Ctrl-C."""
    if seconds == 0 or not flowgraph.alive():
        return
    if seconds is None:
        echo("privsem: the GUI flowgraph stays open: close its window or press Ctrl-C to finish")
    end = None if seconds is None else time.monotonic() + seconds
    try:
        while flowgraph.alive() and (end is None or time.monotonic() < end):
            time.sleep(0.1)
    except KeyboardInterrupt:  # the way to end the hold; the run itself has finished
        pass
