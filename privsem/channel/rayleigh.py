"""Rayleigh block fading with AWGN (Sionna PHY's ``RayleighBlockFading``, seeded).

The gain ``h ~ CN(0, 1)`` is constant over blocks of ``coherence`` consecutive
samples and independent between blocks.
"""

from __future__ import annotations

import numpy as np
import torch
from sionna.phy.channel import RayleighBlockFading

from .awgn import add_awgn, snr_db_to_no
from .base import Channel, ChannelOutput, SeededBlock


class _SeededRayleigh(SeededBlock, RayleighBlockFading):
    pass


class RayleighBlockChannel(Channel):
    """``y = h ⊙ x + n``, ``h`` constant per block of ``coherence`` samples.

    Args:
        seed: randomness of both the fading and the noise.
        coherence: block length in samples (default 256, the skeleton PHY's block).

    Input complex64 ``(..., n)``; the average SNR is Es/N0 in dB (``E|h|² = 1``).
    """

    def __init__(self, seed: int = 0, coherence: int = 256) -> None:
        super().__init__(seed)
        self.coherence = int(coherence)

    def __call__(self, x: np.ndarray, snr_db: float) -> ChannelOutput:
        x = np.ascontiguousarray(x, dtype=np.complex64)
        n = x.shape[-1]
        n_blocks = -(-n // self.coherence)
        gen = self._generator()
        # One single-antenna link per (batch, block); Sionna draws h of shape
        # [batch, rx, rx_ant, tx, tx_ant, paths, time].
        batch = int(np.prod(x.shape[:-1], dtype=np.int64))
        fading = _SeededRayleigh(num_rx=1, num_rx_ant=1, num_tx=1, num_tx_ant=1,
                                 precision="single", device="cpu")
        fading._privsem_generator = gen
        h_blocks, _ = fading(batch * n_blocks, 1)
        h_blocks = h_blocks.reshape(batch, n_blocks)
        h = torch.repeat_interleave(h_blocks, self.coherence, dim=-1)[:, :n]
        h = h.reshape(x.shape).to(torch.complex64)
        no = snr_db_to_no(snr_db)
        y = add_awgn(h * torch.from_numpy(x), no, gen)
        return ChannelOutput(y=y.numpy().astype(np.complex64), h=h.numpy(), no=no)
