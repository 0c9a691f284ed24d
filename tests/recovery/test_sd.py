"""``--sd-path``: a user's Stable Diffusion inpainting folder, with tiny random components
built in the test (same classes as a real checkpoint; nothing downloaded)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from privsem.errors import PrivsemError

sys.path.insert(0, str(Path(__file__).parent))
from tiny_sd import build_tiny_sd  # noqa: E402


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    return build_tiny_sd(tmp_path_factory.mktemp("sd") / "tiny-sd-inpainting")


def _scene():
    rng = np.random.default_rng(2)
    img = rng.random((40, 52, 3)).astype(np.float32)
    mask = np.zeros((40, 52), bool)
    mask[8:30, 12:36] = True
    return img, mask


def test_sd_recovery_keeps_background_and_is_seeded(tiny_sd):
    from privsem.recovery.sd import SDRecovery, load_sd

    sd = load_sd(tiny_sd)
    assert sd.resolution == 16 and sd.unet.config.in_channels == 9
    img, mask = _scene()
    emb = np.eye(384, dtype=np.float32)[:2]
    rec = SDRecovery(sd, ["the cat Chelsea", "the astronaut Eileen Collins"], emb, steps=3)
    assert rec._prompt(emb[1]) == "the astronaut Eileen Collins" and rec._prompt(None) == ""
    a = rec(img, mask, emb[0], seed=1)
    b = rec(img, mask, emb[0], seed=1)
    c = rec(img, mask, emb[0], seed=2)
    np.testing.assert_array_equal(a[~mask], img[~mask])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[mask], c[mask])
    assert a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(rec(img, np.zeros_like(mask), emb[0]), img)


def test_sd_bad_folders_are_one_line_errors(tmp_path, tiny_sd):
    from privsem.recovery.sd import load_sd

    with pytest.raises(PrivsemError, match="not found"):
        load_sd(tmp_path / "nope")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "unet").mkdir()
    with pytest.raises(PrivsemError, match="missing: vae/"):
        load_sd(tmp_path / "half")
    # a corrupt weights file
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_sd, broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage")
    with pytest.raises(PrivsemError, match="cannot load Stable Diffusion"):
        load_sd(broken)
    # a text-to-image U-Net (4 input channels) is not an inpainting model
    cfg = json.loads((tiny_sd / "unet" / "config.json").read_text())
    from diffusers import UNet2DConditionModel

    t2i = tmp_path / "t2i"
    shutil.copytree(tiny_sd, t2i)
    shutil.rmtree(t2i / "unet")
    UNet2DConditionModel(**{k: v for k, v in cfg.items() if not k.startswith("_")} | {"in_channels": 4}) \
        .save_pretrained(t2i / "unet", safe_serialization=True)
    with pytest.raises(PrivsemError, match="not an inpainting U-Net"):
        load_sd(t2i)


def test_sd_finetune_algorithm2_and_bob_uses_it(tmp_path, tiny_sd, example_db):
    """Algorithm 2 on the tiny SD: the U-Net changes, is saved as safetensors, and Bob's
    `--recovery sd` loads it from the DB while Eve gets the untouched checkpoint."""
    import shutil

    import torch

    from privsem.database import PrivacyDB
    from privsem.recovery import RecoveryOptions, build_recovery
    from privsem.recovery.sd import load_sd
    from privsem.text import default_text_encoder

    db_dir = tmp_path / "db"
    shutil.copytree(example_db[0], db_dir)
    db = PrivacyDB.open(db_dir)
    from privsem.cli import main

    rc = main(["train", "recovery", "finetune", "--db", str(db_dir), "--sd-path", str(tiny_sd),
               "--steps", "3", "--batch", "2"])
    assert rc == 0
    tuned = db_dir / "recovery" / "sd_unet"
    assert (tuned / "diffusion_pytorch_model.safetensors").is_file()
    assert json.loads((tuned / "privsem_finetune.json").read_text())["steps"] == 3
    before, after = load_sd(tiny_sd).unet.state_dict(), load_sd(tiny_sd, unet_path=tuned).unet.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    opts = RecoveryOptions(kind="sd", steps=2, sd_path=tiny_sd)
    db = PrivacyDB.open(db_dir)  # the training installed the U-Net and its sha256 into the manifest
    bob = build_recovery("bob", opts, db, default_text_encoder())
    eve = build_recovery("eve", opts)
    assert bob.name == "sd-finetuned" and eve.name == "sd-base" and eve.prompts == []
    assert torch.equal(next(iter(bob.sd.unet.state_dict().values())), next(iter(after.values())))
    with pytest.raises(PrivsemError, match="needs --sd-path"):
        build_recovery("eve", RecoveryOptions(kind="sd"))
