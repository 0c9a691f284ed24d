import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from privsem.codec import load_codec
from privsem.codec.train import CodecTrainConfig, simulate_channel, train_codec


def _meta(path):
    with safe_open(str(path), "pt") as f:
        return f.metadata()


def test_train_resume_and_export(tmp_path):
    out = tmp_path / "j.safetensors"
    cfg = CodecTrainConfig(width=8, depth=3, c_out=8, rates=(2, 4), crop=32, batch=4, steps=4)
    m = train_codec(out, cfg, checkpoint_every=2)
    assert int(_meta(out.with_suffix(".ckpt"))["step"]) == 4
    assert set(m) >= {"psnr_1/12_awgn_10db", "psnr_1/24_rayleigh_10db"} and m["world_size"] == 1
    cfg.steps = 6
    train_codec(out, cfg, resume=True, checkpoint_every=2)
    assert int(_meta(out.with_suffix(".ckpt"))["step"]) == 6 and int(_meta(out)["step"]) == 6
    codec = load_codec(out, kn="1/24")
    assert codec.c_out == 8 and codec.m == 2
    with safe_open(str(out), "pt") as f:
        assert "optim" not in " ".join(f.keys())
    assert json.loads(_meta(out)["metrics"])["psnr_1/12_awgn_0db"] > 0


def test_training_channel_has_estimation_error():
    """Over AWGN the LS estimate from 16 pilots leaves an error of variance N0/16: the
    equalized symbols are not exactly what MMSE with a perfect estimate gives."""
    gen = torch.Generator().manual_seed(0)
    s = torch.ones(4, 4096, dtype=torch.complex64)
    snr = torch.full((4,), 0.0)
    y = simulate_channel(s, snr, torch.zeros(4, dtype=torch.bool), 256, gen, n_pilots=16)
    err = (y - 0.5).abs().pow(2).mean().item()  # perfect-CSI MMSE at 0 dB: mean 1/2, variance 1/4
    assert 0.24 < err < 0.35


@pytest.mark.timeout(300)
def test_torchrun_two_processes_gloo(tmp_path):
    """DistributedDataParallel over two CPU processes: rank 0 writes one file whose
    weights both ranks agree on (the trainer checks the replicas with all-reduce)."""
    out = tmp_path / "ddp.safetensors"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "privsem", "train", "codec", "--out", str(out), "--steps", "3", "--batch", "4",
           "--width", "8", "--depth", "3", "--c-out", "8", "--rates", "2,4", "--crop", "32"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stderr[-2000:]
    meta = _meta(out)
    assert int(meta["step"]) == 3 and json.loads(meta["metrics"])["world_size"] == 2
    state = load_file(str(out))
    assert all(torch.isfinite(v).all() for v in state.values())
    assert load_codec(out).kn_choices[-1] == load_codec(out).kn
    # resume the 2-process checkpoint in 1 process: the global batch (4) and the schedule go on
    ckpt = _meta(out.with_suffix(".ckpt"))
    assert (ckpt["world_size"], ckpt["global_batch"], ckpt["device"]) == ("2", "4", "cpu")
    cfg = CodecTrainConfig(width=8, depth=3, c_out=8, rates=(2, 4), crop=32, batch=4, steps=5)
    m = train_codec(out, cfg, resume=True)
    ckpt = _meta(out.with_suffix(".ckpt"))
    assert m["world_size"] == 1 and int(ckpt["step"]) == 5
    assert (ckpt["world_size"], ckpt["global_batch"]) == ("1", "4")
    assert any(not torch.equal(state[k], v) for k, v in load_file(str(out)).items())
