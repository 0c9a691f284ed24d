"""Evaluation of the second scheme: Bob's accuracy and reconstruction PSNR, and an
adaptive eavesdropper's accuracy, per defence and SNR, over the channel model or the
OFDM PHY (software channel, GNU Radio ``sim_channel``, or radios).

Protocol, per link and SNR: Eve is trained from scratch on the training split as she
hears it (the link's symbols through her channel at ``SNR + eve_offset_db``), then
tested on the test split. With the perturbation, she is the Eve of the unperturbed link
(the perturbation is switched on after she trained); ``eve_accuracy_adapted`` reports an
Eve retrained on perturbed transmissions as well.

Row keys: dataset, defence ("none" | "minmax" | "perturbation" | "both"), snr_db (Bob's),
eve_snr_db, latent_dim, bob_accuracy, eve_accuracy, bob_psnr (dB), eve_accuracy_adapted
(perturbation rows; else None), tradeoff (the min-max link's λ; else None), psr_db,
channel, transport, n_test, lost_bob, lost_eve (symbols lost with frames that did not
arrive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import PrivsemError
from .data import load_dataset
from .models import load_model
from .perturb import PerturbationConfig, cancel, craft_codebook, perturbation, perturbation_waveform
from .train import FILES, encode_all, through_channel, train_eve

DEFENCES = ("none", "minmax", "perturbation", "both")
TRANSPORTS = ("model", "software", "gnuradio", "radio")
LINK_OF = {"none": "none", "perturbation": "none", "minmax": "minmax", "both": "minmax"}


@dataclass
class MultitaskEvalConfig:
    """What ``privsem multitask eval`` runs. ``links`` maps "none" / "minmax" to a trained
    link directory; ``radio`` holds tx/bob/eve profiles, freq and sample_rate for
    ``transport = "radio"``."""

    dataset: str = "fashion"
    data_dir: str = ""
    links: dict = field(default_factory=dict)
    snrs: tuple = (0.0, 5.0, 10.0, 15.0, 20.0)
    defences: tuple = DEFENCES
    eve_offset_db: float = -10.0
    channel: str = "rayleigh"
    transport: str = "model"
    limit: int = 0
    eve_train_limit: int = 0
    eve_epochs: int = 6
    adapted: bool = True
    perturbation: PerturbationConfig = field(default_factory=PerturbationConfig)
    radio: dict = field(default_factory=dict)
    seed: int = 0


def psnr_per_image(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    mse = (x - x_hat).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


@torch.no_grad()
def bob_scores(link, y: torch.Tensor, x: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, mean PSNR dB) of Bob's decoders on equalized symbols ``y`` ``(N, d)``."""
    acc, ps = [], []
    for i in range(0, len(y), 2048):
        yb = y[i : i + 2048]
        acc.append(link.classifier(yb).argmax(1).cpu().numpy() == labels[i : i + 2048])
        ps.append(psnr_per_image(torch.from_numpy(x[i : i + 2048]).to(yb.device),
                                 link.reconstructor(yb)).cpu().numpy())
    return float(np.concatenate(acc).mean()), float(np.concatenate(ps).mean())


@torch.no_grad()
def accuracy(model, y: torch.Tensor, labels: np.ndarray) -> float:
    pred = torch.cat([model(y[i : i + 4096]).argmax(1) for i in range(0, len(y), 4096)]).cpu().numpy()
    return float((pred == labels).mean())


def link_metrics(link, dataset: str, data_dir, snr_db: float, channel: str, limit: int = 2000,
                 seed: int = 5) -> dict:
    """Bob's held-out accuracy and PSNR at ``snr_db`` over the channel model."""
    x, y = load_dataset(dataset, "test", data_dir, limit)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        yb = through_channel(encode_all(link, x), snr_db, channel, gen)
    acc, ps = bob_scores(link, yb, x, y)
    return {f"bob_accuracy_{snr_db:g}db": round(acc, 4), f"bob_psnr_{snr_db:g}db": round(ps, 2)}


