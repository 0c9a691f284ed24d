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


__all__ = ["CFO", "CHANNELS", "AWGNChannel", "ClockOffset", "Delay", "Fading", "Gain", "Multipath",
           "RadioChannel", "Channel", "ChannelOutput", "RayleighBlockChannel",
           "build_channel", "snr_db_to_no"]
