"""Taps on a receiver: each frame it demodulates goes to the live view (SNR, CFO, CRC,
a few equalized symbols) and, with ``--gui``, its equalized symbols to the GUI
flowgraph's constellation sink."""

from __future__ import annotations

import numpy as np
import zmq

from .events import IQ_POINTS, ROLES

CHUNK = 1 << 16  # samples fed at a time, so frames show up as they are found


class ConstellationFeed:
    """One ZMQ PUB per role, bound on a free loopback port; a GUI flowgraph's
    ``zeromq_sub_source`` connects to ``endpoints[role]`` and plots what is sent: raw
    little-endian complex64 messages, no topic (what gr-zeromq's sub_source reads).
    A display only: nothing waits for a subscriber and late joiners miss earlier frames.
    """

    def __init__(self, roles: tuple[str, ...] = ROLES, host: str = "127.0.0.1") -> None:
        ctx = zmq.Context.instance()
        self._socks, self.endpoints = {}, {}
        for role in roles:
            s = ctx.socket(zmq.PUB)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SNDHWM, 64)
            s.bind(f"tcp://{host}:*")
            self._socks[role] = s
            self.endpoints[role] = s.getsockopt_string(zmq.LAST_ENDPOINT)

    def send(self, role: str, symbols: np.ndarray) -> None:
        """complex ``(n,)`` equalized symbols of one frame (dropped if nobody keeps up)."""
        if role in self._socks and symbols.size:
            try:
                self._socks[role].send(np.ascontiguousarray(symbols, "<c8").tobytes(), zmq.NOBLOCK)
            except zmq.Again:
                pass

    def close(self) -> None:
        for s in self._socks.values():
            s.close(linger=0)

    def __enter__(self) -> ConstellationFeed:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FrameTap:
    """Call it with the frames a :class:`~privsem.pipeline.StreamReceiver` returned.

    Args:
        pub: a :class:`~privsem.view.events.Publisher` (or the null one).
        role: ``"bob"`` or ``"eve"``.
        sample_rate: S/s, to report the CFO in Hz.
        constellation: a :class:`ConstellationFeed` for a GUI flowgraph, or None.
    """

    def __init__(self, pub, role: str, sample_rate: float, constellation: ConstellationFeed | None = None) -> None:
        self.pub, self.role, self.sample_rate, self.constellation = pub, role, sample_rate, constellation
        self.n = 0
        self._rng = np.random.default_rng(0)
        self._idle = getattr(pub, "run", None) is None and constellation is None  # nobody watches

    def __call__(self, frames: list, reassembler=None) -> None:
        if self._idle:
            return
        for f in frames:
            self.n += 1
            iq = f.symbols
            if iq.size > IQ_POINTS:
                iq = iq[np.sort(self._rng.choice(iq.size, IQ_POINTS, replace=False))]
            iq = np.round(np.stack([iq.real, iq.imag], axis=1).astype(float), 3)
            self.pub.send("frame", role=self.role,
                          msg_id=f.header.msg_id if f.header else None, seq=f.header.seq if f.header else None,
                          snr_db=round(float(f.snr_db), 2), cfo_hz=round(float(f.cfo) * self.sample_rate, 1),
                          crc_ok=bool(f.crc_ok), damaged=bool(f.damaged), iq=iq)
            if self.constellation is not None and not f.damaged:
                self.constellation.send(self.role, f.symbols)
        if frames and reassembler is not None:
            self.pub.send("link", role=self.role, frames_detected=self.n, crc_failures=reassembler.crc_failures,
                          damaged=reassembler.damaged)

    def summary(self, frames_sent: int, frames_received: int, frames_lost: int, crc_failures: int,
                damaged: int, snr_est_db: float | None) -> None:
        """The message's final link counts (after reassembly)."""
        self.pub.send("link", role=self.role, frames_detected=self.n, frames_sent=frames_sent,
                      frames_received=frames_received, frames_lost=frames_lost, crc_failures=crc_failures,
                      damaged=damaged, snr_est_db=snr_est_db)


def feed_live(rx, samples: np.ndarray, tap: FrameTap, chunk: int = CHUNK) -> None:
    """Feed a whole capture to ``rx`` chunk by chunk (as a stream would arrive), tapping
    each chunk's frames, then finish it."""
    for i in range(0, samples.size, chunk):
        tap(rx.feed(samples[i : i + chunk]), rx.reassembler)
    tap(rx.finish(), rx.reassembler)
