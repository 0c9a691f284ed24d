"""Radio profiles for the stand-in radios in ``fake_radio/`` (run them with
``PRIVSEM_FLOWGRAPHS=FAKE``): programs with the real radio flowgraphs' command line,
joined by a ZMQ PUB/SUB "air" at ``air``."""

from pathlib import Path

FAKE = Path(__file__).parent / "fake_radio"


def fake_profile(path: Path, name: str, device_args: str, air: str) -> Path:
    """Write a profile for the stand-ins to ``path``; ``device_args`` reach them as
    ``--dev-args`` (``noise=SIGMA``, and ``const_log=FILE`` for the GUI variant)."""
    path.write_text(f"""name: {name}
driver: osmosdr
tx_flowgraph: fake_tx
rx_flowgraph: fake_rx
device_args: "{device_args}"
sample_rate: {{default: 200000, min: 100000, max: 1000000}}
frequency: {{min: 1000000, max: 6000000000}}
tx_gain: {{min: 0, max: 70, default: 50, step: 1}}
rx_gain: {{min: 0, max: 70, default: 20, step: 1}}
full_duplex: false
flowgraph_params:
  tx: {{air: "{air}"}}
  rx: {{air: "{air}"}}
notes: a test stand-in
""")
    return path
