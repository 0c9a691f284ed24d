"""Algorithm 3: end-to-end training of guard (γ), JSCC (η, ψ) and Bob's recovery (λ)
on ``L_total = L_a + w·f(Ŝ_e)`` under the SNR threshold τ and the power limit P_max.

What is differentiable here, and what stands in for what (no step of the deployed
system is skipped, but two are replaced by smooth surrogates so gradients flow):

* **γ, the guard.** The guard's detector and superpixel mask are fixed; γ is a learned
  *margin* per entity: ``M_γ = M + σ(g_k)·(dilate_r(M) − M)``, a soft extra dilation of
  up to ``r`` pixels. A larger margin hides the entity's rim from Eve (less f) and
  leaves Bob more to regenerate (more L_a): the trade-off eq. 9 weighs.
* **η, ψ, the JSCC**, on the guarded tile under P_max (the transmitter scales its
  symbols to average power P_max) over AWGN or Rayleigh at an SNR drawn from
  [τ, τ + 15] dB (the constraint ``SNR ≥ τ``). Eve decodes with the same decoder ψ: the
  system is public, only the DB and Bob's weights are secret (docs/security.md).
* **λ, Bob's recovery**, as one differentiable RePaint step: his DB exemplar diffused to
  t = 0.2·T inside M_γ, Â outside, the U-Net's x0 estimate pasted into M_γ. Eve's
  base U-Net (frozen) does the same from noise at t = 0.5·T without prompt.
* **f**, eq. 8's indicator, as ``σ((s_k − Γ_k)/T)`` with ``s_k`` the guard's detection
  score (top-5 mean of the smoothed patch-score map: nearest prototype of k minus nearest
  entry of its negative bank, on MobileNet features) of Eve's output; the hard f (``s_k ≥ Γ_k``) is reported beside it.

Training works on 96×96 tiles around the guard's mask (the recovery U-Net's tile) of the
calibration scenes; :func:`train_joint` writes a folder that ``privsem eval`` takes as
``joint = DIR`` (JSCC, Bob's U-Net, guard margins) to compare against the separately
trained parts.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .errors import PrivsemError

RESERVED = 0.1  # the transmitter's black level (guard.RESERVED_BLACK)
FILES = {"codec": "jscc.safetensors", "bob": "recovery_bob.safetensors", "guard": "guard.json",
         "report": "report.json", "ckpt": "joint.ckpt"}


@dataclass
class JointConfig:
    """Hyper-parameters (stored with the results)."""

    steps: int = 300
    batch: int = 8
    tau_db: float = 5.0  # SNR threshold τ: training SNRs are drawn from [τ, τ + 15]
    p_max: float = 1.0  # average symbol power of x
    leak_weight: float = 1.0  # w in L_a + w·f (the paper: 1)
    temperature: float = 0.02  # of the soft f, in cosine-similarity units
    margin_px: int = 6  # r: the largest extra dilation γ can learn, in tile pixels
    lr_codec: float = 5e-5
    lr_recovery: float = 1e-5
    lr_guard: float = 0.05
    rayleigh: float = 0.5  # share of the batch over Rayleigh fading
    n_scenes: int = 48
    seed: int = 0


@dataclass
class Batch:
    s: torch.Tensor  # (B, 3, r, r) original tile in [0, 1]
    m: torch.Tensor  # (B, 1, r, r) the guard's mask
    e: torch.Tensor  # (B, 3, r, r) Bob's DB exemplar pasted into M, [0, 1]
    k: torch.Tensor  # (B,) entity index
    cond: torch.Tensor  # (B, 1, d) prompt embeddings


def tiles(db, guard, text, n_scenes: int, split: str = "calibration", seed: int = 0) -> dict[str, torch.Tensor]:
    """The training set: scenes of ``split`` with an entity, the guard's mask, Bob's
    exemplar, cut to the U-Net's tile (:func:`~privsem.recovery.tiles.cut`)."""
    from .database.scenes import entity_scenes
    from .recovery.build import db_exemplar
    from .recovery.tiles import cut, tile_around

    names = [e.name for e in db.entities]
    emb = text.encode([e.prompt for e in db.entities])
    exemplar = db_exemplar(db, emb)
    out = {k: [] for k in ("s", "m", "e", "k")}
    for sc in entity_scenes(split, n_scenes, seed):
        g = guard(sc.image)
        if g.entity is None or not g.mask.any():
            continue
        k = names.index(g.entity)
        t = tile_around(g.mask)
        s, m = cut(sc.image, g.mask, t, 96)
        e, _ = cut(exemplar(sc.image * ~g.mask[..., None], g.mask, emb[k]), g.mask, t, 96)
        out["s"].append((s + 1) / 2)
        out["m"].append(m)
        out["e"].append((e + 1) / 2)
        out["k"].append(torch.tensor([k]))
    if not out["s"]:
        raise PrivsemError(f"the guard found no entity in the {split} scenes: nothing to train on")
    data = {k: torch.cat(v) for k, v in out.items()}
    data["emb"] = torch.from_numpy(emb)
    return data


