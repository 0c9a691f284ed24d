"""privsem eval over "radios": the radio transport's process and socket handling, with
stand-in radio programs (tests/flowgraphs/fake_radio) joined by a ZMQ "air"."""

import json

from fake_radios import FAKE, fake_profile  # same folder (pytest puts it on sys.path)

from privsem.cli import main
from privsem.transport import free_tcp_endpoint


def test_eval_over_stand_in_radios(gr_python, tmp_path, example_db, monkeypatch):
    monkeypatch.setenv("PRIVSEM_FLOWGRAPHS", str(FAKE))
    air = free_tcp_endpoint()
    tx = fake_profile(tmp_path / "tx.yaml", "fake_tx", "noise=0.0", air)
    bob = fake_profile(tmp_path / "bob.yaml", "fake_bob", "noise=0.03", air)
    eve = fake_profile(tmp_path / "eve.yaml", "fake_eve", "noise=0.3", air)
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
