"""Training of the second scheme: the legitimate link (task-only or iterative min-max
against an adaptive eavesdropper) and the eavesdropper's classifier.

Min-max: every step first trains Eve (``eve_steps`` updates of cross-entropy on what
she receives: the current encoder's symbols through her channel at her SNR), then the
legitimate pair on

    L = CE(Bob's classifier) + α · MSE(Bob's reconstruction) + λ · CE(Eve's output, uniform)

The last term is smallest when Eve's posterior is flat, so the transmitter is pushed
to make her guess rather than to make her confidently wrong (which a retrained Eve
would simply relabel). λ is the trade-off weight (``tradeoff``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..codec.train import simulate_channel
from ..errors import PrivsemError
from .data import SHAPES, describe, load_dataset
from .models import LegitLink, LinkSpec, eve_classifier, save_model

DEFENCES_TRAINED = ("none", "minmax")
CHANNELS = ("awgn", "rayleigh")


@dataclass
class TrainConfig:
    """Options of ``privsem multitask train``. SNRs in dB; Eve's SNR is Bob's plus
    ``eve_offset_db``."""

    dataset: str = "fashion"
    data_dir: str = ""
    latent_dim: int = 16
    defence: str = "none"
    tradeoff: float = 1.0
    recon_weight: float = 10.0
    epochs: int = 8
    batch: int = 256
    lr: float = 2e-3
    snr_lo: float = 0.0
    snr_hi: float = 20.0
    eve_offset_db: float = -10.0
    channel: str = "rayleigh"
    eve_steps: int = 1
    limit: int = 0
    seed: int = 0

    def check(self) -> None:
        if self.defence not in DEFENCES_TRAINED:
            raise PrivsemError(f"--defence must be one of {', '.join(DEFENCES_TRAINED)} for training "
                               "(the perturbation is added at transmission time)")
        if self.channel not in CHANNELS:
            raise PrivsemError(f"--channel must be one of {', '.join(CHANNELS)}")
        if not 1 <= self.latent_dim <= 4096:
            raise PrivsemError("--latent-dim must be 1..4096")
        if self.epochs < 1 or self.batch < 2:
            raise PrivsemError("--epochs must be ≥ 1 and --batch ≥ 2")
        if self.snr_lo > self.snr_hi:
            raise PrivsemError("--snr range is empty")
        if self.tradeoff < 0:
            raise PrivsemError("--tradeoff must be ≥ 0")


def through_channel(s: torch.Tensor, snr_db: torch.Tensor | float, channel: str,
                    gen: torch.Generator, with_gain: bool = False):
    """complex ``(B, d)`` → Bob's or Eve's equalized symbols: AWGN, or Rayleigh block fading
    (one gain per image), LS estimate from 16 pilots and MMSE (as the OFDM PHY does).
    ``with_gain``: also the receiver's estimate of the equalizer's gain, float32 ``(B, d)``."""
    b, d = s.shape
    snr = torch.as_tensor(snr_db, dtype=torch.float32).expand(b) if not torch.is_tensor(snr_db) or \
        snr_db.ndim == 0 else snr_db
    snr = snr.to(s.device)
    ray = torch.full((b,), channel == "rayleigh", device=s.device)
    return simulate_channel(s, snr, ray, d, gen, with_gain=with_gain)


def _batches(n: int, batch: int, rng: np.random.Generator):
    order = rng.permutation(n)
    for i in range(0, n - batch + 1, batch):
        yield torch.from_numpy(order[i : i + batch])


def train_link(cfg: TrainConfig, progress: bool = True, device=None) -> tuple[LegitLink, torch.nn.Module, dict]:
    """Train the legitimate link (and, for min-max, the adaptive Eve alongside) on
    ``device`` (default CPU; the training set is moved there once, the noise comes from
    a CPU generator). Returns (link, the Eve that trained against it or None, metrics)."""
    from tqdm import tqdm

    from ..device import as_device

    cfg.check()
    dev = as_device(device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    x, y = load_dataset(cfg.dataset, "train", cfg.data_dir or None, cfg.limit or None)
    c, h, _ = SHAPES[cfg.dataset]
    spec = LinkSpec(channels=c, size=h, latent_dim=cfg.latent_dim)
    link = LegitLink(spec).to(dev)
    opt = torch.optim.Adam(link.parameters(), lr=cfg.lr)
    steps = cfg.epochs * (len(x) // cfg.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=cfg.lr / 20)
    eve = eve_classifier(cfg.latent_dim).to(dev) if cfg.defence == "minmax" else None
    eve_opt = torch.optim.Adam(eve.parameters(), lr=cfg.lr) if eve is not None else None
    xt, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    uniform = torch.full((cfg.batch, 10), 0.1, device=dev)
    bar = tqdm(total=steps, desc=f"train {cfg.defence} d={cfg.latent_dim}", unit="step", disable=not progress)
    t0 = time.time()
    log: dict[str, float] = {}
    for _ in range(cfg.epochs):
        for idx in _batches(len(x), cfg.batch, rng):
            idx = idx.to(dev)
            xb, yb = xt[idx], yt[idx]
            snr_b = (cfg.snr_lo + (cfg.snr_hi - cfg.snr_lo) * torch.rand(cfg.batch, generator=gen)).to(dev)
            snr_e = snr_b + cfg.eve_offset_db
            s = link.encoder(xb)
            if eve is not None:
                for _ in range(cfg.eve_steps):
                    eve_loss = F.cross_entropy(eve(through_channel(s.detach(), snr_e, cfg.channel, gen)), yb)
                    eve_opt.zero_grad()
                    eve_loss.backward()
                    eve_opt.step()
                log["eve_ce"] = eve_loss.item()
            yb_hat = through_channel(s, snr_b, cfg.channel, gen)
            ce = F.cross_entropy(link.classifier(yb_hat), yb)
            mse = F.mse_loss(link.reconstructor(yb_hat), xb)
            loss = ce + cfg.recon_weight * mse
            if eve is not None:
                confusion = F.cross_entropy(eve(through_channel(s, snr_e, cfg.channel, gen)), uniform)
                loss = loss + cfg.tradeoff * confusion
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            log |= {"ce": ce.item(), "mse": mse.item()}
            bar.update()
            bar.set_postfix({k: f"{v:.3f}" for k, v in log.items()}, refresh=False)
    bar.close()
    return link.eval(), eve, {"train_s": round(time.time() - t0, 1), "steps": steps} | {
        f"final_{k}": round(v, 4) for k, v in log.items()}


def train_eve(symbols: np.ndarray | torch.Tensor, labels: np.ndarray, snr_db: float, channel: str,
              epochs: int = 6, batch: int = 256, lr: float = 2e-3, seed: int = 1,
              progress: bool = False, desc: str = "train eve") -> torch.nn.Module:
    """An eavesdropper trained on what she hears: ``symbols`` complex64 ``(N, d)`` (the
    transmitted symbols of labelled images she knows) through her channel at ``snr_db``,
    fresh noise and fading every epoch. She trains on the device ``symbols`` are on."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    s = torch.as_tensor(symbols)
    yt = torch.from_numpy(np.asarray(labels, np.int64)).to(s.device)
    eve = eve_classifier(s.shape[1]).to(s.device)
    opt = torch.optim.Adam(eve.parameters(), lr=lr)
    steps = epochs * (len(s) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1), eta_min=lr / 20)
    bar = tqdm(total=steps, desc=desc, unit="step", disable=not progress, leave=False)
    for _ in range(epochs):
        for idx in _batches(len(s), batch, rng):
            idx = idx.to(s.device)
            loss = F.cross_entropy(eve(through_channel(s[idx], snr_db, channel, gen)), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.update()
    bar.close()
    return eve.eval()


@torch.no_grad()
def encode_all(link: LegitLink, x: np.ndarray, batch: int = 1024) -> torch.Tensor:
    """Images float32 ``(N, C, H, W)`` → transmitted symbols complex64 ``(N, d)``, on the
    link's device."""
    from ..device import module_device

    dev = module_device(link)
    return torch.cat([link.encoder(torch.from_numpy(x[i : i + batch]).to(dev)) for i in range(0, len(x), batch)])


FILES = {"link": "link.safetensors", "surrogate": "surrogate_eve.safetensors"}


def train_and_save(cfg: TrainConfig, out: str | Path, progress: bool = True, device=None) -> dict:
    """Train the link and the transmitter's surrogate of Eve (used to craft the
    perturbation) on ``device`` (default CPU), write both into ``out``; returns the report.
    One process: under torchrun with more, a one-line error (the Fashion-MNIST models
    train in minutes; there is nothing to shard)."""
    from ..training import single_process
    from .evaluate import link_metrics

    single_process("multitask train")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    link, _, log = train_link(cfg, progress, device)
    x, y = load_dataset(cfg.dataset, "train", cfg.data_dir or None, cfg.limit or None)
    design = (cfg.snr_lo + cfg.snr_hi) / 2
    # The transmitter's model of Eve: trained like an eavesdropper, on the second half
    # of the data, at Eve's SNR for the middle of the training range.
    half = len(x) // 2
    surrogate = train_eve(encode_all(link, x[half:]), y[half:], design + cfg.eve_offset_db, cfg.channel,
                          seed=cfg.seed + 7, progress=progress, desc="train surrogate eve")
    metrics = link_metrics(link, cfg.dataset, cfg.data_dir or None, design, cfg.channel, limit=2000)
    info = {"config": asdict(cfg), "data": describe(cfg.dataset, cfg.data_dir or None),
            "metrics": metrics | log, "surrogate_eve_snr_db": design + cfg.eve_offset_db}
    save_model(out / FILES["link"], link, "link", link.spec, info)
    save_model(out / FILES["surrogate"], surrogate, "eve", link.spec, {"snr_db": design + cfg.eve_offset_db})
    return info
