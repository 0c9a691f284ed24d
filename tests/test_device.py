"""``--device`` / ``$PRIVSEM_DEVICE`` (privsem.device): resolution, the CPU default, and
one-line refusals of a device this machine does not have (checked on a CPU-only box;
tests/test_gpu.py runs the same networks on CUDA where there is one)."""

import pytest
import torch
from safetensors import safe_open

from privsem.cli import main
from privsem.device import as_device, resolve_device
from privsem.errors import PrivsemError

CPU = torch.device("cpu")
NO_CUDA = not torch.cuda.is_available()


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_resolve_names_and_environment(monkeypatch):
    monkeypatch.delenv("PRIVSEM_DEVICE", raising=False)
    assert resolve_device("cpu") == resolve_device(" CPU ") == resolve_device(None) == CPU
    want = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else (
        torch.device("mps") if torch.backends.mps.is_available() else CPU)
    assert resolve_device("auto") == want
    monkeypatch.setenv("PRIVSEM_DEVICE", "cpu")
    assert resolve_device(None) == CPU
    monkeypatch.setenv("PRIVSEM_DEVICE", "bogus")
    with pytest.raises(PrivsemError, match=r"^PRIVSEM_DEVICE=bogus: unknown device \(known: auto, cpu"):
        resolve_device(None)
    assert as_device(None) == CPU  # a library default never reads the environment: only the CLI does
    with pytest.raises(PrivsemError, match=r"^--device tpu: unknown device"):
        resolve_device("tpu")


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_absent_cuda_is_one_line():
    with pytest.raises(PrivsemError, match=r"^--device cuda:1: CUDA is not available on this machine \(torch "):
        resolve_device("cuda:1")


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
@pytest.mark.parametrize("argv", [
    ["loopback", "missing.png", "--db", "missing", "--out", "o", "--device", "cuda"],
    ["train", "codec", "--out", "c.safetensors", "--device", "cuda"],
    ["train", "recovery", "base", "--out", "r.safetensors", "--device", "cuda:0"],
    ["multitask", "train", "--out", "m", "--device", "cuda"],
])
def test_cli_refuses_absent_cuda(argv, tmp_path, monkeypatch, capsys):
    """Refused before anything is loaded or written."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    assert "CUDA is not available on this machine" in _one_line(capsys)
    assert not any(tmp_path.iterdir())


def test_cli_bad_device_amp_and_batch(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["guard", "x.png", "--db", "d", "--out", "o", "--device", "bogus"]) == 1
    assert _one_line(capsys) == "privsem: error: --device bogus: unknown device (known: auto, cpu, cuda, cuda:N, mps)"
    assert main(["train", "codec", "--out", "c.safetensors", "--amp", "fp16"]) == 1
    assert "--amp fp16 needs a CUDA device" in _one_line(capsys)
    assert main(["train", "joint", "--db", "d", "--out", "j", "--amp", "fp8"]) == 1
    assert "--amp takes bf16 or fp16" in _one_line(capsys)
    assert main(["train", "codec", "--out", "c.safetensors", "--batch", "6", "--accum", "4"]) == 1
    assert "--batch 6 does not split over 1 process(es) × 4 micro-batch(es)" in _one_line(capsys)
    # a world size (torchrun's WORLD_SIZE) that does not divide the batch: refused before rendezvous
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert main(["train", "codec", "--out", "c.safetensors", "--batch", "16"]) == 1
    assert "--batch 16 does not split over 3 process(es)" in _one_line(capsys)
    assert not any(tmp_path.iterdir())


def test_environment_variable_is_honoured_and_the_flag_wins(tmp_path, monkeypatch, capsys):
    """PRIVSEM_DEVICE picks the device when --device is absent (recorded in the
    checkpoint); --device overrides it."""
    tiny = ["train", "codec", "--steps", "1", "--batch", "2", "--width", "4", "--depth", "3", "--c-out", "4",
            "--crop", "16"]
    monkeypatch.setenv("PRIVSEM_DEVICE", "cuda:7" if NO_CUDA else "bogus")
    assert main(tiny + ["--out", str(tmp_path / "c.safetensors")]) == 1
    assert _one_line(capsys).startswith("privsem: error: PRIVSEM_DEVICE=")
    monkeypatch.setenv("PRIVSEM_DEVICE", "cpu")
    assert main(tiny + ["--out", str(tmp_path / "c.safetensors")]) == 0
    with safe_open(str(tmp_path / "c.ckpt"), "pt") as f:
        meta = f.metadata()
    assert meta["device"] == "cpu" and meta["amp"] == "fp32" and meta["world_size"] == "1"
    monkeypatch.setenv("PRIVSEM_DEVICE", "bogus")
    assert main(tiny + ["--out", str(tmp_path / "d.safetensors"), "--device", "cpu"]) == 0
