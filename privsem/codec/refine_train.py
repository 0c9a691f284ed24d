"""Training of softcast's learned refinement (:mod:`privsem.codec.refine`).

Data: 256×256 crops of the training photos (:mod:`privsem.codec.photos`, never a
benchmark image) sent through the real code — softcast encode, the pilot-block modem,
AWGN or Rayleigh block fading, zero-forcing and the LMMSE decoder — at SNRs uniform in
[−3, 23] dB and k/n 1/6, 1/12 or 1/24. A pool of such (estimate, original) pairs is kept
and a few pairs are replaced every step, so the data stays fresh without the codec
dominating the time. The loss is the MSE of random crops of the pairs.

Resumable: ``OUT.ckpt`` (safetensors) holds the net, the Adam state and the step. The
exported ``OUT`` holds the net, its config and held-out metrics: mean PSNR over the
benchmark's held-out images with and without the refinement, so the MANIFEST can say
whether it earns its place.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..errors import PrivsemError
from ..training import (
    cosine_lr,
    load_optimizer_tensors,
    optimizer_tensors,
    single_process,
    start_step,
    stream_seed,
)
from .refine import RefineConfig, RefineNet, refiner_state

KNS = ("1/6", "1/12", "1/24")
KN_WEIGHTS = (0.5, 0.25, 0.25)


@dataclass
class RefineTrainConfig:
    steps: int = 3000
    batch: int = 16
    crop: int = 128  # training crop of a 256² pair
    pool: int = 240  # (estimate, original) pairs kept
    refresh_every: int = 2  # steps per new pair (a pair costs about as much as a step)
    lr: float = 1e-3
    snr_min_db: float = -3.0
    snr_max_db: float = 23.0
    rayleigh_fraction: float = 0.3
    seed: int = 0


def make_pair(photo: np.ndarray, rng: np.random.Generator, cfg: RefineTrainConfig, size: int = 256):
    """One training pair: ``(estimate, original)`` float32 ``(3, size, size)`` and its
    (SNR dB, k/n)."""
    from .link import send_zf
    from .softcast import SoftCastCodec

    h, w = photo.shape[:2]
    s = min(size, h, w) // 2 * 2
    y, x = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
    img = np.ascontiguousarray(photo[y:y + s, x:x + s])
    kn = KNS[rng.choice(len(KNS), p=KN_WEIGHTS)]
    snr = float(rng.uniform(cfg.snr_min_db, cfg.snr_max_db))
    channel = "rayleigh" if rng.random() < cfg.rayleigh_fraction else "awgn"
    codec = SoftCastCodec(kn, refiner=None)
    est = send_zf(codec, img, channel, snr, int(rng.integers(1 << 31)))
    if not codec.last_ok[0]:
        return None  # metadata lost: nothing to refine
    return est.transpose(2, 0, 1).astype(np.float32), img.transpose(2, 0, 1), snr, float(Fraction(kn))


class PairPool:
    """A pool of pairs; :meth:`refresh` replaces the oldest, :meth:`batch` draws crops
    with flips and 90° turns: float32 ``(B, 3, crop, crop)`` twice, SNR and k/n ``(B,)``."""

    def __init__(self, photos: list[np.ndarray], cfg: RefineTrainConfig, seed: int, progress: bool) -> None:
        self.photos, self.cfg = photos, cfg
        areas = np.array([p.shape[0] * p.shape[1] for p in photos], np.float64)
        self.p = areas / areas.sum()  # photos drawn in proportion to their area
        self.rng = np.random.default_rng(seed)
        self.pairs: list = []
        self.next = 0
        bar = tqdm(total=cfg.pool, desc="refine: pairs", disable=not progress)
        while len(self.pairs) < cfg.pool:
            pair = self._new()
            if pair is not None:
                self.pairs.append(pair)
                bar.update(1)
        bar.close()

    def _new(self):
        photo = self.photos[self.rng.choice(len(self.photos), p=self.p)]
        return make_pair(photo, self.rng, self.cfg)

    def refresh(self, n: int) -> None:
        for _ in range(n):
            pair = self._new()
            if pair is not None:
                self.pairs[self.next] = pair
                self.next = (self.next + 1) % len(self.pairs)

    def batch(self, b: int):
        c = self.cfg.crop
        est = np.empty((b, 3, c, c), np.float32)
        ref = np.empty_like(est)
        snr, kn = np.empty(b, np.float32), np.empty(b, np.float32)
        for i in range(b):
            e, r, snr[i], kn[i] = self.pairs[self.rng.integers(len(self.pairs))]
            y, x = (self.rng.integers(0, e.shape[k] - c + 1) for k in (1, 2))
            e, r = e[:, y:y + c, x:x + c], r[:, y:y + c, x:x + c]
            turns, flip = int(self.rng.integers(4)), self.rng.random() < 0.5
            for j, t in ((0, e), (1, r)):
                t = np.rot90(t, turns, axes=(1, 2))
                (est if j == 0 else ref)[i] = t[:, :, ::-1] if flip else t
        return tuple(torch.from_numpy(a) for a in (est, ref, snr, kn))


def held_out_metrics(net: RefineNet | None, images, snrs=(0, 5, 10, 15, 20), channels=("awgn", "rayleigh"),
                     kn: str = "1/6", seed: int = 0) -> dict[str, float]:
    """Mean PSNR (dB) of softcast with ``net`` (None: plain LMMSE) on ``images`` through
    the software channel and the pilot-block modem: ``psnr_<channel>_<snr>db``."""
    from .link import send_zf
    from .softcast import SoftCastCodec
    from .train import evaluate

    codec = SoftCastCodec(kn, refiner=net)
    return {k: v for ch in channels for k, v in evaluate(codec, images, snrs, ch, seed, send_zf).items()}


def _save(path: Path, net, opt, step, cfg, with_optimizer: bool, metrics: dict | None = None) -> None:
    tensors, meta = refiner_state(net)
    if with_optimizer:
        tensors |= optimizer_tensors(opt)
    meta |= {"train_config": json.dumps(asdict(cfg)), "step": str(step)}
    if metrics:
        meta["metrics"] = json.dumps(metrics)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)


def _resume(ckpt: Path, net, opt) -> int:
    state = load_file(str(ckpt))
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith("optim.")})
    load_optimizer_tensors(opt, state)
    with safe_open(str(ckpt), "pt") as f:
        return int(f.metadata()["step"])


def train_refiner(out: Path, cfg: RefineTrainConfig, mcfg: RefineConfig | None = None, resume: bool = False,
                  checkpoint_every: int = 250, progress: bool = True, held_out: list | None = None,
                  photos: list | None = None, device=None) -> dict:
    """Train and write ``out`` and ``out.ckpt``; returns the held-out metrics with
    (``refined``) and without (``lmmse``) the net, and their difference per point.
    ``held_out`` / ``photos`` replace the benchmark's held-out images and the training
    photos (tests use small ones). ``device``: where the net trains (softcast's numpy
    code makes the pairs on the CPU); the export and the held-out metrics run on the CPU."""
    from .data import default_images
    from .photos import training_photos

    single_process("train refine")
    if cfg.batch < 1 or cfg.pool < 1 or cfg.crop % 2 or cfg.crop > 256:
        raise PrivsemError("need --batch ≥ 1, a pool ≥ 1 and an even crop ≤ 256")
    torch.manual_seed(cfg.seed)
    photos = photos if photos is not None else training_photos()[0]
    from ..device import as_device

    dev = as_device(device)
    net = RefineNet(mcfg or RefineConfig()).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    ckpt = out.with_suffix(".ckpt")
    step = start_step(ckpt, resume, lambda c: _resume(c, net, opt))
    pool = PairPool(photos, cfg, stream_seed(cfg.seed, 0, step), progress)
    bar = tqdm(total=cfg.steps, initial=step, desc="train refine", unit="step", disable=not progress)
    t0 = time.time()
    while step < cfg.steps:
        est, ref, snr, kn = (t.to(dev) for t in pool.batch(cfg.batch))
        loss = torch.mean((net(est, snr, kn) - ref) ** 2)
        base = torch.mean((est - ref) ** 2)
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, cfg.lr, cfg.steps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % cfg.refresh_every == 0:
            pool.refresh(1)
        bar.update(1)
        bar.set_postfix(gain_db=f"{10 * np.log10(base.item() / max(loss.item(), 1e-12)):+.2f}")
        if step % checkpoint_every == 0 or step == cfg.steps:
            _save(ckpt, net, opt, step, cfg, with_optimizer=True)
    bar.close()
    net = net.cpu().eval()
    held = held_out if held_out is not None else default_images("heldout")
    refined, lmmse = held_out_metrics(net, held), held_out_metrics(None, held)
    metrics = {"refined": refined, "lmmse": lmmse,
               "gain_db": {k: round(refined[k] - lmmse[k], 2) for k in refined},
               "train_seconds_this_run": round(time.time() - t0, 1), "photos": len(photos)}
    _save(out, net, opt, step, cfg, with_optimizer=False, metrics=metrics)
    return metrics
