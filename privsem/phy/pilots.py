"""Block-pilot modem: known pilots at the start of each block, LS estimate, MMSE equalizer.

A block is ``block_len`` samples: ``n_pilots`` unit-modulus QPSK pilots followed by
``block_len − n_pilots`` payload symbols. The channel is assumed constant within a
block (block fading) and timing is known (software loopback).
"""

from __future__ import annotations

import numpy as np


def pilot_sequence(n: int, seed: int = 0x5EED) -> np.ndarray:
    """Fixed QPSK pilots, complex64 ``(n,)``, ``|p| = 1``."""
    bits = np.random.default_rng(seed).integers(0, 4, n)
    return np.exp(1j * (np.pi / 4 + np.pi / 2 * bits)).astype(np.complex64)


class PilotBlockModem:
    """``modulate(symbols (n,)) -> samples``; ``demodulate(samples, n, no) -> symbols``.

    Args:
        block_len: samples per block (pilots + payload); match the channel coherence.
        n_pilots: pilots per block (LS estimate averages over them).
    """

    def __init__(self, block_len: int = 256, n_pilots: int = 16) -> None:
        if not 0 < n_pilots < block_len:
            raise ValueError("need 0 < n_pilots < block_len")
        self.block_len, self.n_pilots = block_len, n_pilots
        self.payload_len = block_len - n_pilots
        self.pilots = pilot_sequence(n_pilots)

    def n_samples(self, n_symbols: int) -> int:
        """Samples needed to carry ``n_symbols`` payload symbols."""
        return -(-n_symbols // self.payload_len) * self.block_len

    def modulate(self, symbols: np.ndarray) -> np.ndarray:
        """complex64 ``(n,)`` unit-power symbols → complex64 samples ``(n_samples(n),)``."""
        n = symbols.shape[-1]
        n_blocks = -(-n // self.payload_len)
        payload = np.zeros(n_blocks * self.payload_len, np.complex64)
        payload[:n] = symbols
        blocks = np.concatenate([np.broadcast_to(self.pilots, (n_blocks, self.n_pilots)),
                                 payload.reshape(n_blocks, self.payload_len)], axis=1)
        return blocks.reshape(-1).astype(np.complex64)

    def _estimate(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blocks ``(n_blocks, block_len)`` and the LS gain per block from its pilots."""
        blocks = samples.reshape(-1, self.block_len)
        return blocks, np.mean(blocks[:, : self.n_pilots] * np.conj(self.pilots), axis=1)

    def demodulate(self, samples: np.ndarray, n_symbols: int, no: float) -> tuple[np.ndarray, np.ndarray]:
        """Estimate ``h`` per block from its pilots and MMSE-equalize the payload.

        Args:
            samples: complex64 ``(n_samples,)`` received, block-aligned.
            n_symbols: payload symbols to return.
            no: noise variance (linear) per sample.

        Returns:
            ``(symbols complex64 (n_symbols,), h_hat complex64 (n_blocks,))``.
        """
        blocks, h_hat = self._estimate(samples)
        eq = np.conj(h_hat)[:, None] / (np.abs(h_hat)[:, None] ** 2 + no)
        payload = (blocks[:, self.n_pilots :] * eq).reshape(-1)[:n_symbols]
        return payload.astype(np.complex64), h_hat.astype(np.complex64)

    def demodulate_zf(self, samples: np.ndarray, n_symbols: int, no: float) -> tuple[np.ndarray, np.ndarray]:
        """Zero-forcing output for a digital demapper: ``(symbols complex64 (n_symbols,),
        noise variance float32 (n_symbols,) = no / |ĥ|²)`` per payload symbol."""
        blocks, h_hat = self._estimate(samples)
        h2 = np.maximum(np.abs(h_hat) ** 2, 1e-12)
        payload = (blocks[:, self.n_pilots :] / h_hat[:, None]).reshape(-1)[:n_symbols]
        no_eff = np.repeat(no / h2, self.payload_len)[:n_symbols]
        return payload.astype(np.complex64), no_eff.astype(np.float32)
