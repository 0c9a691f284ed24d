"""Messages ↔ frames: split a long payload over several frames; reassemble, and say
exactly what a lost frame took with it.

A message is an image's payload: complex JSCC symbols (analog) or bytes (digital).
Each frame carries ``offset`` and ``n_units`` of it, so the receiver knows where every
frame belongs without the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .digital import mcs_params
from .header import MODE_DIGITAL, Header
from .modem import MAX_PAYLOAD_SYMBOLS, Frame, Modem, unbias
from .ofdm import N_DATA

MAX_MESSAGE_UNITS = 1 << 25  # 33 M symbols (256 MiB of complex64): far above a 4K image's JSCC payload


def units_per_frame(mode: int, mcs: int = 0, max_symbols: int = MAX_PAYLOAD_SYMBOLS) -> int:
    """Largest payload per frame: data values (analog) or whole-codeword bytes (digital)."""
    if mode == MODE_DIGITAL:
        b, k, n = mcs_params(mcs)
        codewords = max_symbols * N_DATA * b // n
        return codewords * k // 8
    return max_symbols * N_DATA


def split(template: Header, payload: np.ndarray | bytes, max_symbols: int = MAX_PAYLOAD_SYMBOLS
          ) -> list[tuple[Header, np.ndarray | bytes]]:
    """Cut a message into frames; every header copies ``template`` with its own seq,
    offset and length."""
    per = units_per_frame(template.mode, template.mcs, max_symbols)
    total = len(payload)
    n_frames = max(1, -(-total // per))
    out = []
    for i in range(n_frames):
        chunk = payload[i * per : (i + 1) * per]
        h = replace(template, seq=i, n_frames=n_frames, offset=i * per, n_units=len(chunk), total=total)
        out.append((h, chunk))
    return out


def transmit(modem: Modem, template: Header, payload, gap: int = 256,
             max_symbols: int = MAX_PAYLOAD_SYMBOLS) -> np.ndarray:
    """All frames of a message as one complex64 stream, ``gap`` zero samples apart."""
    parts = []
    for h, chunk in split(template, payload, max_symbols):
        parts += [modem.modulate(h, chunk), np.zeros(gap, np.complex64)]
    return np.concatenate(parts)


LOST_NO = 1e6  # noise variance of a value that never arrived: an erasure to an LMMSE or LDPC decoder


@dataclass
class Message:
    """A reassembled message.

    Attributes:
        header: the header of any received frame (seq/offset/n_units are that frame's).
        values: complex64 ``(total,)`` (analog, MMSE-equalized; zeros where lost) or the
            equalized QAM symbols per frame (digital, kept per frame in ``frames``).
        no: float32 ``(total,)``, each analog value's noise variance after zero-forcing
            (:data:`LOST_NO` where lost); see :meth:`zero_forced`.
        received: bool ``(total,)``, which units arrived.
        frames: received frames by seq.
        lost: seqs of frames that never arrived intact.
        lost_units: ``[(offset, n_units), ...]`` the lost frames covered.
    """

    header: Header
    values: np.ndarray
    received: np.ndarray
    frames: dict[int, Frame] = field(default_factory=dict)
    lost: list[int] = field(default_factory=list)
    lost_units: list[tuple[int, int]] = field(default_factory=list)
    no: np.ndarray | None = None

    @property
    def complete(self) -> bool:
        return not self.lost

    def zero_forced(self) -> tuple[np.ndarray, np.ndarray]:
        """(complex64 ``(total,)`` zero-forced analog values, float32 ``(total,)`` their
        noise variances): what a code that weighs each symbol by its own noise wants
        (softcast's LMMSE, an LDPC demapper). Lost values are 0 with variance
        :data:`LOST_NO`, so such a decoder treats them as erasures."""
        return unbias(self.values, self.no), self.no


def _message_fields(h: Header) -> Header:
    """What every frame of one message has in common (all but seq, offset, n_units)."""
    return replace(h, seq=0, offset=0, n_units=0)


class Reassembler:
    """Collect frames (any order, duplicates ignored) into messages keyed by msg_id.
    Frames with a failed header CRC, a cut-off payload or a damaged payload are not
    kept, so a message lists them as lost."""

    def __init__(self) -> None:
        self.frames: dict[int, dict[int, Frame]] = {}
        self.crc_failures = 0
        self.damaged = 0  # frames whose header was fine but whose payload was not (Frame.damaged)

    def add(self, frame: Frame) -> None:
        if not frame.crc_ok or frame.header is None:
            self.crc_failures += 1
            return
        if not frame.complete:
            return
        if frame.damaged:
            self.damaged += 1
            return
        h = frame.header
        per = units_per_frame(h.mode, h.mcs)
        if (h.seq >= h.n_frames or h.offset + h.n_units > h.total or h.n_units > per
                or h.total > min(h.n_frames * per, MAX_MESSAGE_UNITS)):
            return  # a header split() never makes: it has no place in a message (and must not size memory)
        got = self.frames.setdefault(h.msg_id, {})
        if got and _message_fields(next(iter(got.values())).header) != _message_fields(h):
            return  # another message under the same msg_id: keep the first one's frames
        got.setdefault(h.seq, frame)

    def message(self, msg_id: int) -> Message | None:
        """The message so far (None if no frame of it arrived)."""
        got = self.frames.get(msg_id)
        if not got:
            return None
        any_h = next(iter(got.values())).header
        total = any_h.total
        per = units_per_frame(any_h.mode, any_h.mcs)
        values = np.zeros(total if any_h.mode != MODE_DIGITAL else 0, np.complex64)
        no = np.full(values.size, LOST_NO, np.float32)
        received = np.zeros(total, bool)
        for f in got.values():
            h = f.header
            if h.mode != MODE_DIGITAL:
                values[h.offset : h.offset + h.n_units] = f.symbols
                no[h.offset : h.offset + h.n_units] = f.no
            received[h.offset : h.offset + h.n_units] = True
        lost = [s for s in range(any_h.n_frames) if s not in got]
        lost_units = [(s * per, min(per, total - s * per)) for s in lost]
        return Message(header=any_h, values=values, received=received, frames=dict(sorted(got.items())),
                       lost=lost, lost_units=lost_units, no=no)

    def msg_ids(self) -> list[int]:
        return sorted(self.frames)

    def forget(self, msg_id: int) -> None:
        """Drop a message's frames (a later message may reuse the id)."""
        self.frames.pop(msg_id, None)
