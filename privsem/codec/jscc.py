"""A small DeepJSCC-style convolutional joint source-channel code, SNR-adaptive.

Encoder: 5×5 convolutions (two with stride 2) with PReLU, FiLM conditioning on the
channel SNR, and a final 5×5 conv to ``c_out`` real channels at ``H/4 × W/4``; pairs
of channels form complex symbols. Bandwidth ratio ``k/n = c_out / 96`` (``k`` complex
channel uses per ``n = 3·H·W`` source values), so ``c_out = 16`` gives 1/6.
The decoder mirrors it with transposed convolutions and ends in a sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

DOWNSCALE = 4  # total stride of the encoder


class FiLM(nn.Module):
    """Per-channel scale and shift computed from the SNR (dB): ``x·(1+γ) + β``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, 32), nn.PReLU(), nn.Linear(32, 2 * channels))

    def forward(self, x: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.mlp(snr_db.view(-1, 1) / 20.0).chunk(2, dim=1)
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

    def __init__(self, width: int = 48, c_out: int = 16) -> None:
        super().__init__()
        self.convs = nn.ModuleList([_conv(3, width, 2), _conv(width, width, 2),
                                    _conv(width, width), _conv(width, width)])
        self.acts = nn.ModuleList([nn.PReLU(width) for _ in self.convs])
        self.films = nn.ModuleList([FiLM(width) for _ in self.convs[2:]])
        self.out = _conv(width, c_out)

    def forward(self, img: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        x = img - 0.5
        for i, (conv, act) in enumerate(zip(self.convs, self.acts)):
            x = act(conv(x))
            if i >= 2:
                x = self.films[i - 2](x, snr_db)
        return self.out(x)


class JSCCDecoder(nn.Module):
    """``(z float32 (B, c_out, h, w), snr_db (B,)) -> img float32 (B,3,4h,4w) in [0,1]``."""

    def __init__(self, width: int = 48, c_out: int = 16) -> None:
        super().__init__()
        self.inp = _deconv(c_out, width)
        self.films = nn.ModuleList([FiLM(width), FiLM(width)])
        self.convs = nn.ModuleList([_deconv(width, width), _deconv(width, width),
                                    _deconv(width, width, 2)])
        self.acts = nn.ModuleList([nn.PReLU(width) for _ in range(4)])
        self.out = _deconv(width, 3, 2)

    def forward(self, z: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        x = self.films[0](self.acts[0](self.inp(z)), snr_db)
        for i, conv in enumerate(self.convs):
            x = self.acts[i + 1](conv(x))
            if i == 0:
                x = self.films[1](x, snr_db)
        return torch.sigmoid(self.out(x))


def to_symbols(z: torch.Tensor) -> torch.Tensor:
    """``(B, c, h, w)`` real → complex64 ``(B, c/2·h·w)`` with mean power 1 per image."""
    b, c = z.shape[:2]
    half = c // 2
    s = torch.complex(z[:, :half].reshape(b, -1), z[:, half:].reshape(b, -1))
    power = s.abs().pow(2).mean(dim=1, keepdim=True).clamp_min(1e-12)
    return s / power.sqrt()


def from_symbols(s: torch.Tensor, c: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`to_symbols` (without the power scaling): ``(B, c, h, w)`` real."""
    b = s.shape[0]
    return torch.cat([s.real.reshape(b, c // 2, h, w), s.imag.reshape(b, c // 2, h, w)], dim=1)
