"""Which recovery each receiver runs (one registry line per backend).

Bob's ``diffusion`` recovery is the U-Net fine-tuned on his DB (installed in the DB by
``privsem train recovery finetune``, sha256-checked) with the DB's prompt embeddings;
Eve's is the committed base model, no DB. ``sd`` is the same with a user's Stable
Diffusion inpainting folder (``--sd-path``; Bob's fine-tuned U-Net from the DB if
there is one, sha256-checked). The rest are baselines without a generative model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PrivsemError

RECOVERIES = ("diffusion", "sd", "exemplar", "telea", "ns", "pushpull")
SCHEDULERS = ("ddim", "ddpm")  # RePaint's samplers (privsem.recovery.diffusion)


@dataclass
class RecoveryOptions:
    """``kind`` from :data:`RECOVERIES`; the rest tune the diffusion backends."""

    kind: str = "diffusion"
    steps: int = 20
    scheduler: str = "ddpm"
    exemplar_start: float = 0.2  # Bob starts RePaint from his DB exemplar diffused to this t (0: from noise)
    harmonize: float = 0.25  # share of the U-Net's change kept inside the exemplar beyond its seams (1: all)
    jump_length: int = 0
    jump_n: int = 0
    guidance: float = 1.0
    sd_path: Path | None = None


def _prompt_embeddings(db, text_encoder) -> tuple[list[str], np.ndarray]:
    prompts = [e.prompt for e in db.entities]
    emb = text_encoder.encode(prompts) if prompts else np.zeros((0, text_encoder.dim), np.float32)
    return prompts, emb


def db_exemplar(db, prompt_embeddings: np.ndarray):
    """Bob's aligned exemplar (:class:`~.aligned.AlignedExemplar`): the DB sample of the
    entity î names whose silhouette best fits M̂, warped into place and blended.

    Raises:
        PrivsemError: a DB made before silhouettes (names the upgrade command)."""
    from .aligned import AlignedExemplar

    db.require_current()
    return AlignedExemplar([db_samples(db, e) for e in db.entities], prompt_embeddings)


def db_samples(db, entity):
    """A callable returning ``entity``'s samples as (image float32 ``(h, w, 3)``, silhouette
    bool ``(h, w)``) pairs in the DB's order (read when called, decrypted if need be)."""
    return lambda: [(db.read_sample(p), entity.read_mask(i)) for i, p in enumerate(entity.samples)]


def bob_model(db, device=None):
    """Bob's U-Net: the DB's fine-tuned model, or the base model with a warning (on
    ``device``, default CPU)."""
    from .diffusion import load_recovery_model

    found = db.recovery()
    if found is None:
        warnings.warn(f"privacy DB {db.root} has no fine-tuned recovery model (run privsem train recovery "
                      f"finetune --db {db.root}); Bob uses the base model", stacklevel=2)
        return load_recovery_model(device=device)
    path, sha, current = found
    if not current:
        warnings.warn(f"the recovery model in {db.root} was fine-tuned before the DB's entities changed; "
                      "re-run privsem train recovery finetune", stacklevel=2)
    return load_recovery_model(path, expected_sha256=sha, device=device)


def build_recovery(role: str, opts: RecoveryOptions, db=None, text_encoder=None, device=None):
    """The recovery for ``role`` (``bob`` needs ``db`` and ``text_encoder``); its
    networks (the U-Net, or SD's U-Net, VAE and text encoder) on ``device`` (default
    CPU). The classical fills and the aligned exemplar are OpenCV on the CPU."""
    from .classical import OpenCVRecovery, PushPullRecovery

    if opts.kind not in RECOVERIES:
        raise PrivsemError(f"unknown recovery {opts.kind!r} (known: {', '.join(RECOVERIES)})")
    bob = role == "bob"
    if bob and (db is None or text_encoder is None):
        raise PrivsemError("Bob's recovery needs the privacy database and the text encoder")
    if opts.kind in ("telea", "ns"):
        return OpenCVRecovery(opts.kind)
    if opts.kind == "pushpull":
        return PushPullRecovery()
    if opts.kind == "exemplar":
        if not bob:
            return PushPullRecovery()  # the exemplars are the DB's samples: Eve has none
        return db_exemplar(db, _prompt_embeddings(db, text_encoder)[1])
    if opts.kind == "sd":
        from .sd import SDRecovery, load_sd

        if opts.sd_path is None:
            raise PrivsemError("--recovery sd needs --sd-path DIR (a local Stable Diffusion inpainting folder)")
        if not bob:
            return SDRecovery(load_sd(opts.sd_path, device=device), steps=opts.steps, name="sd-base")
        sd = load_sd(opts.sd_path, unet_path=db.sd_recovery(), device=device)  # sha256-checked against the manifest
        prompts, emb = _prompt_embeddings(db, text_encoder)
        return SDRecovery(sd, prompts, emb, steps=opts.steps, name="sd-finetuned")
    from .diffusion import load_recovery_model
    from .generative import DiffusionRecovery

    kw = dict(steps=opts.steps, scheduler=opts.scheduler, jump_length=opts.jump_length, jump_n=opts.jump_n,
              guidance=opts.guidance)
    if not bob:
        return DiffusionRecovery(load_recovery_model(device=device), **kw)
    _, emb = _prompt_embeddings(db, text_encoder)
    exemplar = db_exemplar(db, emb) if opts.exemplar_start > 0 else None
    return DiffusionRecovery(bob_model(db, device), prompt_embeddings=emb, exemplar=exemplar,
                             exemplar_t=opts.exemplar_start, harmonize=opts.harmonize, **kw)
