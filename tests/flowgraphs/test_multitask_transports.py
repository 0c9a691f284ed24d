"""The second scheme over the GNU Radio sim_channel flowgraph and over stand-in radios:
frames, sync and equalization on the real PHY, the perturbation added in the sample domain."""

import json

import pytest

from privsem.cli import main
from privsem.multitask import MultitaskEvalConfig, PerturbationConfig, TrainConfig, evaluate, train_and_save
from privsem.transport import free_tcp_endpoint

from fake_radios import FAKE, fake_profile  # same folder (pytest puts it on sys.path)


@pytest.fixture(scope="module")
def link(tmp_path_factory):
    out = tmp_path_factory.mktemp("mt") / "none"
    train_and_save(TrainConfig(dataset="mnist", latent_dim=8, epochs=4, limit=2000, batch=128), out, progress=False)
    return str(out)


def test_multitask_over_sim_channel_flowgraph(gr_python, link):
    base = MultitaskEvalConfig(dataset="mnist", links={"none": link}, snrs=(15.0,), defences=("none", "perturbation"),
                               limit=300, eve_train_limit=2000, adapted=False, channel="awgn",
                               perturbation=PerturbationConfig(psr_db=0.0, steps=60))
    model = {r["defence"]: r for r in evaluate(base, progress=False)}
    base.transport = "gnuradio"
    gr = {r["defence"]: r for r in evaluate(base, progress=False)}
    for d in ("none", "perturbation"):
        assert gr[d]["lost_bob"] == 0 and gr[d]["lost_eve"] == 0 and gr[d]["transport"] == "gnuradio"
        assert abs(gr[d]["bob_accuracy"] - model[d]["bob_accuracy"]) < 0.08
    # Bob cancels the keyed perturbation; Eve (5 dB) does not
    assert gr["perturbation"]["bob_accuracy"] > gr["none"]["bob_accuracy"] - 0.04
    assert gr["perturbation"]["eve_accuracy"] < gr["none"]["eve_accuracy"]


def test_multitask_eval_over_stand_in_radios(gr_python, link, tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVSEM_FLOWGRAPHS", str(FAKE))
    air = free_tcp_endpoint()
    tx = fake_profile(tmp_path / "tx.yaml", "fake_tx", "noise=0.0", air)
    bob = fake_profile(tmp_path / "bob.yaml", "fake_bob", "noise=0.05", air)
    eve = fake_profile(tmp_path / "eve.yaml", "fake_eve", "noise=0.5", air)
    out = tmp_path / "r.json"
    assert main(["multitask", "eval", "--dataset", "mnist", "--none-link", link, "--defences", "none", "--snr", "20",
                 "--limit", "200", "--eve-train-limit", "2000", "--channel", "awgn", "--transport", "radio",
                 "--tx-radio", str(tx), "--bob-radio", str(bob), "--eve-radio", str(eve), "--freq", "2.4e9",
                 "--sample-rate", "200000", "--json", str(out)]) == 0
    (r,) = json.loads(out.read_text())["rows"]
    assert r["transport"] == "radio" and r["lost_bob"] == 0
    assert r["bob_accuracy"] > 0.7
