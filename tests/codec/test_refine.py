"""Softcast's learned refinement (issue 21, item 2): the net, its file format, the
committed weights' gain on held-out photos, the training command and its photos."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from privsem.cli import main
from privsem.codec.data import HELD_OUT, named_image
from privsem.codec.link import send_zf
from privsem.codec.photos import training_photos, wallpaper_files
from privsem.codec.refine import (
    DEFAULT_FILE,
    RefineConfig,
    RefineNet,
    default_refiner,
    load_refiner,
    refine,
    refiner_state,
)
from privsem.codec.refine_train import RefineTrainConfig, train_refiner
from privsem.codec.softcast import SoftCastCodec
from privsem.errors import PrivsemError
from privsem.metrics import psnr
from privsem.weights import models_dir


def test_an_untrained_net_is_the_identity_and_keeps_odd_sizes():
    x = np.random.default_rng(0).random((3, 37, 50)).astype(np.float32)
    y = refine(RefineNet(RefineConfig(width=8, depth=3)), x, 7.0, 1 / 6)
    assert y.shape == (3, 37, 50) and y.dtype == np.float32
    np.testing.assert_array_equal(y, x)


def test_the_file_round_trips_and_bad_files_are_one_line(tmp_path):
    torch.manual_seed(1)
    net = RefineNet(RefineConfig(width=8, depth=4))
    torch.nn.init.normal_(net.tail.weight, std=0.05)
    tensors, meta = refiner_state(net)
    save_file(tensors, str(tmp_path / "r.safetensors"), metadata=meta)
    back = load_refiner(tmp_path / "r.safetensors")
    x = np.random.default_rng(1).random((3, 32, 32)).astype(np.float32)
    np.testing.assert_array_equal(refine(net, x, 3.0, 1 / 12), refine(back, x, 3.0, 1 / 12))
    assert not np.array_equal(refine(net, x, 3.0, 1 / 12), x)

    save_file(tensors, str(tmp_path / "nometa.safetensors"))
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file")
    for name in ("nometa.safetensors", "junk.safetensors", "absent.safetensors"):
        with pytest.raises(PrivsemError, match="refiner"):
            load_refiner(tmp_path / name)


@pytest.mark.skipif(not (models_dir() / DEFAULT_FILE).is_file(), reason="no committed refiner")
@pytest.mark.parametrize("channel,snr,gain", [("awgn", 0.0, 0.2), ("rayleigh", 0.0, 0.2), ("awgn", 20.0, -0.02)])
def test_the_committed_refiner_helps_at_low_snr_and_costs_nothing_at_high(channel, snr, gain):
    """On a held-out photo (its MANIFEST metrics: +0.36 dB at 0 dB AWGN, +0.003 dB at 20 dB)."""
    img = np.ascontiguousarray(named_image("coffee")[:256, 200:456])
    plain = send_zf(SoftCastCodec("1/6", refiner=None), img, channel, snr, seed=3)
    refined = send_zf(SoftCastCodec("1/6"), img, channel, snr, seed=3)
    assert SoftCastCodec("1/6").refiner is default_refiner() is not None
    assert psnr(img, refined) > psnr(img, plain) + gain


def test_training_photos_are_real_and_never_benchmark_images():
    photos, names = training_photos(max_side=256)
    held = [named_image(n) for n in HELD_OUT]
    assert len(photos) >= 15 and all(min(p.shape[:2]) >= 128 for p in photos)
    assert not any(p.shape == h.shape and np.allclose(p, h) for p in photos for h in held)
    if wallpaper_files():  # Debian's plasma-workspace-wallpapers (setup.sh installs it)
        assert sum("/wallpapers/" in n for n in names) >= 10


def test_training_writes_resumes_and_reports_the_gain(tmp_path):
    photos = [np.ascontiguousarray(named_image("astronaut")[:160, :160])]
    held = [np.ascontiguousarray(named_image("coffee")[:64, :96])]
    cfg = RefineTrainConfig(steps=2, batch=2, crop=64, pool=2, seed=0)
    out = tmp_path / "r.safetensors"
    small = RefineConfig(width=8, depth=3)
    train_refiner(out, cfg, small, photos=photos, held_out=held, progress=False, checkpoint_every=1)
    cfg.steps = 4
    m = train_refiner(out, cfg, small, resume=True, photos=photos, held_out=held, progress=False)
    assert set(m["gain_db"]) == {f"psnr_{c}_{s}db" for c in ("awgn", "rayleigh") for s in (0, 5, 10, 15, 20)}
    assert all(abs(m["refined"][k] - m["lmmse"][k] - g) < 0.011 for k, g in m["gain_db"].items())
    assert load_refiner(out).cfg.width == 8


def test_the_training_command_refuses_bad_options(capsys, tmp_path):
    assert main(["train", "refine", "--steps", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("privsem: error:")
    assert main(["train", "refine", "--resume", "--out", str(tmp_path / "x.safetensors")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing to resume" in err[0]
