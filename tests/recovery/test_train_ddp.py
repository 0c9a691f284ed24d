"""``privsem train recovery base`` under torchrun: two CPU processes (gloo), one file."""

import json
import os
import subprocess
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file


def test_torchrun_two_processes_gloo(tmp_path):
    out = tmp_path / "ddp.safetensors"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "privsem", "train", "recovery", "base", "--out", str(out), "--steps", "3", "--batch", "4",
           "--resolution", "16", "--channels", "8,16"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stderr[-2000:]
    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
    summary = json.loads(meta["summary"])
    assert summary["steps"] == 3 and summary["world_size"] == 2 and meta["role"] == "base"
    assert json.loads(meta["config"])["resolution"] == 16
    assert all(torch.isfinite(v.float()).all() for v in load_file(str(out)).values())
    assert out.with_suffix(".ckpt").is_file()
