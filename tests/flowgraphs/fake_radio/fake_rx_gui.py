"""The stand-in RX radio's "GUI variant" (what ``privsem rx --radio ... --gui`` starts):
fake_rx.py with its ``--const-addr`` in use."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("fake_rx.py")), run_name="__main__")
