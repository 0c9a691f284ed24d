"""Bob's fine-tuned model lives in the DB (sha256-tracked); Eve's is the committed base;
the CLI's recovery options and their bad input."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from privsem.errors import IntegrityError, PrivsemError

sys.path.insert(0, str(Path(__file__).parent))
from test_diffusion import TINY, tiny_model  # noqa: E402


def _db_copy(example_db, tmp_path):
    from privsem.database import PrivacyDB

    shutil.copytree(example_db[0], tmp_path / "db")
    return PrivacyDB.open(tmp_path / "db")


def test_example_db_ships_bobs_committed_model(example_db):
    from privsem.database import PrivacyDB
    from privsem.recovery.build import bob_model

    db = PrivacyDB.open(example_db[0])
    path, sha, current = db.recovery()
    assert path.name == "finetuned.safetensors" and current
    model = bob_model(db)
    assert model.role == "finetuned" and model.config.resolution == 96
    assert sorted(model.meta["entities"].strip("[]").replace('"', "").split(", ")) == ["astronaut", "chelsea"]


def test_db_tracks_the_finetuned_model(example_db, tmp_path):
    from privsem.database import PrivacyDB
    from privsem.recovery.build import bob_model
    from privsem.recovery.diffusion import save_recovery_model

    db = _db_copy(example_db, tmp_path)
    w = tmp_path / "tiny.safetensors"
    save_recovery_model(w, tiny_model().unet, TINY, "finetuned")
    db.set_recovery(w)
    path, sha, current = db.recovery()
    assert current and path.is_file()
    assert bob_model(db).config == TINY
    # a new entity after fine-tuning: still loads, with a warning to re-run Algorithm 2
    from privsem.codec.data import skimage_image
    from privsem.imageio import save_image

    save_image(tmp_path / "coffee.png", skimage_image("coffee")[:200, :200])
    db.add("cup", "the coffee cup", [tmp_path / "coffee.png"])
    assert db.recovery()[2] is False
    with pytest.warns(UserWarning, match="fine-tuned before"):
        bob_model(db)
    # tampering with Bob's weights is caught when the DB is opened
    with open(path, "r+b") as f:
        f.seek(200)
        f.write(b"\x01\x02\x03")
    with pytest.raises(IntegrityError, match="recovery/finetuned.safetensors"):
        PrivacyDB.open(db.root)


def test_db_without_a_finetuned_model_warns_and_uses_base(example_db, tmp_path):
    from privsem.database import PrivacyDB
    from privsem.recovery.build import bob_model

    db = PrivacyDB.create(tmp_path / "empty")
    assert db.recovery() is None
    with pytest.warns(UserWarning, match="no fine-tuned recovery model"):
        m = bob_model(db)
    assert m.role == "base"


def test_build_recovery_roles(example_db):
    from privsem.database import PrivacyDB
    from privsem.recovery import RecoveryOptions, build_recovery
    from privsem.text import default_text_encoder

    db = PrivacyDB.open(example_db[0])
    text = default_text_encoder()
    bob = build_recovery("bob", RecoveryOptions(steps=5), db, text)
    eve = build_recovery("eve", RecoveryOptions(steps=5))
    assert bob.name == "diffusion-finetuned" and eve.name == "diffusion-base"
    assert bob.prompt_embeddings.shape == (2, 384) and eve.prompt_embeddings is None
    assert build_recovery("eve", RecoveryOptions(kind="exemplar")).name == "pushpull"  # Eve has no samples
    assert build_recovery("eve", RecoveryOptions(kind="telea")).name == "opencv-telea"
    with pytest.raises(PrivsemError, match="unknown recovery"):
        build_recovery("eve", RecoveryOptions(kind="magic"))
    with pytest.raises(PrivsemError, match="needs the privacy database"):
        build_recovery("bob", RecoveryOptions())


def test_identity_leakage_eq8(example_db):
    from privsem.database import PrivacyDB
    from privsem.database.scenes import scene_set
    from privsem.guard import Guard
    from privsem.guard.guard import apply_guard
    from privsem.metrics import leakage, recognition_rate

    guard = Guard(PrivacyDB.open(example_db[0]))
    scenes = [s for s in scene_set("heldout", 8, seed=5) if s.entity]
    assert recognition_rate(guard, [s.image for s in scenes], [s.entity for s in scenes]) == 1.0
    assert recognition_rate(guard, [apply_guard(s.image, s.mask) for s in scenes], [s.entity for s in scenes]) == 0.0
    assert leakage(guard, scenes[0].image, None) == 0
    assert np.isnan(recognition_rate(guard, [scenes[0].image], [None]))


def _privsem(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "privsem", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_finetune_installs_into_the_db(example_db, tmp_path):
    from privsem.database import PrivacyDB
    from privsem.recovery.diffusion import save_recovery_model

    from privsem.recovery.diffusion import RecoveryModelConfig

    db = _db_copy(example_db, tmp_path)
    base = tmp_path / "tiny_base.safetensors"
    cfg = RecoveryModelConfig(resolution=16, channels=(8, 16), text_dim=384, attention_head_dim=4, norm_groups=4)
    save_recovery_model(base, tiny_model(cfg=cfg).unet, cfg, "base")
    p = _privsem("train", "recovery", "finetune", "--db", db.root, "--base", base, "--steps", 2, "--batch", 2)
    assert p.returncode == 0, p.stderr
    assert '"installed"' in p.stdout
    path, _, current = PrivacyDB.open(db.root).recovery()
    from privsem.recovery.diffusion import load_recovery_model

    m = load_recovery_model(path)
    assert current and m.role == "finetuned" and m.config == cfg and "db_fingerprint" in m.meta


@pytest.mark.parametrize("args,message", [
    (["--recovery", "magic"], "unknown recovery"),
    (["--jumps", "3"], "--jumps takes"),
    (["--steps", "0"], "--steps must be"),
    (["--recovery", "sd"], "needs --sd-path"),
    (["--recovery", "sd", "--sd-path", "/nonexistent"], "not found"),
    (["--scheduler", "euler"], "unknown scheduler"),
])
def test_loopback_recovery_bad_input(example_db, tmp_path, args, message, capsys):
    from privsem.cli import main

    db, scenes = example_db
    assert main(["loopback", str(scenes / "coffee.png"), "--db", str(db), "--out", str(tmp_path), *args]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


@pytest.mark.parametrize("args,message", [
    (["base", "--channels", "a,b"], "--channels must be"),
    (["base", "--resolution", "90"], "--resolution 90"),
    (["finetune", "--db", "/nonexistent"], "not a privacy database"),
    (["base", "--resume", "--out", "/tmp/privsem_never_trained.safetensors"], "nothing to resume"),
])
def test_train_recovery_bad_input(args, message, capsys):
    from privsem.cli import main

    assert main(["train", "recovery", *args]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
