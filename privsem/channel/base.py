"""Channel interface and the seeding shared by the Sionna-backed channels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class ChannelOutput:
    """What a channel returns.

    Attributes:
        y: complex64 ``(..., n)`` received samples.
        h: complex64 ``(..., n)`` the channel gain applied to each sample (ground truth,
           for tests and genie baselines; receivers estimate it from pilots).
        no: noise variance per complex sample (linear, same unit as ``|x|²``).
    """

    y: np.ndarray
    h: np.ndarray
    no: float


class Channel:
    """``Channel(seed)(x: complex64 (..., n), snr_db: float) -> ChannelOutput``.

    SNR is Es/N0 in dB for unit mean-power input: ``no = 10 ** (-snr_db / 10)``.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    def _generator(self) -> torch.Generator:
        # A fresh generator per call keeps the channel a pure function of its seed.
        return torch.Generator().manual_seed(self.seed)

    def __call__(self, x: np.ndarray, snr_db: float) -> ChannelOutput:  # pragma: no cover
        raise NotImplementedError


class SeededBlock:
    """Mixin for Sionna blocks: draw randomness from our generator, not Sionna's global one."""

    _privsem_generator: torch.Generator

    @property
    def torch_rng(self) -> torch.Generator:
        return self._privsem_generator
