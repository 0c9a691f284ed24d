"""A user's own Stable Diffusion inpainting checkpoint as the recovery model (``--sd-path``).

The checkpoint is a local diffusers folder (``unet/``, ``vae/``, ``text_encoder/``,
``tokenizer/``, ``scheduler/``) with safetensors weights; nothing is fetched and no
pickle is read (``use_safetensors=True``). RePaint on a latent model is not in
diffusers, so eqs. 12–14 run here in the VAE's latent space with M̂ max-pooled to the
latent grid; the U-Net's input is SD-inpainting's ``[z_t, M̂, E(Â ⊙ (1 − M̂))]`` (9
channels) and î is SD's own text encoding of the DB prompt the received embedding
resolves to. Algorithm 2 on SD (:func:`finetune_sd`) fine-tunes the U-Net only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..training import cosine_lr
from ..errors import PrivsemError
from .base import Recovery
from .diffusion import forward_diffusion, repaint_loop
from .exemplar import resolve_prompt
from .tiles import cut, paste, tile_around

PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


@dataclass
class SDComponents:
    """The parts of an SD inpainting checkpoint privsem uses."""

    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoder: torch.nn.Module
    tokenizer: object
    scheduler: object

    @property
    def resolution(self) -> int:
        """Pixel side of the U-Net's native sample size."""
        return int(self.unet.config.sample_size) * 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_scale(self) -> float:
        return float(getattr(self.vae.config, "scaling_factor", 0.18215))


def load_sd(path: str | Path, unet_path: str | Path | None = None, device=None) -> SDComponents:
    """Load an SD inpainting checkpoint from a local diffusers folder onto ``device``
    (U-Net, VAE and CLIP text encoder; default CPU).

    Args:
        unet_path: a fine-tuned U-Net folder (from :func:`finetune_sd`) replacing ``unet/``.
    """
    from ..device import as_device

    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    root = Path(path)
    if not root.is_dir():
        raise PrivsemError(f"Stable Diffusion folder not found: {root}")
    missing = [p for p in PARTS if not (root / p).is_dir()]
    if missing:
        raise PrivsemError(f"{root} is not a diffusers Stable Diffusion folder (missing: "
                           f"{', '.join(m + '/' for m in missing)})")
    try:
        unet = (UNet2DConditionModel.from_pretrained(str(unet_path), use_safetensors=True) if unet_path
                else UNet2DConditionModel.from_pretrained(str(root), subfolder="unet", use_safetensors=True))
        vae = AutoencoderKL.from_pretrained(str(root), subfolder="vae", use_safetensors=True)
        text = CLIPTextModel.from_pretrained(str(root / "text_encoder"), use_safetensors=True)
        tok = CLIPTokenizer.from_pretrained(str(root / "tokenizer"))
        sch = DDIMScheduler.from_pretrained(str(root), subfolder="scheduler")
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PrivsemError(f"cannot load Stable Diffusion from {root}: {first}") from None
    if unet.config.in_channels != 9:
        raise PrivsemError(f"{root}: not an inpainting U-Net (in_channels {unet.config.in_channels}, expected 9)")
    dev = as_device(device)
    for m in (unet, vae, text):
        m.to(dev).eval().requires_grad_(False)
    return SDComponents(unet, vae, text, tok, sch)


def encode_prompt(sd: SDComponents, prompts: list[str]) -> torch.Tensor:
    """SD's text conditioning: float32 ``(N, L, d)``."""
    ids = sd.tokenizer(prompts, padding="max_length", max_length=sd.tokenizer.model_max_length,
                       truncation=True, return_tensors="pt").input_ids
    return sd.text_encoder(ids.to(sd.text_encoder.device))[0]


def to_latent(sd: SDComponents, img: torch.Tensor, sample: torch.Generator | None = None) -> torch.Tensor:
    """``(B, 3, r, r)`` in [-1, 1] → scaled latents ``(B, 4, r/f, r/f)``."""
    dist = sd.vae.encode(img).latent_dist
    z = dist.sample(generator=sample) if sample is not None else dist.mean
    return z * sd.latent_scale


def latent_mask(mask: torch.Tensor, size: int) -> torch.Tensor:
    """M̂ on the latent grid: a latent cell is regenerated if any pixel under it is."""
    return F.adaptive_max_pool2d(mask, (size, size))


def inpaint_input(z_t, m_lat, masked_lat) -> torch.Tensor:
    """SD-inpainting's U-Net input ``[z_t, M̂, E(Â ⊙ (1 − M̂))]``."""
    return torch.cat([z_t, m_lat, masked_lat], dim=1)


