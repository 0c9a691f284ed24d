"""privsem eval over "radios": the radio transport's process and socket handling, with
stand-in radio programs (tests/flowgraphs/fake_radio) joined by a ZMQ "air"."""

import json
from pathlib import Path

from privsem.cli import main
from privsem.transport import free_tcp_endpoint

FAKE = Path(__file__).parent / "fake_radio"


def _profile(path: Path, name: str, noise: float, air: str) -> Path:
    path.write_text(f"""name: {name}
driver: osmosdr
tx_flowgraph: fake_tx
rx_flowgraph: fake_rx
device_args: noise={noise}
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


def test_eval_over_stand_in_radios(gr_python, tmp_path, example_db, monkeypatch):
    monkeypatch.setenv("PRIVSEM_FLOWGRAPHS", str(FAKE))
    air = free_tcp_endpoint()
    tx = _profile(tmp_path / "tx.yaml", "fake_tx", 0.0, air)
    bob = _profile(tmp_path / "bob.yaml", "fake_bob", 0.03, air)
    eve = _profile(tmp_path / "eve.yaml", "fake_eve", 0.3, air)
    cfg = tmp_path / "ota.toml"
    cfg.write_text(f"transport = 'radio'\nchannels = ['awgn']\nn_images = 1\nsteps = 2\nvariants = ['full']\n"
                   f"db = '{example_db[0]}'\n[radio]\ntx = '{tx}'\nbob = '{bob}'\neve = '{eve}'\n"
                   f"sample_rate = 200000\ntx_gains = [50]\n")
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 0
    res = json.loads((tmp_path / "o" / "results.json").read_text())
    assert not res["failed_units"]
    by = {r["role"]: r for r in res["rows"]}
    assert by["bob"]["frames_lost"] == 0 and by["bob"]["point"] == 50
    # unit-power frames over noise σ = 0.03 (≈ 30 dB) and σ = 0.3 (≈ 10 dB): measured, not configured
    assert by["bob"]["snr_db"] > by["eve"]["snr_db"] + 10
    assert by["bob"]["identity_recognized"] and not by["eve"]["identity_recognized"]
