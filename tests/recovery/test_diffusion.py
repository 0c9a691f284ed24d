"""RePaint recovery with tiny randomly initialised (and tiny trained) U-Nets."""

import warnings

import numpy as np
import pytest
import torch

from privsem.errors import IntegrityError, PrivsemError
from privsem.recovery.diffusion import (RecoveryModel, RecoveryModelConfig, build_scheduler, build_unet,
                                        forward_diffusion, jump_schedule, load_recovery_model, renoise,
                                        repaint, repaint_step, save_recovery_model)
from privsem.recovery.generative import DiffusionRecovery
from privsem.recovery.tiles import cut, paste, tile_around

TINY = RecoveryModelConfig(resolution=16, channels=(8, 16), text_dim=8, attention_head_dim=4, norm_groups=4)


def tiny_model(seed=0, cfg=TINY) -> RecoveryModel:
    torch.manual_seed(seed)
    return RecoveryModel(build_unet(cfg).eval().requires_grad_(False), cfg)


def _scene(h=40, w=56):
    rng = np.random.default_rng(1)
    img = rng.random((h, w, 3)).astype(np.float32)
    mask = np.zeros((h, w), bool)
    mask[10:26, 18:40] = True
    return img, mask


def test_forward_diffusion_eq12():
    a = torch.rand(2, 3, 8, 8) * 2 - 1
    eps = torch.randn(2, 3, 8, 8)
    assert torch.equal(forward_diffusion(a, torch.tensor(1.0), eps), a)
    assert torch.allclose(forward_diffusion(a, torch.tensor(0.0), eps), eps)
    b = forward_diffusion(a, torch.tensor(0.25), eps)
    assert torch.allclose(b, 0.5 * a + np.sqrt(0.75) * eps)


def test_repaint_step_eq14_blends_exactly():
    c, b = torch.full((1, 3, 4, 4), 2.0), torch.full((1, 3, 4, 4), -1.0)
    m = torch.zeros(1, 1, 4, 4)
    m[..., 1:3, 1:3] = 1
    d = repaint_step(c, b, m)
    assert torch.all(d[..., 1:3, 1:3] == 2.0) and d.sum() == 2.0 * 12 - 1.0 * 36


def test_renoise_matches_the_forward_marginal():
    # x at ᾱ=0.81 taken back to ᾱ=0.36 has the marginal of eq. 12 at ᾱ=0.36
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((200_000,), 0.7)
    x_from = forward_diffusion(x0, torch.tensor(0.81), torch.randn(x0.shape, generator=g))
    x_to = renoise(x_from, torch.tensor(0.81), torch.tensor(0.36), torch.randn(x0.shape, generator=g))
    assert abs(x_to.mean().item() - 0.6 * 0.7) < 0.01
    assert abs(x_to.var().item() - 0.64) < 0.01


@pytest.mark.parametrize("length,count", [(0, 0), (2, 1), (3, 2)])
def test_jump_schedule(length, count):
    n = 9
    moves = jump_schedule(n, length, count)
    assert moves[0] == (0, 1) and moves[-1][1] == n
    forward = [m for m in moves if m[1] == m[0] + 1]
    back = [m for m in moves if m[1] < m[0]]
    assert all(i - j == length for i, j in back)
    expected_jumps = 0 if not length else count * len([i for i in range(length, n, length)])
    assert len(back) == expected_jumps and len(forward) == n + expected_jumps * length


