"""Diffusion recovery R (paper 1, §III-D, eqs. 12–16): RePaint-style masked denoising with
a text-conditioned U-Net.

* eq. 12 :func:`forward_diffusion` — ``B_t = √ᾱ_t Â + √(1 − ᾱ_t) ε``;
* eqs. 13–14 :func:`repaint_step` — ``D_{t−1} = C_{t−1} ⊙ M̂ + B_{t−1} ⊙ (1 − M̂)``;
* ``C_{t−1} = U(D_t | î)`` in :func:`repaint_loop`: the diffusers ``UNet2DConditionModel``
  predicts the noise (:func:`predict_noise`), a diffusers scheduler (DDIM or DDPM) steps;
* eqs. 15–16: the U-Net's cross-attention, queries from its feature maps Φ, keys and
  values from the prompt embedding î (``encoder_hidden_states``, one 384-d token);
* RePaint's resampling jumps (Lugmayr et al. 2022) :func:`jump_schedule`, :func:`renoise`.

Like Stable Diffusion's inpainting U-Net (and as the paper's Fig. 3 feeds M̂ to U), the
U-Net also sees the masked image and the mask: its input is ``[D_t, Â ⊙ (1 − M̂), M̂]``,
7 channels. Pixel space, ``[-1, 1]``, at a fixed tile resolution (see :mod:`.tiles`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..device import randn
from ..errors import IntegrityError, PrivsemError
from .build import SCHEDULERS

FORMAT = "privsem-recovery-1"


@dataclass
class RecoveryModelConfig:
    """Architecture of the recovery U-Net; stored in every weights file."""

    resolution: int = 96
    channels: tuple[int, ...] = (32, 64, 128, 128)
    text_dim: int = 384
    train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    attention_head_dim: int = 8
    norm_groups: int = 8

    @classmethod
    def from_dict(cls, d: dict) -> RecoveryModelConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "channels" in known:
            known["channels"] = tuple(known["channels"])
        return cls(**known)


def build_unet(cfg: RecoveryModelConfig):
    """A randomly initialised ``UNet2DConditionModel``: input ``[D_t, masked Â, M̂]``
    (7 channels), output the predicted noise (3 channels); cross-attention (eqs. 15–16)
    at the lowest resolution only, where it is cheap on a CPU."""
    from diffusers import UNet2DConditionModel

    n = len(cfg.channels)
    return UNet2DConditionModel(
        sample_size=cfg.resolution, in_channels=7, out_channels=3, layers_per_block=1,
        block_out_channels=tuple(cfg.channels),
        down_block_types=("DownBlock2D",) * (n - 1) + ("CrossAttnDownBlock2D",),
        up_block_types=("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (n - 1),
        cross_attention_dim=cfg.text_dim, attention_head_dim=cfg.attention_head_dim,
        norm_num_groups=cfg.norm_groups)


def build_scheduler(kind: str, cfg: RecoveryModelConfig):
    """A diffusers scheduler matching the model's training noise schedule."""
    from diffusers import DDIMScheduler, DDPMScheduler

    if kind not in SCHEDULERS:
        raise PrivsemError(f"unknown scheduler {kind!r} (known: {', '.join(SCHEDULERS)})")
    cls = DDIMScheduler if kind == "ddim" else DDPMScheduler
    return cls(num_train_timesteps=cfg.train_timesteps, beta_schedule=cfg.beta_schedule,
               prediction_type="epsilon", clip_sample=True)


@dataclass
class RecoveryModel:
    """A U-Net with its config and where it came from (``role``: base | finetuned)."""

    unet: torch.nn.Module
    config: RecoveryModelConfig
    role: str = "base"
    meta: dict = field(default_factory=dict)


# ---- the equations ---------------------------------------------------------------------

def alpha_bar(scheduler, t: int | None) -> torch.Tensor:
    """ᾱ_t of the scheduler (``t = None`` is the clean image, ᾱ = 1)."""
    return torch.tensor(1.0) if t is None else scheduler.alphas_cumprod[int(t)]


