"""Weights and DB files are sha256-checked right before they are loaded, not only when
the DB is opened: Bob's fine-tuned U-Net, the fine-tuned SD U-Net folder, the guard
encoder's checkpoint, and the committed models/ files."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from privsem.database import PrivacyDB
from privsem.errors import IntegrityError, PrivsemError


@pytest.fixture()
def db(tmp_path, example_db):
    shutil.copytree(example_db[0], tmp_path / "db")
    return PrivacyDB.open(tmp_path / "db")


def test_bobs_recovery_is_rechecked_right_before_loading(db):
    from privsem.recovery.build import bob_model

    path, _, _ = db.recovery()
    with open(path, "r+b") as f:  # changed after the DB was opened and verified
        f.seek(-3, 2)
        f.write(b"\x01\x02\x03")
    with pytest.raises(IntegrityError, match="sha256 does not match"):
        bob_model(db)


def test_sd_recovery_folder_is_tracked(db):
    d = db.root / db.SD_RECOVERY
    assert db.sd_recovery() is None
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    (d / "diffusion_pytorch_model.safetensors").write_bytes(b"weights")
    with pytest.raises(PrivsemError, match="not tracked"):
        db.sd_recovery()
    db.set_sd_recovery()
    assert PrivacyDB.open(db.root).sd_recovery() == d
    (d / "diffusion_pytorch_model.bin").write_bytes(b"a pickle")
    with pytest.raises(IntegrityError, match="untracked file recovery/sd_unet/diffusion_pytorch_model.bin"):
        db.sd_recovery()
    (d / "diffusion_pytorch_model.bin").unlink()
    (d / "config.json").write_text('{"in_channels": 9}')
    with pytest.raises(IntegrityError, match="config.json was modified"):
        db.sd_recovery()
    (d / "config.json").unlink()
    with pytest.raises(IntegrityError, match="missing file recovery/sd_unet/config.json"):
        db.sd_recovery()


def test_encoder_checkpoint_is_pinned_at_creation(db, tmp_path):
    ckpt = tmp_path / "encoder.safetensors"
    ckpt.write_bytes(b"changed")
    m = json.loads((db.root / "manifest.json").read_text())
    m["encoder_checkpoint"] = {"path": str(ckpt), "sha256": "0" * 64}
    (db.root / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IntegrityError, match="changed since"):
        PrivacyDB.open(db.root).encoder()
    ckpt.unlink()
    with pytest.raises(PrivsemError, match="not found"):
        PrivacyDB.open(db.root).encoder()


def test_committed_weights_are_checked(tmp_path):
    from privsem.weights import load_weights, sha256_file

    save_file({"w": torch.ones(3)}, str(tmp_path / "w.safetensors"))
    (tmp_path / "MANIFEST.toml").write_text(
        f'[files."w.safetensors"]\nsha256 = "{sha256_file(tmp_path / "w.safetensors")}"\n')
    assert torch.equal(load_weights("w.safetensors", tmp_path)["w"], torch.ones(3))
    with pytest.raises(PrivsemError, match="not listed"):
        load_weights("other.safetensors", tmp_path)
    with open(tmp_path / "w.safetensors", "ab") as f:
        f.write(b" ")
    with pytest.raises(IntegrityError, match="sha256 does not match"):
        load_weights("w.safetensors", tmp_path)