# ---- delivery ---------------------------------------------------------------------------
def _over_phy(s: np.ndarray, delta: np.ndarray | None, size: tuple[int, int], cfg: MultitaskEvalConfig,
              snr_b: float, snr_e: float, seed: int) -> dict:
    """Frames of all test images' symbols (one message), the perturbation waveform
    added in the sample domain, through the transport, demodulated per receiver."""
    from ..phy import Modem
    from ..phy.framing import Reassembler, transmit
    from ..phy.header import MODE_ANALOG, Header
    from ..pipeline import CODEC_IDS
    from ..transport import links

    n, d = s.shape
    modem = Modem()
    template = Header(mode=MODE_ANALOG, codec_id=CODEC_IDS["multitask"], msg_id=seed & 0xFFFF,
                      height=size[0], width=size[1])
    samples = transmit(modem, template, s.reshape(-1))
    if delta is not None:
        samples = samples + perturbation_waveform(template, s, delta, modem)
    if cfg.transport == "software":
        rx = links.through_software(samples, cfg.channel, snr_b, snr_e, seed)
    elif cfg.transport == "gnuradio":
        rx = links.through_gnuradio(samples, cfg.channel, snr_b, snr_e, seed)
    else:
        r = cfg.radio
        rx = links.through_radios(samples, r["tx"], {"bob": r["bob"], "eve": r["eve"]}, r["freq"],
                                  r["sample_rate"], r.get("tx_gain"), r.get("rx_gain"))
    out = {}
    for role, y in rx.items():
        ra = Reassembler()
        frames, _ = modem.demodulate(y)
        for f in frames:
            ra.add(f)
        msg = ra.message(template.msg_id)
        gain = np.zeros(n * d, np.float32)
        if msg is None or msg.header.codec_id != CODEC_IDS["multitask"] or msg.values.size != n * d:
            values, lost = np.zeros(n * d, np.complex64), n * d
        else:
            values, lost = msg.values, int((~msg.received).sum())
            for f in msg.frames.values():
                # frame.no is the zero-forcing noise N0/|H|², so the MMSE gain is 1/(1 + no)
                gain[f.header.offset : f.header.offset + f.header.n_units] = 1.0 / (1.0 + f.no[: f.header.n_units])
        out[role] = torch.from_numpy(values.reshape(n, d).copy())
        out[f"gain_{role}"] = torch.from_numpy(gain.reshape(n, d))
        out[f"lost_{role}"] = lost
    return out


def deliver(s: torch.Tensor, delta: torch.Tensor | None, size: tuple[int, int], cfg: MultitaskEvalConfig,
            snr_b: float, snr_e: float, seed: int) -> dict:
    """``{"bob": y_b, "eve": y_e, "gain_bob", "gain_eve", "lost_bob", "lost_eve"}``:
    MMSE-equalized symbols complex64 ``(N, d)`` each receiver gets for transmitted ``s``
    (+ ``delta``), the equalizer's signal gain float32 ``(N, d)``, symbols lost."""
    if cfg.transport == "model":
        gen = torch.Generator().manual_seed(seed)
        x = s if delta is None else s + delta
        with torch.no_grad():
            yb, gb = through_channel(x, snr_b, cfg.channel, gen, with_gain=True)
            ye, ge = through_channel(x, snr_e, cfg.channel, gen, with_gain=True)
        return {"bob": yb, "eve": ye, "gain_bob": gb, "gain_eve": ge, "lost_bob": 0, "lost_eve": 0}
    # the PHY is numpy on the CPU: one copy out, one back (all test images in one message)
    rx = _over_phy(s.cpu().numpy(), None if delta is None else delta.cpu().numpy(), size, cfg, snr_b, snr_e, seed)
    return {k: v.to(s.device) if torch.is_tensor(v) else v for k, v in rx.items()}


# ---- the run ----------------------------------------------------------------------------
def check_config(cfg: MultitaskEvalConfig) -> None:
    bad = [d for d in cfg.defences if d not in DEFENCES]
    if bad:
        raise PrivsemError(f"unknown defence {bad[0]!r} (choose from {', '.join(DEFENCES)})")
    if cfg.transport not in TRANSPORTS:
        raise PrivsemError(f"unknown transport {cfg.transport!r} (choose from {', '.join(TRANSPORTS)})")
    if not cfg.snrs or any(not -30 <= s <= 60 for s in cfg.snrs):
        raise PrivsemError("SNR grid must be non-empty, values in -30..60 dB")
    for defence in cfg.defences:
        need = LINK_OF[defence]
        if not cfg.links.get(need):
            raise PrivsemError(f"defence {defence!r} needs a {need!r} link (--{need}-link DIR)")
    if cfg.transport == "radio":
        missing = [k for k in ("tx", "bob", "eve", "freq", "sample_rate") if not cfg.radio.get(k)]
        if missing:
            raise PrivsemError(f"transport radio needs {missing[0]} (--{missing[0].replace('_', '-')})")


