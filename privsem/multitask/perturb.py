"""Cooperative adversarial perturbation: a small waveform superimposed on the
transmission that misleads an eavesdropper's classifier while Bob's decoders stay right.

Why keyed: Bob's and Eve's classifiers read the same features of the same symbols, so a
perturbation that misleads Eve's classifier misleads Bob's as well (measured: per-image
PGD at −10 dB PSR cost Bob as much accuracy as Eve, and projecting out the directions
that hurt Bob left Eve untouched). The asymmetry that makes the perturbation cooperative
is a shared secret: the transmitter draws each image's perturbation from a codebook of
M universal adversarial perturbations, indexed by a keyed pseudo-random sequence that
Bob knows, and Bob subtracts it after equalization. Eve, without the key, sees s + δ.

The codebook is crafted against the transmitter's surrogates of Eve (classifiers it
trained itself on what an eavesdropper hears): each entry u_m maximizes

    E_{x, ch}[ CE(Eve_surrogate(h_e(s(x) + u_m)), label(x)) ]    subject to ‖u_m‖² = ρ · d

(ρ = 10^(PSR/10), the perturbation-to-signal power ratio, d symbols of unit power) by
projected Adam over the training images and fresh channel draws. Nothing of the
legitimate link is retrained, so it works on a link trained only for its own task.

δ lives in the symbol domain; :func:`perturbation_waveform` turns it into samples that
are added to the PHY's waveform (OFDM is linear, so the sum is the frame of s + δ), which
is what goes to the software channel, GNU Radio or the radios.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .train import through_channel

DEFAULT_KEY = b"privsem-multitask-demo-key"


@dataclass
class PerturbationConfig:
    """``psr_db``: perturbation-to-signal power ratio (dB); ``codebook``: M entries;
    ``steps`` optimization steps per entry; ``key``: the secret shared with Bob;
    ``adversarial=False`` keeps the random start (keyed artificial noise of the same
    power: the baseline that shows what the adversarial crafting adds)."""

    psr_db: float = 0.0
    codebook: int = 16
    steps: int = 150
    batch: int = 512
    seed: int = 3
    key: bytes = DEFAULT_KEY
    adversarial: bool = True


def _project(u: torch.Tensor, rho: float) -> torch.Tensor:
    """Scale each row of complex ``(M, d)`` to power ρ·d."""
    d = u.shape[1]
    return u * torch.sqrt(rho * d / u.abs().pow(2).sum(1, keepdim=True).clamp_min(1e-20))


def craft_codebook(surrogates: list, s: torch.Tensor, labels: np.ndarray, snr_eve_db: float, channel: str,
                   cfg: PerturbationConfig) -> torch.Tensor:
    """Codebook complex64 ``(M, d)`` of universal perturbations against ``surrogates``,
    from transmitted symbols ``s`` complex64 ``(N, d)`` of labelled training images."""
    from ..device import randn

    gen = torch.Generator().manual_seed(cfg.seed)  # a CPU stream; the codebook lives on ``s``'s device
    dev = s.device
    rho = 10.0 ** (cfg.psr_db / 10.0)
    y = torch.from_numpy(np.asarray(labels, np.int64)).to(dev)
    for m in surrogates:
        m.requires_grad_(False)
    n, d = s.shape
    u = _project(torch.complex(randn((cfg.codebook, d), gen, dev), randn((cfg.codebook, d), gen, dev)),
                 rho).requires_grad_(True)
    opt = torch.optim.Adam([u], lr=0.05 * np.sqrt(rho))
    for _ in range(cfg.steps if cfg.adversarial else 0):
        idx = torch.randint(0, n, (cfg.batch,), generator=gen).to(dev)
        which = torch.arange(cfg.batch, device=dev) % cfg.codebook
        ye = through_channel(s[idx].detach() + u[which], snr_eve_db, channel, gen)
        loss = -sum(F.cross_entropy(m(ye), y[idx]) for m in surrogates) / len(surrogates)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            u.copy_(_project(u, rho))
    for m in surrogates:
        m.requires_grad_(True)
    return u.detach()


def key_indices(key: bytes, msg_id: int, n: int, m: int) -> np.ndarray:
    """The keyed sequence: codebook index of each of ``n`` images in message ``msg_id``
    (HMAC-SHA256 in counter mode; without the key it looks uniformly random)."""
    out = bytearray()
    counter = 0
    while len(out) < 4 * n:
        out += hmac.new(key, msg_id.to_bytes(4, "big") + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        counter += 1
    return (np.frombuffer(bytes(out[: 4 * n]), ">u4") % m).astype(np.int64)


def perturbation(codebook: torch.Tensor, key: bytes, msg_id: int, n: int) -> torch.Tensor:
    """δ complex64 ``(n, d)`` for the ``n`` images of a message."""
    return codebook[torch.from_numpy(key_indices(key, msg_id, n, codebook.shape[0])).to(codebook.device)]


def cancel(y: torch.Tensor, gain: torch.Tensor, codebook: torch.Tensor, key: bytes, msg_id: int) -> torch.Tensor:
    """Bob's side: MMSE-equalized ``(n, d)`` minus the perturbation he regenerates, scaled
    by the equalizer's gain on the signal ``gain`` float32 ``(n, d)`` (|H|²/(|H|²+N0))."""
    return y - gain * perturbation(codebook, key, msg_id, y.shape[0])


def perturbation_waveform(template, s: np.ndarray, delta: np.ndarray, modem=None) -> np.ndarray:
    """The perturbation as complex64 samples aligned with ``transmit(template, s)``: the
    difference of the frames of ``s + δ`` and ``s`` (preamble, header and pilots cancel)."""
    from ..phy import Modem
    from ..phy.framing import transmit

    modem = modem or Modem()
    s = np.asarray(s, np.complex64).reshape(-1)
    d = np.asarray(delta, np.complex64).reshape(-1)
    return transmit(modem, template, s + d) - transmit(modem, template, s)
