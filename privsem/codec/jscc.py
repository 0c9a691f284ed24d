"""A DeepJSCC-style convolutional joint source-channel code, SNR- and rate-adaptive.

Encoder: 5×5 convolutions (two with stride 2) with PReLU and FiLM conditioning on the
channel SNR, then a 5×5 conv to ``c_out`` real channels at ``H/4 × W/4``. Channels
``2j`` and ``2j+1`` form complex channel ``j``; the symbol vector is complex-channel
major, so a prefix of whole complex channels can be a coarser code: sending the first
``m`` of ``c_out/2`` complex channels gives ``k/n = m / 48`` (``k`` complex channel uses
per ``n = 3·H·W`` source values). A model trained with several ``rates`` serves them all
from one set of weights; the default models are one per ratio (``c_out`` = 16, 8, 4 for
1/6, 1/12, 1/24), which measured better here than one shared model.

The decoder mirrors the encoder with transposed convolutions, conditioned (FiLM) on
the SNR and on the fraction of complex channels received; it ends in a sigmoid.
"""

from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn

DOWNSCALE = 4  # total stride of the encoder
SOURCE_PER_POSITION = 3 * DOWNSCALE * DOWNSCALE  # real source values per latent position


def kn_of(m: int) -> Fraction:
    """Bandwidth ratio of ``m`` complex channels: ``m / 48``."""
    return Fraction(m, SOURCE_PER_POSITION)


class FiLM(nn.Module):
    """Per-channel scale and shift from a condition vector: ``x·(1+γ) + β``.

    ``cond`` float32 ``(B, n_cond)``: SNR in dB / 20 and, for the decoder, the fraction
    of complex channels received.
    """

    def __init__(self, channels: int, n_cond: int = 1) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(n_cond, 32), nn.PReLU(), nn.Linear(32, 2 * channels))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.mlp(cond).chunk(2, dim=1)
        return x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 5, stride=stride, padding=2)


def _deconv(cin: int, cout: int, stride: int = 1) -> nn.Module:
    if stride == 1:
        return nn.ConvTranspose2d(cin, cout, 5, stride=1, padding=2)
    return nn.ConvTranspose2d(cin, cout, 5, stride=stride, padding=2, output_padding=stride - 1)


class JSCCEncoder(nn.Module):
    """``(img float32 (B,3,H,W) in [0,1], snr_db (B,)) -> z float32 (B, c_out, H/4, W/4)``.

    ``H`` and ``W`` must be multiples of 4 (the :class:`~privsem.codec.Codec` pads).
    """

    def __init__(self, width: int = 64, c_out: int = 16, depth: int = 5) -> None:
        super().__init__()
        strides = [2, 2] + [1] * (depth - 2)
        self.convs = nn.ModuleList([_conv(3 if i == 0 else width, width, s) for i, s in enumerate(strides)])
        self.acts = nn.ModuleList([nn.PReLU(width) for _ in self.convs])
        self.films = nn.ModuleList([FiLM(width) for _ in self.convs[2:]])
        self.out = _conv(width, c_out)

    def forward(self, img: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        cond = snr_db.view(-1, 1) / 20.0
        x = img - 0.5
        for i, (conv, act) in enumerate(zip(self.convs, self.acts)):
            x = act(conv(x))
            if i >= 2:
                x = self.films[i - 2](x, cond)
        return self.out(x)


class JSCCDecoder(nn.Module):
    """``(z float32 (B, c_out, h, w), snr_db (B,), frac (B,)) -> img float32 (B,3,4h,4w)``.

    ``frac`` is the fraction of the ``c_out/2`` complex channels that were sent (the rest
    of ``z`` is zero).
    """

    def __init__(self, width: int = 64, c_out: int = 16, depth: int = 5) -> None:
        super().__init__()
        self.inp = _deconv(c_out, width)
        n_mid = depth - 2
        self.convs = nn.ModuleList([_deconv(width, width) for _ in range(n_mid - 1)]
                                   + [_deconv(width, width, 2)])
        self.acts = nn.ModuleList([nn.PReLU(width) for _ in range(n_mid + 1)])
        self.films = nn.ModuleList([FiLM(width, 2) for _ in range(n_mid)])
        self.out = _deconv(width, 3, 2)

    def forward(self, z: torch.Tensor, snr_db: torch.Tensor, frac: torch.Tensor) -> torch.Tensor:
        cond = torch.stack([snr_db / 20.0, frac], dim=1)
        x = self.films[0](self.acts[0](self.inp(z)), cond)
        for i, conv in enumerate(self.convs):
            x = self.acts[i + 1](conv(x))
            if i + 1 < len(self.films):
                x = self.films[i + 1](x, cond)
        return torch.sigmoid(self.out(x))


def to_symbols(z: torch.Tensor, m: int | None = None) -> torch.Tensor:
    """``(B, c, h, w)`` real → complex64 ``(B, m·h·w)``: the first ``m`` complex channels
    (default all ``c/2``), complex-channel major, scaled to mean power 1 over the ``m``
    channels sent (the encoder decides how power is spread across them)."""
    b, c, h, w = z.shape
    m = c // 2 if m is None else m
    s = torch.complex(z[:, 0 : 2 * m : 2], z[:, 1 : 2 * m : 2]).reshape(b, m * h * w)
    power = s.abs().pow(2).mean(dim=1, keepdim=True).clamp_min(1e-12)
    return s / power.sqrt()


def from_symbols(s: torch.Tensor, c: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`to_symbols` (without the power scaling): ``s`` complex
    ``(B, m·h·w)`` → real ``(B, c, h, w)`` with zeros for the complex channels not sent."""
    b = s.shape[0]
    m = s.shape[1] // (h * w)
    z = torch.zeros(b, c, h, w, dtype=s.real.dtype, device=s.device)
    sc = s.reshape(b, m, h, w)
    z[:, 0 : 2 * m : 2] = sc.real
    z[:, 1 : 2 * m : 2] = sc.imag
    return z