def evaluate(cfg: MultitaskEvalConfig, progress: bool = True, device=None) -> list[dict]:
    """All rows of ``cfg``'s grid (see the module docstring); the networks on ``device``
    (default CPU), the PHY transports on the CPU."""
    from tqdm import tqdm

    check_config(cfg)
    x_tr, y_tr = load_dataset(cfg.dataset, "train", cfg.data_dir or None, cfg.eve_train_limit or None)
    x_te, y_te = load_dataset(cfg.dataset, "test", cfg.data_dir or None, cfg.limit or None)
    size = x_te.shape[2:]
    kinds = sorted({LINK_OF[d] for d in cfg.defences})
    models = {}
    for k in kinds:
        link_dir = Path(cfg.links[k])
        link, spec, info = load_model(link_dir / FILES["link"], "link", device)
        if (spec.channels, spec.size) != tuple(x_te.shape[1:3]):
            raise PrivsemError(f"{link_dir}: link is for {spec.channels}×{spec.size}² images, "
                               f"{cfg.dataset} has {x_te.shape[1]}×{x_te.shape[2]}²")
        surrogate, _, _ = load_model(link_dir / FILES["surrogate"], "eve", device)
        models[k] = (link, surrogate, info)
    rows = []
    jobs = [(snr, k) for snr in cfg.snrs for k in kinds]
    bar = tqdm(total=len(jobs), desc=f"multitask eval {cfg.dataset}", unit="point", disable=not progress)
    for j, (snr, k) in enumerate(jobs):
        link, surrogate, info = models[k]
        snr_e = snr + cfg.eve_offset_db
        seed = cfg.seed * 1000 + j
        s_tr, s_te = encode_all(link, x_tr), encode_all(link, x_te)
        eve = train_eve(s_tr, y_tr, snr_e, cfg.channel, epochs=cfg.eve_epochs, seed=seed + 11)
        msg_id = seed & 0xFFFF
        for defence in [d for d in cfg.defences if LINK_OF[d] == k]:
            perturbed = defence in ("perturbation", "both")
            delta = adapted = None
            if perturbed:
                codebook = craft_codebook([surrogate], s_tr, y_tr, snr_e, cfg.channel, cfg.perturbation)
                delta = perturbation(codebook, cfg.perturbation.key, msg_id, len(s_te))
            rx = deliver(s_te, delta, size, cfg, snr, snr_e, seed)
            y_bob = cancel(rx["bob"], rx["gain_bob"], codebook, cfg.perturbation.key, msg_id) if perturbed else rx["bob"]
            bob_acc, bob_psnr = bob_scores(link, y_bob, x_te, y_te)
            if perturbed and cfg.adapted:
                # Eve retrained on what she hears of other, perturbed messages
                d_tr = perturbation(codebook, cfg.perturbation.key, msg_id ^ 0x8000, len(s_tr))
                eve2 = train_eve(s_tr + d_tr, y_tr, snr_e, cfg.channel, epochs=cfg.eve_epochs, seed=seed + 13)
                adapted = round(accuracy(eve2, rx["eve"], y_te), 4)
            rows.append({
                "dataset": cfg.dataset, "defence": defence, "snr_db": float(snr), "eve_snr_db": float(snr_e),
                "latent_dim": link.spec.latent_dim, "bob_accuracy": round(bob_acc, 4),
                "eve_accuracy": round(accuracy(eve, rx["eve"], y_te), 4), "bob_psnr": round(bob_psnr, 2),
                "eve_accuracy_adapted": adapted,
                "tradeoff": info.get("config", {}).get("tradeoff") if k == "minmax" else None,
                "psr_db": cfg.perturbation.psr_db if perturbed else None, "channel": cfg.channel,
                "transport": cfg.transport, "n_test": int(len(y_te)),
                "lost_bob": rx["lost_bob"], "lost_eve": rx["lost_eve"]})
        bar.update()
    bar.close()
    return rows
