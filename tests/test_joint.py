"""Algorithm 3 (privsem train joint): the differentiable pieces and a tiny end-to-end run."""

import json

import numpy as np
import pytest
import torch

from privsem.cli import main
from privsem.joint import FILES, Leakage, grow_mask, margin_mask, transmit_symbols


def test_symbols_meet_the_power_limit():
    from privsem.codec import load_codec

    codec = load_codec()
    a = torch.rand(3, 3, 96, 96)
    with torch.no_grad():
        x = transmit_symbols(codec, a, torch.full((3,), 10.0), p_max=2.0)
    assert torch.allclose(x.abs().pow(2).mean(1), torch.full((3,), 2.0), rtol=1e-4)


def test_margin_mask_spans_mask_to_dilation():
    m = torch.zeros(2, 1, 32, 32)
    m[:, :, 12:20, 12:20] = 1
    lo = margin_mask(m, torch.tensor([-50.0, -50.0]), 3)
    hi = margin_mask(m, torch.tensor([50.0, 50.0]), 3)
    assert torch.allclose(lo, m, atol=1e-6)
    assert hi[0, 0, 9:23, 9:23].min() > 0.999 and hi[0, 0, :8].max() < 1e-6
    mid = margin_mask(m, torch.tensor([0.0, 0.0]), 3)
    assert mid[0, 0, 10, 15] == pytest.approx(0.5) and mid[0, 0, 15, 15] == 1


def test_grow_mask_scales_with_the_tile():
    m = np.zeros((200, 200), bool)
    m[80:120, 80:120] = True
    assert grow_mask(m, 0.0).sum() == m.sum()
    grown = grow_mask(m, 4.0)
    assert grown.sum() > m.sum() and grown[m].all()


def test_soft_leakage_is_the_guards_detection_score(example_db):
    from privsem.database import PrivacyDB
    from privsem.database.scenes import entity_scenes
    from privsem.guard import Guard
    from privsem.guard.matcher import detection_score

    db = PrivacyDB.open(example_db[0])
    guard, leak = Guard(db), Leakage(db).eval()
    img = np.ascontiguousarray(entity_scenes("heldout", 1)[0].image[:384, 64:448])
    k = [e.name for e in db.entities].index("chelsea")
    want = detection_score(guard.score_maps(guard.encoder.features(img))["chelsea"])
    with torch.no_grad():
        got = leak.score(torch.from_numpy(img).permute(2, 0, 1)[None], torch.tensor([k]))
    assert float(got) == pytest.approx(want, abs=2e-3)


def test_train_joint_tiny_then_resume_then_eval(tmp_path, example_db):
    from privsem.codec import load_codec
    from privsem.recovery.diffusion import load_recovery_model

    db, scenes = example_db
    out = tmp_path / "joint"
    args = ["train", "joint", "--db", str(db), "--out", str(out), "--batch", "2", "--scenes", "4"]
    assert main(args + ["--steps", "2"]) == 0
    rep = json.loads((out / FILES["report"]).read_text())
    assert set(rep["before"]) == set(rep["after"]) == {"train", "heldout"}
    for split in rep["after"].values():
        assert 0 < split["l_a"] < 0.2 and 0 <= split["f_soft"] <= 1 and 0 <= split["f_hard"] <= 1
    margins = json.loads((out / FILES["guard"]).read_text())["margin_tile_px"]
    assert set(margins) == {"chelsea", "astronaut"} and all(0 < v < 6 for v in margins.values())
    codec = load_codec(out / FILES["codec"])
    assert codec.encode(np.random.rand(1, 3, 64, 64).astype(np.float32), 10).shape[1] == codec.n_symbols((64, 64))
    assert load_recovery_model(out / FILES["bob"]).role == "finetuned"
    assert main(args + ["--steps", "3", "--resume"]) == 0
    assert json.loads((out / FILES["report"]).read_text())["before"] == rep["before"]
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"snrs = [10]\nchannels = ['awgn']\nn_images = 1\nsteps = 2\nvariants = ['full']\n"
                   f"db = '{db}'\njoint = '{out}'\n")
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "ev")]) == 0
    rows = json.loads((tmp_path / "ev" / "results.json").read_text())["rows"]
    assert [(r["variant"], r["role"]) for r in rows] == [("full", "bob"), ("full", "eve"), ("joint", "bob"),
                                                        ("joint", "eve")]
    assert all(r["frames_lost"] == 0 for r in rows)
    assert "## Algorithm 3" in (tmp_path / "ev" / "results.md").read_text()


def test_train_joint_bad_args(tmp_path, capsys, example_db):
    assert main(["train", "joint", "--db", str(example_db[0]), "--out", str(tmp_path / "j"), "--steps", "0"]) == 1
    assert capsys.readouterr().err.startswith("privsem: error: need --steps")
    assert main(["train", "joint", "--db", str(tmp_path / "nodb"), "--out", str(tmp_path / "j")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