class Leakage(torch.nn.Module):
    """Soft and hard eq. 8 on a batch of tiles: the guard's detection score of entity k
    (the DB's MobileNetV2 on ``device``, default CPU)."""

    def __init__(self, db, side: int = 384, device=None) -> None:
        super().__init__()
        enc = db.encoder(device)
        if not hasattr(enc, "net"):
            raise PrivsemError("Algorithm 3 needs the MobileNetV2 guard encoder (differentiable); "
                               f"this DB uses {enc.name}")
        self.net = enc.net
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.side = side
        from .guard import Guard

        banks = Guard(db, encoder=enc)._banks  # negatives + the other entities' prototypes, as the guard has them
        self.register_buffer("protos", _padded([e.prototypes for e in db.entities]))
        self.register_buffer("banks", _padded([banks[e.name] for e in db.entities]))
        self.register_buffer("gamma", torch.tensor([e.threshold for e in db.entities], dtype=torch.float32))
        self.register_buffer("mu", torch.from_numpy(np.asarray(db.mu, np.float32)))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def score(self, img: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """img ``(B, 3, r, r)`` in [0, 1] → ``(B,)`` detection score of entity ``k``."""
        x = F.interpolate(img, size=(self.side, self.side), mode="bilinear", align_corners=False)
        feats = self.net((x - self.mean) / self.std)  # (B, d, h, w)
        feats = F.normalize(feats - self.mu.view(1, -1, 1, 1), dim=1)
        # the guard's patch score: nearest prototype of k minus nearest entry of k's bank
        pos = torch.einsum("bdhw,bpd->bphw", feats, self.protos[k]).amax(1, keepdim=True)
        neg = torch.einsum("bdhw,bnd->bnhw", feats, self.banks[k]).amax(1, keepdim=True)
        sim = F.avg_pool2d(F.pad(pos - neg, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        return sim.flatten(1).topk(5, dim=1).values.mean(1)

    def forward(self, img, k, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.score(img, k)
        return torch.sigmoid((s - self.gamma[k]) / temperature), (s >= self.gamma[k]).float()


def _padded(rows: list[np.ndarray]) -> torch.Tensor:
    """Stack ``(n_i, d)`` arrays into ``(K, max n_i, d)``, padding each with copies of its
    own first row (a maximum over the rows is unchanged)."""
    n = max(len(r) for r in rows)
    return torch.from_numpy(np.stack([np.concatenate([r, np.repeat(r[:1], n - len(r), 0)]) for r in rows]))


def margin_mask(m: torch.Tensor, gate: torch.Tensor, r: int) -> torch.Tensor:
    """``M_γ = M + σ(g)·(dilate_r(M) − M)`` for ``m`` ``(B,1,H,W)`` and ``gate`` ``(B,)``."""
    grown = F.max_pool2d(m, 2 * r + 1, stride=1, padding=r)
    return m + torch.sigmoid(gate).view(-1, 1, 1, 1) * (grown - m)


def transmit_symbols(codec, a: torch.Tensor, snr_rx: torch.Tensor, p_max: float) -> torch.Tensor:
    """Encoder η: tile ``(B, 3, r, r)`` → complex ``(B, n)`` with mean ``|x|²`` = ``p_max``
    per image (the constraint ``‖x‖² ≤ P_max`` per symbol, met with equality)."""
    from .codec.jscc import to_symbols

    return to_symbols(codec.encoder(a, snr_rx).float(), codec.m) * np.sqrt(p_max)  # float32 under autocast


def grow_mask(mask: np.ndarray, margin_tile_px: float, res: int = 96) -> np.ndarray:
    """A learned margin (tile pixels at ``res``) applied to a full-resolution bool mask:
    scaled by the side of the mask's tile (:func:`~privsem.recovery.tiles.tile_around`)."""
    from scipy import ndimage

    from .recovery.tiles import tile_around

    r = int(round(margin_tile_px * tile_around(mask).side / res))
    return ndimage.binary_dilation(mask, iterations=r) if r > 0 and mask.any() else mask


def _jscc_link(codec, a: torch.Tensor, snr: torch.Tensor, ray: torch.Tensor, gen, p_max: float) -> torch.Tensor:
    """η → channel → ψ. ``snr`` (dB) is the SNR at unit transmit power; at P_max the
    receiver sees ``snr + 10·log10(P_max)``, which is what the decoder is told."""
    from .codec.jscc import from_symbols
    from .codec.train import simulate_channel

    snr_rx = snr + 10 * np.log10(p_max)
    x = transmit_symbols(codec, a, snr_rx, p_max)
    y = simulate_channel(x / np.sqrt(p_max), snr_rx, ray, 64, gen)  # noise relative to P_max; equalised
    b, _, h, w = a.shape
    lh, lw = codec._latent_hw((h, w))
    return codec.decoder(from_symbols(y, codec.c_out, lh, lw), snr_rx, torch.ones(b, device=a.device)).clamp(0, 1)


def _one_step(unet, sch, a_hat, mask, start, t: int, cond, gen) -> torch.Tensor:
    """One differentiable RePaint step: ``start`` (inside M) and Â (outside) diffused to
    t, the U-Net's x0 estimate pasted into M. Tensors in [0, 1], ``(B, 3, r, r)``."""
    from .recovery.diffusion import forward_diffusion, unet_input

    from .device import randn

    ab = sch.alphas_cumprod[t]
    known = a_hat * 2 - 1
    eps = randn(known.shape, gen, known.device)
    d_t = forward_diffusion(mask * (start * 2 - 1) + (1 - mask) * known, ab, eps)
    ts = torch.full((known.shape[0],), t, dtype=torch.long, device=known.device)
    eps_hat = unet(unet_input(d_t, known, mask), ts, encoder_hidden_states=cond).sample
    x0 = ((d_t - (1 - ab).sqrt() * eps_hat) / ab.sqrt()).clamp(-1, 1)
    return (1 - mask) * a_hat + mask * (x0 + 1) / 2


class JointSystem(torch.nn.Module):
    """Transmitter (γ, η), Bob (ψ, λ) and the benign eavesdropper of Algorithm 3."""

    def __init__(self, codec, bob, eve, leakage: Leakage, n_entities: int, cfg: JointConfig) -> None:
        super().__init__()
        from .recovery.diffusion import build_scheduler

        self.encoder, self.decoder = codec.encoder, codec.decoder
        self.codec = codec
        self.bob, self.eve, self.leak = bob.unet, eve.unet, leakage
        for p in self.eve.parameters():
            p.requires_grad_(False)
        self.gate = torch.nn.Parameter(torch.full((n_entities,), -2.0))  # γ: margin gate per entity
        self.sch = build_scheduler("ddpm", bob.config)
        self.cfg = cfg

    def forward(self, b: Batch, gen: torch.Generator) -> dict[str, torch.Tensor]:
        cfg, n = self.cfg, b.s.shape[0]
        t_total = self.sch.config.num_train_timesteps
        m = margin_mask(b.m, self.gate[b.k], cfg.margin_px)  # γ
        a = (1 - m) * (RESERVED + (1 - RESERVED) * b.s)  # A, removed pixels black
        dev = b.s.device
        snr = (cfg.tau_db + 15 * torch.rand(2, n, generator=gen)).to(dev)  # Bob's and Eve's SNR ≥ τ
        ray = (torch.rand(2, n, generator=gen) < cfg.rayleigh).to(dev)
        heads = []
        for i in range(2):
            a_hat = _jscc_link(self.codec, a, snr[i], ray[i], gen, cfg.p_max)
            heads.append(((a_hat - RESERVED) / (1 - RESERVED)).clamp(0, 1) * (1 - m))
        s_bob = _one_step(self.bob, self.sch, heads[0], m, b.e, int(0.2 * t_total), b.cond, gen)
        s_eve = _one_step(self.eve, self.sch, heads[1], m, torch.full_like(b.e, 0.5), int(0.5 * t_total),
                          torch.zeros_like(b.cond), gen)
        l_a = F.mse_loss(s_bob, b.s)  # eq. 7 on [0, 1] images
        f_soft, f_hard = self.leak(s_eve, b.k, cfg.temperature)
        return {"loss": l_a + cfg.leak_weight * f_soft.mean(), "l_a": l_a, "f_soft": f_soft.mean(),
                "f_hard": f_hard.mean(), "margin_px": (torch.sigmoid(self.gate) * cfg.margin_px).detach()}


def _batch(data: dict, idx: torch.Tensor) -> Batch:
    idx = idx.to(data["s"].device)
    k = data["k"][idx]
    return Batch(s=data["s"][idx], m=data["m"][idx], e=data["e"][idx], k=k, cond=data["emb"][k][:, None, :])


def evaluate(system: JointSystem, data: dict, seed: int = 1, repeats: int = 2) -> dict[str, float]:
    """Mean L_a, soft and hard f over the whole set (fixed noise)."""
    gen = torch.Generator().manual_seed(seed)
    acc: dict[str, list[float]] = {"l_a": [], "f_soft": [], "f_hard": []}
    with torch.no_grad():
        for _ in range(repeats):
            for i in range(0, data["s"].shape[0], 8):
                out = system(_batch(data, torch.arange(i, min(i + 8, data["s"].shape[0]))), gen)
                for k in acc:
                    acc[k].append(float(out[k]))
    return {k: round(float(np.mean(v)), 5) for k, v in acc.items()}


def _save(out: Path, system: JointSystem, names: list[str], codec_meta: dict, opt, step: int,
          cfg: JointConfig, final: bool, scale: dict | None = None) -> None:
    from safetensors.torch import save_file

    from .codec.train import _model_state
    from .recovery.diffusion import save_recovery_model
    from .training import optimizer_tensors

    out.mkdir(parents=True, exist_ok=True)
    state = {f"model.{k}": v.detach().cpu().contiguous() for k, v in system.state_dict().items()
             if not k.startswith(("eve.", "leak."))}
    save_file(state | optimizer_tensors(opt), str(out / "joint.tmp"),
              metadata={"step": str(step), "config": json.dumps(asdict(cfg))} | (scale or {}))
    (out / "joint.tmp").replace(out / FILES["ckpt"])
    if final:
        save_file({k: v.detach().cpu().contiguous() for k, v in _model_state(system.encoder, system.decoder).items()},
                  str(out / FILES["codec"]), metadata=codec_meta)
        save_recovery_model(out / FILES["bob"], system.bob, system.bob_config, "finetuned",
                            {"trained": "privsem train joint (Algorithm 3)", "steps": str(step)})
        margins = (torch.sigmoid(system.gate) * cfg.margin_px).tolist()
        (out / FILES["guard"]).write_text(json.dumps(
            {"margin_tile_px": dict(zip(names, [round(x, 3) for x in margins])), "tile": 96}, indent=2) + "\n")


def train_joint(out: str | Path, db_dir: str | Path, cfg: JointConfig, resume: bool = False,
                progress: bool = True, opts=None) -> dict:
    """Run Algorithm 3 from the separately trained parts; writes ``out/`` (see FILES) and
    returns the report (L_a and f before and after, on training and held-out tiles).

    One process (the tiles are a small fixed set; under torchrun with more than one a
    one-line error). ``opts`` (:class:`~privsem.training.TrainOptions`): the device
    every network runs on (guard encoder, JSCC, both U-Nets; the tiles are moved there
    once), ``amp`` and ``accum`` (``cfg.batch`` tiles per step in ``accum`` micro-batches).
    """
    from safetensors import safe_open
    from safetensors.torch import load_file
    from tqdm import tqdm

    from .codec import load_codec
    from .database import PrivacyDB
    from .guard import Guard
    from .recovery.build import bob_model
    from .recovery.diffusion import load_recovery_model
    from .text import default_text_encoder
    from .training import (TrainOptions, accumulate, checkpoint_meta, cosine_lr, load_optimizer_tensors,
                           optimizer_step, single_process, split_batch, start_step)
    from .weights import models_dir

    opts = opts or TrainOptions()
    single_process("train joint")
    local = split_batch(cfg.batch, 1, opts.accum)
    dev = opts.device
    out = Path(out)
    torch.manual_seed(cfg.seed)
    db = PrivacyDB.open(db_dir)
    guard, text = Guard(db, device=dev), default_text_encoder()
    codec = load_codec(device=dev)
    with safe_open(str(models_dir() / "jscc_small.safetensors"), "pt") as f:
        codec_meta = {k: v for k, v in (f.metadata() or {}).items() if k in ("format", "config")}
    bob, eve = bob_model(db, dev), load_recovery_model(device=dev)
    names = [e.name for e in db.entities]
    system = JointSystem(codec, bob, eve, Leakage(db, device=dev), len(names), cfg).to(dev)
    system.bob_config = bob.config
    t0 = time.perf_counter()
    train = {k: v.to(dev) for k, v in tiles(db, guard, text, cfg.n_scenes, "calibration", cfg.seed).items()}
    held = {k: v.to(dev) for k, v in tiles(db, guard, text, max(8, cfg.n_scenes // 3), "heldout", cfg.seed).items()}
    opt = torch.optim.Adam([
        {"params": list(system.encoder.parameters()) + list(system.decoder.parameters()), "lr": cfg.lr_codec},
        {"params": list(system.bob.parameters()), "lr": cfg.lr_recovery},
        {"params": [system.gate], "lr": cfg.lr_guard}])
    base_lr = [g["lr"] for g in opt.param_groups]

    def load(ckpt: Path) -> int:
        state = load_file(str(ckpt))
        system.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")}, strict=False)
        load_optimizer_tensors(opt, state)
        with safe_open(str(ckpt), "pt") as f:
            return int(f.metadata()["step"])

    step = start_step(out / FILES["ckpt"], resume, load)
    before = {"train": evaluate(system, train), "heldout": evaluate(system, held)} if step == 0 else None
    if before is None and (out / FILES["report"]).is_file():
        before = json.loads((out / FILES["report"]).read_text()).get("before")
    system.train()
    system.eve.eval()
    system.leak.eval()
    gen = torch.Generator().manual_seed(cfg.seed + step)  # a CPU stream: the same draws on every device
    scaler = opts.scaler()
    scale_meta = checkpoint_meta(1, cfg.batch, opts)
    keys = ("loss", "l_a", "f_soft", "f_hard")
    bar = tqdm(total=cfg.steps, initial=step, desc="train joint", unit="step", disable=not progress)
    history = []

    def micro(_):
        idx = torch.randint(0, train["s"].shape[0], (local,), generator=gen)
        res = system(_batch(train, idx), gen)
        return tuple(res[k] for k in keys)

    while step < cfg.steps:
        for g, lr in zip(opt.param_groups, base_lr):
            g["lr"] = cosine_lr(step, lr, cfg.steps)
        opt.zero_grad()
        parts = accumulate(system, opts, scaler, micro)
        optimizer_step(opt, scaler, system.parameters(), 1.0)
        step += 1
        history.append({k: float(np.mean([float(p[i]) for p in parts])) for i, k in enumerate(keys)})
        bar.update(1)
        bar.set_postfix(l_a=f"{np.mean([h['l_a'] for h in history[-20:]]):.4f}",
                        f=f"{np.mean([h['f_soft'] for h in history[-20:]]):.3f}")
        if step % 50 == 0 or step == cfg.steps:
            _save(out, system, names, codec_meta, opt, step, cfg, final=False, scale=scale_meta)
    bar.close()
    system.eval()
    _save(out, system, names, codec_meta, opt, step, cfg, final=True, scale=scale_meta)
    report = {"config": asdict(cfg), "before": before,
              "after": {"train": evaluate(system, train), "heldout": evaluate(system, held)},
              "margin_tile_px": json.loads((out / FILES["guard"]).read_text())["margin_tile_px"],
              "tiles": {"train": int(train["s"].shape[0]), "heldout": int(held["s"].shape[0])},
              "seconds": round(time.perf_counter() - t0, 1),
              "power_check": "x scaled to mean |x|² = P_max per image; SNR ≥ τ by construction"}
    (out / FILES["report"]).write_text(json.dumps(report, indent=2) + "\n")
    return report