@pytest.mark.parametrize("scheduler,jumps", [("ddim", (0, 0)), ("ddpm", (0, 0)), ("ddim", (2, 1))])
def test_repaint_keeps_background_and_is_seeded(scheduler, jumps):
    model = tiny_model()
    known = torch.rand(1, 3, 16, 16) * 2 - 1
    m = torch.zeros(1, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    cond = torch.zeros(1, 1, 8)
    a = repaint(model, known, m, cond, steps=5, seed=3, scheduler=scheduler, jump_length=jumps[0], jump_n=jumps[1])
    b = repaint(model, known, m, cond, steps=5, seed=3, scheduler=scheduler, jump_length=jumps[0], jump_n=jumps[1])
    c = repaint(model, known, m, cond, steps=5, seed=4, scheduler=scheduler, jump_length=jumps[0], jump_n=jumps[1])
    keep = m.expand_as(known) == 0
    assert torch.equal(a[keep], known[keep].clamp(-1, 1))  # eq. 14 at t = 0: B_0 = Â
    assert torch.equal(a, b) and not torch.equal(a[~keep], c[~keep])


def test_unknown_scheduler_is_a_user_error():
    with pytest.raises(PrivsemError, match="unknown scheduler"):
        build_scheduler("euler", TINY)


def test_tiles_cover_the_mask_and_round_trip():
    img, mask = _scene()
    t = tile_around(mask, fill=0.8)
    assert t.side == int(np.ceil(22 / 0.8))
    known, m = cut(img, mask, t, 16)
    assert known.shape == (1, 3, 16, 16) and m.shape == (1, 1, 16, 16)
    assert -1 <= known.min() and known.max() <= 1 and 0 < m.mean() < 1
    out = paste(img, mask, t, torch.ones(1, 3, 16, 16))
    np.testing.assert_array_equal(out[~mask], img[~mask])
    assert np.allclose(out[mask], 1.0, atol=1e-5)
    # a mask touching the corner: the tile extends past the edge (mirrored in)
    corner = np.zeros_like(mask)
    corner[:12, :10] = True
    t2 = tile_around(corner, 0.85)
    assert t2.y0 < 0 and t2.x0 < 0
    known2, _ = cut(img, corner, t2, 16)
    assert torch.isfinite(known2).all()
    out2 = paste(img, corner, t2, -torch.ones(1, 3, 16, 16))
    assert np.allclose(out2[corner], 0.0, atol=1e-5) and np.array_equal(out2[~corner], img[~corner])


def test_diffusion_recovery_interface_and_edge_cases():
    img, mask = _scene()
    rec = DiffusionRecovery(tiny_model(), steps=4, prompt_embeddings=np.eye(8, dtype=np.float32)[:2])
    out = rec(img, mask, np.eye(8, dtype=np.float32)[0], seed=1)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(out[~mask], img[~mask])
    assert not np.array_equal(out[mask], img[mask])
    # empty mask: the image unchanged; full mask: generated from î alone
    np.testing.assert_array_equal(rec(img, np.zeros_like(mask), None), img)
    full = rec(img, np.ones_like(mask), np.eye(8, dtype=np.float32)[1])
    assert full.shape == img.shape and np.isfinite(full).all() and 0 <= full.min() and full.max() <= 1
    # a prompt that is no DB entity: one warning, then the unconditioned run
    with pytest.warns(UserWarning, match="matches no entity"):
        unknown = rec(img, mask, np.eye(8, dtype=np.float32)[5], seed=1)
    np.testing.assert_array_equal(unknown, rec(img, mask, None, seed=1))
    with pytest.warns(UserWarning, match="shape"):
        rec(img, mask, np.ones(3, np.float32), seed=1)


class _Paste:
    """A stand-in exemplar: a flat grey paste that covers the whole hole."""

    def __call__(self, image, mask, prompt_embedding=None):
        self.last_covered = mask.copy()
        out = image.copy()
        out[mask] = 0.5
        return out


def test_the_unet_harmonizes_the_seams_and_keeps_the_exemplars_inside():
    from scipy import ndimage

    from privsem.recovery.generative import seam_weight

    img, mask = _scene(96, 96)
    mask[:] = False
    mask[8:88, 8:88] = True  # an 80-px exemplar: its seam band is 12 px
    w = seam_weight(mask, 0.25)
    depth = ndimage.distance_transform_edt(mask)
    assert w.dtype == np.float32 and np.all(w[~mask] == 1) and np.all(w[depth == 1] > 0.9)
    assert np.all(w[depth > 12] == 0.25) and np.all(np.diff(w[48, 8:48]) <= 0)  # falls from the edge inwards
    np.testing.assert_array_equal(seam_weight(mask, 1.0), 1)

    emb = np.eye(8, dtype=np.float32)[:2]
    runs = {h: DiffusionRecovery(tiny_model(), steps=4, prompt_embeddings=emb, exemplar=_Paste(), exemplar_t=0.5,
                                 harmonize=h)(img, mask, emb[0], seed=3) for h in (0.0, 0.25, 1.0)}
    for out in runs.values():
        np.testing.assert_array_equal(out[~mask], img[~mask])  # outside M̂: bit-exact
    deep, edge = depth > 12, depth == 1
    change = {h: np.abs(out - 0.5).mean(-1) for h, out in runs.items()}
    assert np.abs(runs[0.0][deep] - 0.5).max() < 1e-6  # 0: the exemplar's inside untouched
    assert change[1.0][deep].mean() > 0.02  # 1: the U-Net's change everywhere
    full, quarter = runs[1.0][deep] - 0.5, runs[0.25][deep] - 0.5
    unclipped = np.abs(full) < 0.49
    np.testing.assert_allclose(quarter[unclipped], 0.25 * full[unclipped], atol=1e-5)
    np.testing.assert_allclose(change[0.0][edge], change[1.0][edge], rtol=0.15, atol=2e-3)  # the seams: all of it


def test_weights_round_trip_and_bad_files(tmp_path):
    model = tiny_model(seed=5)
    path = tmp_path / "r.safetensors"
    save_recovery_model(path, model.unet, TINY, "finetuned", {"db_fingerprint": "abc"})
    loaded = load_recovery_model(path)
    assert loaded.role == "finetuned" and loaded.config == TINY and loaded.meta["db_fingerprint"] == "abc"
    img, mask = _scene()
    a = DiffusionRecovery(model, steps=3)(img, mask, None)
    b = DiffusionRecovery(loaded, steps=3)(img, mask, None)
    assert np.abs(a - b).max() < 0.02  # fp16 storage
    with pytest.raises(IntegrityError, match="sha256"):
        load_recovery_model(path, expected_sha256="0" * 64)
    with pytest.raises(PrivsemError, match="not found"):
        load_recovery_model(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(PrivsemError, match="not a readable safetensors"):
        load_recovery_model(tmp_path / "junk.safetensors")
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])  # an interrupted copy
    with pytest.raises(PrivsemError, match="not a readable safetensors"):
        load_recovery_model(tmp_path / "cut.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"), metadata={"format": "something"})
    with pytest.raises(PrivsemError, match="not a privsem recovery model"):
        load_recovery_model(tmp_path / "other.safetensors")
    wrong = RecoveryModelConfig(resolution=16, channels=(8, 24), text_dim=8, attention_head_dim=4, norm_groups=4)
    sd = tiny_model(cfg=wrong).unet.state_dict()
    import json
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp_path / "wrong.safetensors"),
              metadata={"format": "privsem-recovery-1", "config": json.dumps({**TINY.__dict__})})
    with pytest.raises(PrivsemError, match="do not match"):
        load_recovery_model(tmp_path / "wrong.safetensors")


