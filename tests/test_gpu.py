"""The same tiny training and inference on CUDA and on the CPU, compared (``-m gpu``).

Every test here skips itself, with the reason, where ``torch.cuda.is_available()`` is
False, so ``./setup.sh test`` (default ``-m 'not hardware and not slow'``) collects them
everywhere and runs them on a machine with a GPU.

Tolerances (TF32 is switched off for these tests, so CUDA computes in true float32; the
seeded noise comes from CPU generators and is the same on both devices):

* one forward pass (JSCC encode/decode, a U-Net denoising run): within 1e-4 (JSCC) and
  2e-3 (a few scheduler steps) absolute, in the models' own units;
* a few optimizer steps: the loss within 1 % relative; each weight within 2·lr per
  step (Adam's first steps move a weight by about ±lr, so a gradient that is ~0 on one
  device and ~0 of the other sign on the other may move it the other way), and the
  median weight difference below 1e-5;
* the loopback: the same entity removed, masks with IoU ≥ 0.98, Bob's and Eve's PSNR
  within 0.5 dB.
"""

import math

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

CUDA = torch.cuda.is_available()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (torch.cuda.is_available() "
                                                                   "is False on this machine)")]
GPU = torch.device("cuda", 0)
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def strict_float32():
    """True float32 on CUDA for the comparison (TF32 rounds matmuls and convolutions
    to 10-bit mantissas on Ampere and newer)."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _meta(path):
    with safe_open(str(path), "pt") as f:
        return f.metadata()


def _close_weights(a: dict, b: dict, lr: float, steps: int):
    diffs = torch.cat([(a[k].float() - b[k].float()).abs().flatten() for k in a])
    assert diffs.max() <= 2 * lr * steps + 1e-5, diffs.max()
    assert diffs.median() < 1e-5, diffs.median()


def test_jscc_forward_matches_the_cpu():
    from privsem.codec import load_codec
    from privsem.codec.data import named_image

    img = np.ascontiguousarray(named_image("coffee")[:96, :128].transpose(2, 0, 1)[None])
    cpu, gpu = load_codec(kn="1/6"), load_codec(kn="1/6", device="cuda")
    assert next(gpu.encoder.parameters()).device.type == "cuda" and gpu.at("1/6").device == GPU
    x_cpu, x_gpu = cpu.encode(img, 10.0), gpu.encode(img, 10.0)
    assert x_gpu.dtype == np.complex64 and x_gpu.shape == x_cpu.shape
    np.testing.assert_allclose(x_gpu, x_cpu, atol=1e-4)
    np.testing.assert_allclose(gpu.decode(x_cpu, 10.0, (96, 128)), cpu.decode(x_cpu, 10.0, (96, 128)), atol=1e-4)


def test_jscc_training_steps_match_the_cpu(tmp_path):
    from privsem.codec.train import CodecTrainConfig, train_codec
    from privsem.training import TrainOptions

    cfg = dict(width=8, depth=3, c_out=8, rates=(2, 4), crop=32, batch=8, steps=3, lr=2e-3)
    m_cpu = train_codec(tmp_path / "cpu.safetensors", CodecTrainConfig(**cfg))
    m_gpu = train_codec(tmp_path / "gpu.safetensors", CodecTrainConfig(**cfg), opts=TrainOptions.make("cuda"))
    _close_weights(load_file(str(tmp_path / "cpu.safetensors")), load_file(str(tmp_path / "gpu.safetensors")),
                   cfg["lr"], cfg["steps"])
    assert abs(m_cpu["psnr_1/12_awgn_10db"] - m_gpu["psnr_1/12_awgn_10db"]) < 0.05
    assert _meta(tmp_path / "gpu.ckpt")["device"] == "cuda:0"


def test_checkpoints_move_between_cuda_and_cpu(tmp_path):
    """Saved on CUDA, resumed on the CPU, resumed again on CUDA (the tensors are saved
    from the CPU and loaded into the current device's model)."""
    from privsem.codec.train import CodecTrainConfig, train_codec
    from privsem.training import TrainOptions

    out = tmp_path / "j.safetensors"
    cfg = dict(width=8, depth=3, c_out=8, rates=(4,), crop=32, batch=4)
    train_codec(out, CodecTrainConfig(steps=2, **cfg), opts=TrainOptions.make("cuda"))
    train_codec(out, CodecTrainConfig(steps=4, **cfg), resume=True)
    assert (_meta(out.with_suffix(".ckpt"))["device"], _meta(out.with_suffix(".ckpt"))["step"]) == ("cpu", "4")
    train_codec(out, CodecTrainConfig(steps=6, **cfg), resume=True, opts=TrainOptions.make("cuda"))
    assert (_meta(out.with_suffix(".ckpt"))["device"], _meta(out.with_suffix(".ckpt"))["step"]) == ("cuda:0", "6")
    assert all(v.device.type == "cpu" and torch.isfinite(v).all() for v in load_file(str(out)).values())


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_on_cuda(tmp_path, amp):
    from privsem.codec.train import CodecTrainConfig, train_codec
    from privsem.training import TrainOptions

    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    out = tmp_path / "j.safetensors"
    m = train_codec(out, CodecTrainConfig(width=8, depth=3, c_out=8, rates=(4,), crop=32, batch=8, steps=3),
                    opts=TrainOptions.make("cuda", amp, 2))
    assert math.isfinite(m["psnr_1/12_awgn_10db"]) and _meta(out.with_suffix(".ckpt"))["amp"] == amp
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in load_file(str(out)).values())


