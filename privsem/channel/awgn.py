"""Additive white Gaussian noise (Sionna PHY's ``AWGN`` block, seeded)."""

from __future__ import annotations

import numpy as np
import torch
from sionna.phy.channel import AWGN

from .base import Channel, ChannelOutput, SeededBlock


def snr_db_to_no(snr_db: float) -> float:
    """Es/N0 in dB → noise variance N0 for unit-energy symbols."""
    return float(10.0 ** (-float(snr_db) / 10.0))


class _SeededAWGN(SeededBlock, AWGN):
    pass


def add_awgn(x: torch.Tensor, no: float, generator: torch.Generator) -> torch.Tensor:
    """``x + n``, ``n ~ CN(0, no)``; ``x`` complex64 tensor of any shape."""
    block = _SeededAWGN(precision="single", device="cpu")
    block._privsem_generator = generator
    return block(x, no)


class AWGNChannel(Channel):
    """``y = x + n`` with ``n ~ CN(0, N0)``, ``N0 = 10^(−SNR/10)``.

    Input: complex64 ``(..., n)`` with unit mean power. Output: :class:`ChannelOutput`
    with ``h = 1``.
    """

    def __call__(self, x: np.ndarray, snr_db: float) -> ChannelOutput:
        no = snr_db_to_no(snr_db)
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.complex64))
        y = add_awgn(xt, no, self._generator()).numpy()
        return ChannelOutput(y=y.astype(np.complex64), h=np.ones_like(x, dtype=np.complex64), no=no)