class SDRecovery(Recovery):
    """``SDRecovery(sd, prompts=None, prompt_embeddings=None)``.

    Args:
        sd: loaded components (:func:`load_sd`).
        prompts, prompt_embeddings: Bob's DB prompts and their MiniLM embeddings; the
            received î resolves to the nearest prompt, which SD's text encoder encodes.
            Without them (Eve) the prompt is empty.
    """

    def __init__(self, sd: SDComponents, prompts: list[str] | None = None,
                 prompt_embeddings: np.ndarray | None = None, steps: int = 20, fill: float = 0.85,
                 name: str = "sd") -> None:
        self.sd, self.prompts, self.prompt_embeddings = sd, prompts or [], prompt_embeddings
        self.steps, self.fill, self.name = steps, fill, name

    def _prompt(self, prompt_embedding) -> str:
        if prompt_embedding is None or not self.prompts:
            return ""
        k, _ = resolve_prompt(np.asarray(prompt_embedding, np.float32), self.prompt_embeddings)
        return self.prompts[k]

    @torch.no_grad()
    def __call__(self, image, mask, prompt_embedding=None, steps=0, seed=0):
        if not mask.any():
            return image.copy()
        sd = self.sd
        tile = tile_around(mask, self.fill)
        known, m = cut(image, mask, tile, sd.resolution)
        known, m = known.to(sd.unet.device), m.to(sd.unet.device)
        z_known = to_latent(sd, known)
        m_lat = latent_mask(m, z_known.shape[-1])
        masked_lat = to_latent(sd, known * (1 - m))
        text = encode_prompt(sd, [self._prompt(prompt_embedding)])

        def predict(z_t, t):
            return sd.unet(inpaint_input(z_t, m_lat, masked_lat), int(t), encoder_hidden_states=text).sample

        z0 = repaint_loop(predict, sd.scheduler, z_known, m_lat, steps or self.steps, seed)
        gen = sd.vae.decode(z0 / sd.latent_scale).sample.clamp(-1, 1)
        return paste(image, mask, tile, gen.cpu())


def finetune_sd(sd_path: str | Path, db, out: str | Path, tcfg, resume: bool = False, opts=None) -> dict:
    """Algorithm 2 on a user's SD: fine-tune the inpainting U-Net on the DB's samples and
    prompts (VAE and text encoder frozen); writes ``out/`` (diffusers, safetensors).

    ``resume`` continues from the U-Net already in ``out``. One process (under torchrun
    with more: a one-line error); ``opts`` (:class:`~privsem.training.TrainOptions`):
    device, ``amp`` (the U-Net's weights stay float32) and ``accum`` (``tcfg.batch`` tiles
    per step in ``accum`` micro-batches).
    """
    from ..text import default_text_encoder
    from ..training import TrainOptions, accumulate, optimizer_step, single_process, split_batch
    from .train import finetune_sampler_factory, masked_mse

    opts = opts or TrainOptions()
    single_process("fine-tuning Stable Diffusion")
    local = split_batch(tcfg.batch, 1, opts.accum)
    dev = opts.device
    out = Path(out)
    sd = load_sd(sd_path, unet_path=out if resume and (out / "config.json").is_file() else None, device=dev)
    if resume and not (out / "config.json").is_file():
        raise PrivsemError(f"nothing to resume: {out} holds no fine-tuned U-Net")
    unet = sd.unet
    unet.train().requires_grad_(True)
    sampler = finetune_sampler_factory(db, default_text_encoder(), sd.resolution, tcfg.blob_fraction,
                                       tcfg.prior_fraction)(tcfg.seed)
    ents = db.entities
    with torch.no_grad():
        texts = encode_prompt(sd, [e.prompt for e in ents] + [""])
    # the sampler gives MiniLM embeddings; map each back to its prompt's SD encoding
    mini = default_text_encoder().encode([e.prompt for e in ents])
    sch = sd.scheduler
    opt = torch.optim.AdamW(unet.parameters(), lr=tcfg.lr)
    scaler = opts.scaler()
    gen = torch.Generator().manual_seed(tcfg.seed)  # CPU stream: the same draws on every device
    t0, losses = time.time(), []
    step = 0

    def micro(i):
        x0, mask, emb = (torch.from_numpy(a) for a in sampler.sample(local))
        x0, mask = x0.to(dev), mask.to(dev)
        with torch.no_grad():
            z0 = to_latent(sd, x0, gen)
            masked = to_latent(sd, x0 * (1 - mask))
            m_lat = latent_mask(mask, z0.shape[-1])
            sims = emb.numpy() @ mini.T
            idx = np.where(sims.max(1) > 0.99, sims.argmax(1), len(ents))  # generic tiles: ""
            idx[np.random.default_rng(step if i == 0 else [step, i]).random(len(idx)) < tcfg.cond_drop] = len(ents)
            cond = texts[torch.from_numpy(idx).to(dev)]
        t = torch.randint(0, sch.config.num_train_timesteps, (z0.shape[0],), generator=gen)
        eps = torch.randn(z0.shape, generator=gen).to(dev)
        z_t = forward_diffusion(z0, sch.alphas_cumprod[t].view(-1, 1, 1, 1).to(dev), eps)
        pred = unet(inpaint_input(z_t, m_lat, masked), t.to(dev), encoder_hidden_states=cond).sample
        return masked_mse(pred.float(), eps, m_lat, tcfg.outside_weight)

    for step in tqdm(range(tcfg.steps), desc="finetune sd", unit="step"):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, tcfg.lr, tcfg.steps)
        opt.zero_grad(set_to_none=True)
        micro_losses = accumulate(unet, opts, scaler, micro)
        optimizer_step(opt, scaler)
        losses.append(float(torch.stack(micro_losses).mean()))
    unet.save_pretrained(str(out), safe_serialization=True)
    summary = {"final_loss": round(float(np.mean(losses[-50:])), 5) if losses else None, "steps": tcfg.steps,
               "train_seconds": round(time.time() - t0, 1), "db_fingerprint": db.fingerprint()}
    (out / "privsem_finetune.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
