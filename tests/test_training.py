"""privsem.training: gradient accumulation, mixed precision on the CPU (bf16), the global
batch across a change of world size, and the options' one-line refusals."""

import math

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from privsem.errors import PrivsemError
from privsem.training import (
    TrainOptions,
    accumulate,
    checkpoint_meta,
    optimizer_step,
    resume_batch,
    split_batch,
)


def test_accumulation_gives_the_full_batch_gradient():
    """Two micro-batches of 4 with the loss halved each add up to the gradient of the
    mean loss over the 8 (what one step on the whole batch gives)."""
    torch.manual_seed(0)
    x, y = torch.randn(8, 5), torch.randn(8, 1)
    full, acc = torch.nn.Linear(5, 1), torch.nn.Linear(5, 1)
    acc.load_state_dict(full.state_dict())
    torch.nn.functional.mse_loss(full(x), y).backward()
    losses = accumulate(acc, TrainOptions(accum=2), None,
                        lambda i: torch.nn.functional.mse_loss(acc(x[4 * i: 4 * i + 4]), y[4 * i: 4 * i + 4]))
    assert len(losses) == 2 and not losses[0].requires_grad
    for a, b in zip(acc.parameters(), full.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)
    opt = torch.optim.SGD(acc.parameters(), lr=0.1)
    before = acc.weight.detach().clone()
    optimizer_step(opt, None, acc.parameters(), 1e-3)  # clipped to norm 1e-3
    assert 0 < (acc.weight - before).norm() <= 0.1 * 1e-3 + 1e-9


def test_options_refuse_bad_input():
    assert TrainOptions.make() == TrainOptions() and TrainOptions.make("cpu", "BF16", 2).amp == "bf16"
    with pytest.raises(PrivsemError, match="^--amp fp16 needs a CUDA device"):
        TrainOptions.make("cpu", "fp16")
    with pytest.raises(PrivsemError, match="^--amp takes bf16 or fp16"):
        TrainOptions.make("cpu", "int8")
    with pytest.raises(PrivsemError, match="^--accum must be ≥ 1"):
        TrainOptions.make("cpu", None, 0)
    assert split_batch(32, 2, 4) == 4
    with pytest.raises(PrivsemError, match=r"^--batch 30 does not split over 4 process\(es\) × 1"):
        split_batch(30, 4)


def test_resume_keeps_the_global_batch_across_world_sizes(tmp_path):
    ckpt = tmp_path / "m.ckpt"
    save_file({"w": torch.zeros(1)}, str(ckpt), metadata=checkpoint_meta(2, 8, TrainOptions()))
    assert resume_batch(ckpt, True, 8, 1) == 8  # 2 processes × 4 → 1 process × 8
    assert resume_batch(ckpt, True, 8, 4, accum=2) == 8
    with pytest.warns(UserWarning, match="its global batch 8"):
        assert resume_batch(ckpt, True, 32, 1) == 8
    with pytest.raises(PrivsemError, match=r"global batch of 8 on 2 process\(es\); it does not split over 3"):
        resume_batch(ckpt, True, 8, 3)
    assert resume_batch(ckpt, False, 6, 3) == 6  # a fresh run ignores the old checkpoint


def test_bf16_on_the_cpu_trains_both_models(tmp_path, tiny_tiles):
    """``--amp bf16`` is accepted on the CPU (autocast to bfloat16; the weights and the
    optimizer stay float32) with accumulation; the checkpoints record both."""
    from privsem.codec.train import CodecTrainConfig, train_codec
    from privsem.recovery.diffusion import RecoveryModelConfig
    from privsem.recovery.train import RecoveryTrainConfig, train_recovery

    opts = TrainOptions.make("cpu", "bf16", 2)
    out = tmp_path / "j.safetensors"
    m = train_codec(out, CodecTrainConfig(width=8, depth=3, c_out=8, rates=(2, 4), crop=32, batch=4, steps=2),
                    opts=opts)
    assert math.isfinite(m["psnr_1/12_awgn_10db"])
    with safe_open(str(out.with_suffix(".ckpt")), "pt") as f:
        meta = f.metadata()
    assert (meta["amp"], meta["accum"], meta["global_batch"]) == ("bf16", "2", "4")
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in load_file(str(out)).values())

    Tiles = tiny_tiles  # random tiles, a square hole, a random prompt embedding

    summary = train_recovery(tmp_path / "r.safetensors", Tiles, RecoveryTrainConfig(steps=2, batch=4), "base",
                             mcfg=RecoveryModelConfig(resolution=16, channels=(8, 16)), opts=opts)
    assert summary["steps"] == 2 and math.isfinite(summary["final_loss"])


def test_trainers_without_ddp_refuse_more_than_one_process(monkeypatch):
    from privsem.errors import PrivsemError
    from privsem.training import single_process

    single_process("train joint")  # one process: fine
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(PrivsemError, match="train joint runs in one process.*--accum"):
        single_process("train joint")
    from privsem.multitask.train import TrainConfig, train_and_save

    with pytest.raises(PrivsemError, match="multitask train runs in one process"):
        train_and_save(TrainConfig(), "/nonexistent-never-written")