def forward_diffusion(a_hat: torch.Tensor, ab: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Eq. 12: ``B_t = √ᾱ_t · Â + √(1 − ᾱ_t) · ε`` (any shape, ``[-1, 1]`` images)."""
    return ab.sqrt() * a_hat + (1 - ab).sqrt() * eps


def unet_input(d_t: torch.Tensor, known: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[D_t, Â ⊙ (1 − M̂), M̂]`` → ``(B, 7, r, r)``."""
    return torch.cat([d_t, known * (1 - mask), mask], dim=1)


def condition(embedding: np.ndarray | torch.Tensor | None, dim: int, batch: int = 1) -> torch.Tensor:
    """î as the U-Net's ``encoder_hidden_states``: float32 ``(B, 1, dim)``; ``None``
    gives the zero (unconditioned) token."""
    if embedding is None:
        return torch.zeros(batch, 1, dim)
    e = torch.as_tensor(np.asarray(embedding, np.float32)).reshape(-1, 1, dim)
    return e.expand(batch, 1, dim) if e.shape[0] == 1 else e


def predict_noise(unet, d_t, t, known, mask, cond, guidance: float = 1.0) -> torch.Tensor:
    """ε̂(D_t, t | î); with ``guidance > 1`` classifier-free guidance against the zero token."""
    x = unet_input(d_t, known, mask)
    ts = torch.full((d_t.shape[0],), int(t), dtype=torch.long, device=d_t.device)
    if guidance == 1.0:
        return unet(x, ts, encoder_hidden_states=cond).sample
    both = unet(torch.cat([x, x]), torch.cat([ts, ts]),
                encoder_hidden_states=torch.cat([torch.zeros_like(cond), cond])).sample
    uncond, cond_eps = both.chunk(2)
    return uncond + guidance * (cond_eps - uncond)


def repaint_step(c_prev: torch.Tensor, b_prev: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eqs. 13–14: generated content inside M̂, the forward-diffused Â outside."""
    return c_prev * mask + b_prev * (1 - mask)


def renoise(x: torch.Tensor, ab_from: torch.Tensor, ab_to: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """A RePaint jump back: sample ``q(x_to | x_from)`` for ``ᾱ_to < ᾱ_from``."""
    ratio = ab_to / ab_from
    return ratio.sqrt() * x + (1 - ratio).sqrt() * eps


def jump_schedule(n: int, jump_length: int = 0, jump_n: int = 0) -> list[tuple[int, int]]:
    """Indices into the scheduler's timesteps as ``(i, j)`` moves: ``j = i + 1`` a
    denoising step, ``j < i`` a jump back by ``jump_length`` steps (RePaint's resampling),
    repeated ``jump_n`` times at every ``jump_length``-th step. ``i = n`` is t = 0."""
    moves, i = [], 0
    done = {}
    while i < n:
        moves.append((i, i + 1))
        i += 1
        if jump_length and jump_n and i % jump_length == 0 and i < n and done.get(i, 0) < jump_n:
            done[i] = done.get(i, 0) + 1
            back = i - jump_length
            moves.append((i, back))
            i = back
    return moves


@torch.no_grad()
def repaint_loop(predict, sch, known: torch.Tensor, mask: torch.Tensor, steps: int = 20, seed: int = 0,
                 jump_length: int = 0, jump_n: int = 0, t_max: float = 1.0,
                 init: torch.Tensor | None = None) -> torch.Tensor:
    """Masked denoising from ``B_T`` to ``D_0`` in any space (pixels, or a VAE's latents),
    on ``known``'s device; the noise is drawn from a CPU generator seeded with ``seed``
    (the same noise on every device) and moved there.

    Args:
        predict: ``(D_t, t) -> ε̂``, the conditioned U-Net.
        sch: a diffusers scheduler (its ``set_timesteps`` is called here).
        known: ``(B, C, h, w)``, Â (or its latent); mask ``(B, 1, h, w)``, 1 inside M̂.
        steps: scheduler steps; seed: the noise (deterministic given the seed).
        t_max: start at this fraction of the training timesteps (1: at pure noise). An
            ε-predicting U-Net's estimate of the clean image is unusable at the very
            top of a cosine schedule (ᾱ → 0 amplifies any error in ε̂), so a small model
            does better starting lower, from mid-grey plus noise inside M̂.
        init: the starting estimate inside M̂ (same shape as ``known``; default
            mid-grey), diffused to ``t_max`` (SDEdit-style): Bob starts from his DB's
            exemplar of the entity.
    """
    n_train = sch.config.num_train_timesteps
    sch.set_timesteps(max(steps, int(round(steps / t_max))))
    ts = [int(t) for t in sch.timesteps if t <= t_max * n_train][:steps] + [None]  # ts[-1] = clean
    steps = len(ts) - 1
    g = torch.Generator().manual_seed(int(seed))

    def eps():
        return randn(known.shape, g, known.device)

    # D_T: noise inside M̂ (around mid-grey), B_T outside (eq. 13's input).
    ab0 = alpha_bar(sch, ts[0])
    start = torch.zeros_like(known) if init is None else init
    d = repaint_step(forward_diffusion(start, ab0, eps()), forward_diffusion(known, ab0, eps()), mask)
    for i, j in jump_schedule(steps, jump_length, jump_n):
        if j == i + 1:
            c = sch.step(predict(d, ts[i]), ts[i], d, generator=g).prev_sample  # C_{t-1} = U(D_t | î)
            b = forward_diffusion(known, alpha_bar(sch, ts[j]), eps()) if ts[j] is not None else known
            d = repaint_step(c, b, mask)
        else:
            d = renoise(d, alpha_bar(sch, ts[i]), alpha_bar(sch, ts[j]), eps())
    return d


def repaint(model: RecoveryModel, known: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor,
            steps: int = 20, seed: int = 0, scheduler: str = "ddim", jump_length: int = 0,
            jump_n: int = 0, guidance: float = 1.0, t_max: float = 1.0,
            init: torch.Tensor | None = None) -> torch.Tensor:
    """The pixel model's recovery of a tile.

    Args:
        known: float32 ``(B, 3, r, r)`` in ``[-1, 1]``, the received tile Â.
        mask: float32 ``(B, 1, r, r)``, 1 inside M̂.
        cond: float32 ``(B, 1, d)``, î (zeros: unconditioned).

    Returns:
        D_0, float32 ``(B, 3, r, r)`` in ``[-1, 1]``, on the model's device (the inputs
        are moved there).
    """
    from ..device import module_device

    dev = module_device(model.unet)
    known, mask, cond = known.to(dev), mask.to(dev), cond.to(dev)
    init = None if init is None else init.to(dev)

    def predict(d_t, t):
        return predict_noise(model.unet, d_t, t, known, mask, cond, guidance)

    sch = build_scheduler(scheduler, model.config)
    return repaint_loop(predict, sch, known, mask, steps, seed, jump_length, jump_n, t_max, init).clamp(-1, 1)


# ---- weights ---------------------------------------------------------------------------

def save_recovery_model(path: Path, unet, cfg: RecoveryModelConfig, role: str, meta: dict | None = None,
                        half: bool = True) -> None:
    """Write a weights file (fp16 by default: half the size, same outputs within ~1e-3)."""
    from safetensors.torch import save_file

    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in unet.state_dict().items()}
    md = {"format": FORMAT, "config": json.dumps(asdict(cfg)), "role": role}
    md |= {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in (meta or {}).items()}
    tmp = Path(path).with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=md)
    tmp.replace(path)


def _metadata(path: Path) -> dict:
    """The safetensors header's metadata (reads the header only)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as e:
        raise PrivsemError(f"{path}: not a readable safetensors file ({e})") from None


def model_from_state(state: dict, md: dict, source: str, device=None) -> RecoveryModel:
    """Build the U-Net on ``device`` (default CPU) from a weights file's tensors and
    metadata, checking every name and shape (one clear error instead of a traceback)."""
    from ..device import as_device

    if md.get("format") != FORMAT:
        raise PrivsemError(f"{source}: not a privsem recovery model (format {md.get('format')!r}, "
                           f"expected {FORMAT!r})")
    try:
        cfg = RecoveryModelConfig.from_dict(json.loads(md["config"]))
    except (KeyError, TypeError, ValueError) as e:
        raise PrivsemError(f"{source}: missing or bad model config ({e})") from None
    unet = build_unet(cfg)
    own = unet.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    bad = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or extra or bad:
        what = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra
                else f"shape of {bad[0]}")
        raise PrivsemError(f"{source}: weights do not match the recovery U-Net ({what})")
    unet.load_state_dict({k: v.float() for k, v in state.items()})
    unet.to(as_device(device)).eval().requires_grad_(False)
    meta = {k: v for k, v in md.items() if k not in ("format", "config", "role")}
    return RecoveryModel(unet=unet, config=cfg, role=md.get("role", "base"), meta=meta)


BASE_WEIGHTS = "recovery_base.safetensors"


def load_recovery_model(path: str | Path | None = None, expected_sha256: str | None = None,
                        device=None) -> RecoveryModel:
    """The committed base model (``models/recovery_base.safetensors``, sha256-checked
    against the manifest) or a weights file at ``path`` (checked against
    ``expected_sha256`` when given, e.g. from the privacy DB's manifest), on ``device``
    (default CPU; read on the CPU, moved once)."""
    from ..weights import load_weights, models_dir, sha256_file

    if path is None:
        state = load_weights(BASE_WEIGHTS)  # sha256-checked against the manifest
        return model_from_state(state, _metadata(models_dir() / BASE_WEIGHTS), BASE_WEIGHTS, device)
    p = Path(path)
    if not p.is_file():
        raise PrivsemError(f"recovery weights not found: {p}")
    if expected_sha256 is not None and sha256_file(p) != expected_sha256:
        raise IntegrityError(f"{p}: sha256 does not match its manifest")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    md = _metadata(p)
    try:
        state = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as e:
        raise PrivsemError(f"{p}: not a readable safetensors file ({e})") from None
    return model_from_state(state, md, str(p), device)