def _tiny_unet():
    from privsem.recovery.diffusion import (
        RecoveryModel,
        RecoveryModelConfig,
        build_unet,
    )

    cfg = RecoveryModelConfig(resolution=16, channels=(8, 16))
    torch.manual_seed(0)
    return RecoveryModel(build_unet(cfg).eval().requires_grad_(False), cfg)


@pytest.mark.parametrize("scheduler", ["ddim", "ddpm"])
def test_recovery_denoising_matches_the_cpu(scheduler):
    from privsem.recovery.diffusion import RecoveryModel, condition, repaint

    cpu = _tiny_unet()
    gpu = RecoveryModel(_tiny_unet().unet.to(GPU), cpu.config)
    g = torch.Generator().manual_seed(1)
    known = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 3:11] = 1
    cond = condition(torch.randn(384, generator=g).numpy(), 384)
    a = repaint(cpu, known, mask, cond, steps=3, seed=5, scheduler=scheduler)
    b = repaint(gpu, known, mask, cond, steps=3, seed=5, scheduler=scheduler)
    assert b.device.type == "cuda"
    torch.testing.assert_close(b.cpu(), a, atol=2e-3, rtol=0)
    torch.testing.assert_close(b.cpu()[mask.expand_as(a) == 0], a[mask.expand_as(a) == 0], atol=1e-5, rtol=0)


def test_recovery_training_steps_match_the_cpu(tmp_path, tiny_tiles):
    from privsem.recovery.diffusion import RecoveryModelConfig
    from privsem.recovery.train import RecoveryTrainConfig, train_recovery
    from privsem.training import TrainOptions

    Tiles = tiny_tiles  # random tiles, a square hole, a random prompt embedding

    mcfg, lr = RecoveryModelConfig(resolution=16, channels=(8, 16)), 3e-4
    out = {}
    for name, opts in (("cpu", None), ("gpu", TrainOptions.make("cuda"))):
        s = train_recovery(tmp_path / f"{name}.safetensors", Tiles, RecoveryTrainConfig(steps=3, batch=4, lr=lr),
                           "base", mcfg=mcfg, opts=opts)
        out[name] = (s, load_file(str(tmp_path / f"{name}.ckpt")))
    assert math.isclose(out["cpu"][0]["final_loss"], out["gpu"][0]["final_loss"], rel_tol=1e-2)
    _close_weights({k: v for k, v in out["cpu"][1].items() if k.startswith("unet.")},
                   {k: v for k, v in out["gpu"][1].items() if k.startswith("unet.")}, lr, 3)


def test_loopback_on_cuda_matches_the_cpu(example_db, tmp_path):
    from privsem.imageio import load_image
    from privsem.loopback import run_loopback
    from privsem.metrics.image import mask_iou
    from privsem.recovery import RecoveryOptions

    db, scenes = example_db
    opts = RecoveryOptions(steps=4, scheduler="ddim")
    r = {dev: run_loopback(scenes / "chelsea.png", db, 15.0, "awgn", tmp_path / dev, codec_path="jscc",
                           recovery=opts, device=None if dev == "cpu" else "cuda") for dev in ("cpu", "cuda")}
    assert r["cuda"]["guard"]["entity"] == r["cpu"]["guard"]["entity"] == "chelsea"
    masks = [load_image(tmp_path / dev / "mask.png")[..., 0] > 0.5 for dev in ("cpu", "cuda")]
    assert mask_iou(*masks) >= 0.98
    for role in ("bob", "eve"):
        assert abs(r["cuda"][role]["psnr"] - r["cpu"][role]["psnr"]) < 0.5, role


def test_privsem_device_environment_variable_selects_cuda(tmp_path, monkeypatch):
    from privsem.cli import main

    monkeypatch.setenv("PRIVSEM_DEVICE", "cuda")
    assert main(["train", "codec", "--out", str(tmp_path / "c.safetensors"), "--steps", "1", "--batch", "2",
                 "--width", "4", "--depth", "3", "--c-out", "4", "--crop", "16"]) == 0
    assert _meta(tmp_path / "c.ckpt")["device"] == "cuda:0"


@pytest.mark.skipif(CUDA and torch.cuda.device_count() < 2, reason="needs two CUDA GPUs (NCCL over 2 processes)")
def test_torchrun_nccl_two_gpus(tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp.safetensors"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "privsem", "train", "codec", "--device", "cuda", "--out", str(out), "--steps", "3", "--batch", "4",
           "--width", "8", "--depth", "3", "--c-out", "8", "--rates", "2,4", "--crop", "32"]
    r = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stderr[-2000:]
    meta = _meta(out.with_suffix(".ckpt"))
    assert (meta["world_size"], meta["device"], meta["step"]) == ("2", "cuda:0", "3")