class _ColourTiles:
    """Synthetic Algorithm-2 data: the region's colour is what the prompt says (red or
    blue); the context is grey noise and gives no hint."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def sample(self, n):
        x = self.rng.uniform(0.3, 0.6, (n, 3, 16, 16)).astype(np.float32) * 2 - 1
        yy, xx = np.mgrid[0:16, 0:16]
        disc = ((yy - 7.5) ** 2 + (xx - 7.5) ** 2) <= 25
        which = self.rng.integers(0, 2, n)
        colour = np.where(which[:, None] == 0, [[0.9, -0.9, -0.9]], [[-0.9, -0.9, 0.9]]).astype(np.float32)
        x[:, :, disc] = colour[:, :, None]
        emb = np.eye(8, dtype=np.float32)[which]
        return x, np.broadcast_to(disc, (n, 1, 16, 16)).astype(np.float32), emb


def test_training_learns_the_prompt_and_resumes(tmp_path):
    """A small U-Net trained by train_recovery fills the region with the colour the
    prompt embedding names (cross-attention, eqs. 15–16, doing its job), and a resumed
    run finishes the schedule."""
    from privsem.recovery.diffusion import condition
    from privsem.recovery.train import RecoveryTrainConfig, train_recovery

    cfg = RecoveryModelConfig(resolution=16, channels=(32, 64), text_dim=8, attention_head_dim=8, norm_groups=8)
    out = tmp_path / "small.safetensors"
    tcfg = RecoveryTrainConfig(steps=300, batch=16, lr=2e-3, cond_drop=0.1)
    train_recovery(out, _ColourTiles, RecoveryTrainConfig(**{**tcfg.__dict__, "steps": 100}), "base", mcfg=cfg,
                   checkpoint_every=50)
    with pytest.raises(PrivsemError, match="not 'finetune'"):
        train_recovery(out, _ColourTiles, tcfg, "finetune", init=tiny_model(cfg=cfg), resume=True)
    summary = train_recovery(out, _ColourTiles, tcfg, "base", mcfg=cfg, resume=True)
    assert summary["steps"] == 300
    model = load_recovery_model(out)
    x, m, _ = _ColourTiles(99).sample(1)
    known, mask = torch.from_numpy(x), torch.from_numpy(m)
    inside = mask[0, 0] > 0

    def colour(k, scheduler):
        runs = [repaint(model, known, mask, condition(np.eye(8, dtype=np.float32)[k], 8), 10, s, scheduler)
                for s in range(3)]
        return np.mean([(r[0][:, inside].mean(1).numpy() + 1) / 2 for r in runs], 0)

    # the same noise, only î differs: the red prompt gives a red disc, the blue a blue one
    # (seen here: margins 0.4–0.8 with DDPM; an untrained or unconditioned model gives ~0)
    red, blue = colour(0, "ddpm"), colour(1, "ddpm")
    assert red[0] > red[2] + 0.25 and blue[2] > blue[0] + 0.25, (red, blue)
    red, blue = colour(0, "ddim"), colour(1, "ddim")
    assert red[0] > red[2] + 0.15 and blue[2] > blue[0] + 0.15, (red, blue)


def test_missing_committed_weights_are_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVSEM_MODELS", str(tmp_path))
    (tmp_path / "MANIFEST.toml").write_text("")
    with pytest.raises(PrivsemError, match="not listed"):
        load_recovery_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
