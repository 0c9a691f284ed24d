"""Fault injection on a transmitted sample stream, with the ground truth of which frames
each fault destroys: for tests and bench runs of the receiver's recovery.

A fault acts on the clean stream at sample ``at`` (indices of the clean stream):

- ``drop``: ``length`` samples never arrive (a lost USB / ZMQ buffer);
- ``duplicate``: ``length`` samples arrive twice (a re-sent buffer);
- ``noise``: ``length`` samples get complex Gaussian noise ``power_db`` above the
  stream's mean power (interference, a burst from another radio).

:func:`frame_spans` gives each frame's ``[start, end)`` in the clean stream as
:func:`~privsem.phy.framing.transmit` lays them out, and :func:`frames_hit` which frames
a set of faults touches. A frame is *hit* when a fault overlaps it; the receiver must
report every hit frame as lost (its header fails its CRC or its pilots mark it damaged)
and deliver every other frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PrivsemError

KINDS = ("drop", "duplicate", "noise")


@dataclass(frozen=True)
class Fault:
    """One fault: ``kind`` in :data:`KINDS`, at clean-stream sample ``at``, ``length``
    samples; ``power_db`` for noise, relative to the stream's mean power (dB)."""

    kind: str
    at: int
    length: int
    power_db: float = 10.0

    def span(self) -> tuple[int, int]:
        """Clean-stream samples ``[start, end)`` the fault acts on."""
        return self.at, self.at + self.length

    def hits(self, start: int, end: int) -> bool:
        """Does it destroy the frame at ``[start, end)``? Dropped or noisy samples do
        where they overlap it; a repeated block only where the repeat is spliced in
        inside the frame (a frame wholly inside the block arrives intact, twice)."""
        if self.kind == "duplicate":
            return start < self.at + self.length < end
        return self.at < end and self.at + self.length > start


def inject(stream: np.ndarray, faults: list[Fault], seed: int = 0) -> np.ndarray:
    """The stream as received with ``faults`` (they must not overlap). complex64 in,
    complex64 out (longer or shorter by the duplicated / dropped samples)."""
    x = np.asarray(stream, np.complex64)
    faults = sorted(faults, key=lambda f: f.at)
    for f in faults:
        if f.kind not in KINDS:
            raise PrivsemError(f"unknown fault {f.kind!r} (known: {', '.join(KINDS)})")
        if f.length < 1 or f.at < 0 or f.at + f.length > x.size:
            raise PrivsemError(f"fault {f.kind} at {f.at} (+{f.length}) is outside the {x.size}-sample stream")
    for a, b in zip(faults, faults[1:]):
        if a.at + a.length > b.at:
            raise PrivsemError(f"faults at {a.at} and {b.at} overlap")
    rng = np.random.default_rng(seed)
    power = float(np.mean(np.abs(x[np.abs(x) > 0]) ** 2)) if np.any(x) else 1.0
    parts, pos = [], 0
    for f in faults:
        parts.append(x[pos : f.at])
        seg = x[f.at : f.at + f.length]
        if f.kind == "duplicate":
            parts += [seg, seg]
        elif f.kind == "noise":
            sigma = np.sqrt(power * 10 ** (f.power_db / 10) / 2)
            noise = sigma * (rng.standard_normal(f.length) + 1j * rng.standard_normal(f.length))
            parts.append((seg + noise).astype(np.complex64))
        pos = f.at + f.length
    parts.append(x[pos:])
    return np.concatenate(parts).astype(np.complex64)


def frame_spans(modem, template, payload, gap: int = 256, max_symbols: int | None = None
                ) -> list[tuple[int, int, int]]:
    """``[(seq, start, end), ...]``: where each frame of ``transmit(modem, template,
    payload, gap, max_symbols)`` lies in its stream."""
    from ..phy.framing import split
    from ..phy.modem import MAX_PAYLOAD_SYMBOLS

    out, pos = [], 0
    for h, chunk in split(template, payload, max_symbols or MAX_PAYLOAD_SYMBOLS):
        n = modem.modulate(h, chunk).size
        out.append((h.seq, pos, pos + n))
        pos += n + gap
    return out


def frames_hit(spans: list[tuple[int, int, int]], faults: list[Fault]) -> set[int]:
    """Seqs of the frames that any fault overlaps."""
    return {seq for seq, start, end in spans if any(f.hits(start, end) for f in faults)}
