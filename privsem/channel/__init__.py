"""Software channels: ``Channel(seed).__call__(x, snr_db) -> ChannelOutput``.

A channel is a pure function of its seed: the same seed, input and SNR give the same
output. New channels are one file plus one line in :data:`CHANNELS`.
"""

from __future__ import annotations

from ..errors import PrivsemError
from .awgn import AWGNChannel, snr_db_to_no
from .base import Channel, ChannelOutput
from .impairments import CFO, ClockOffset, Delay, Fading, Gain, Multipath, RadioChannel
from .rayleigh import RayleighBlockChannel

CHANNELS: dict[str, type[Channel]] = {
    "awgn": AWGNChannel,
    "rayleigh": RayleighBlockChannel,
}


def build_channel(name: str, seed: int = 0, **kwargs) -> Channel:
    """Instantiate a channel by registry name (``awgn`` | ``rayleigh``)."""
    try:
        cls = CHANNELS[name]
    except KeyError:
        raise PrivsemError(f"unknown channel {name!r} (known: {', '.join(CHANNELS)})") from None
    return cls(seed=seed, **kwargs)


__all__ = ["CFO", "CHANNELS", "build_link_channel", "AWGNChannel", "ClockOffset", "Delay", "Fading", "Gain", "Multipath",
           "RadioChannel", "Channel", "ChannelOutput", "RayleighBlockChannel",
           "build_channel", "snr_db_to_no"]


def build_link_channel(name: str, seed: int = 0, impairments: bool = False, multipath: bool = True) -> RadioChannel:
    """A sample-stream channel for the radio PHY.

    ``awgn``: unknown start (random delay) and AWGN. ``rayleigh``: plus flat Rayleigh
    fading varying slowly in time (normalised Doppler 5·10⁻⁶, i.e. 10 Hz at 2 Msps).
    ``impairments=True`` adds what real radios do: CFO uniform in ±2 % of fs, clock
    offset in ±50 ppm, 3-tap multipath (``multipath=False``: all but it, with the same
    draws) and an unknown gain.
    """
    if name not in CHANNELS:
        raise PrivsemError(f"unknown channel {name!r} (known: {', '.join(CHANNELS)})")
    import numpy as np

    rng = np.random.default_rng([seed, 7])
    stages: list = []
    if impairments:
        stages += [Multipath(n_taps=3)] if multipath else []
        stages += [CFO(float(rng.uniform(-0.02, 0.02))), ClockOffset(float(rng.uniform(-50, 50))), Gain()]
    if name == "rayleigh":
        stages.insert(0, Fading(doppler=5e-6))
    stages.append(Delay())
    return RadioChannel(seed, stages)
