"""One transmission to both receivers: ``{"bob": y_b, "eve": y_e}`` complex64 sample
streams, through a seeded software channel, the GNU Radio ``sim_channel`` flowgraph, or
real radios (a TX radio and one RX radio per receiver, started as flowgraphs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..errors import PrivsemError

SAMPLE_RATE = 2e6  # nominal, for reporting CFO in Hz and for the GNU Radio channel
TAIL = 4096  # zeros after the transmission (flushes delays and the stream receiver)
FLUSH = 1 << 15  # zeros sent to GNU Radio beyond what is read back
TRANSPORTS = ("software", "gnuradio", "radio")


def through_software(samples: np.ndarray, channel: str, snr_db: float, eve_snr_db: float, seed: int,
                     impairments: bool = False) -> dict[str, np.ndarray]:
    """Bob's and Eve's branches as independent seeded :func:`~privsem.channel.build_link_channel`."""
    from ..channel import build_link_channel

    x = np.concatenate([samples, np.zeros(TAIL, np.complex64)])
    return {"bob": build_link_channel(channel, seed, impairments)(x, snr_db).y,
            "eve": build_link_channel(channel, seed + 1, impairments)(x, eve_snr_db).y}


def through_gnuradio(samples: np.ndarray, channel: str, snr_db: float, eve_snr_db: float, seed: int,
                     impairments: bool = False, timeout_s: float = 60.0) -> dict[str, np.ndarray]:
    """The same through ``flowgraphs/sim_channel`` (two receive branches) over ZMQ."""
    with sim_channel(channel, snr_db, eve_snr_db, seed, impairments) as ch:
        return ch.send(samples, timeout_s)


class SimChannel:
    """A running ``sim_channel`` flowgraph (see :func:`sim_channel`); ``send`` one transmission."""

    def __init__(self, flowgraph, tx, pulls: dict, delays: dict[str, int]) -> None:
        self.flowgraph, self._tx, self._pulls, self._delays = flowgraph, tx, pulls, delays

    def send(self, samples: np.ndarray, timeout_s: float = 60.0) -> dict[str, np.ndarray]:
        """complex64 ``(n,)`` in; ``{"bob": y_b, "eve": y_e}`` out, each ``n + TAIL + delay``."""
        from .zmq import exchange

        x = np.concatenate([samples, np.zeros(TAIL, np.complex64)])
        counts = {r: x.size + d for r, d in self._delays.items()}
        # Extra zeros push the last samples out of the flowgraph's filter histories and
        # buffers; only the expected count is kept.
        flush = np.zeros(FLUSH, np.complex64)
        return exchange(self._tx, np.concatenate([x, flush]), self._pulls, counts, timeout_s,
                        check=self.flowgraph.check)


@contextmanager
def sim_channel(channel: str, snr_db: float, eve_snr_db: float, seed: int, impairments: bool = False,
                constellation: dict[str, str] | None = None) -> Iterator[SimChannel]:
    """Start ``flowgraphs/sim_channel`` with this run's seeded draws (delays, block fade,
    impairments), or its GUI variant ``sim_channel_gui`` when ``constellation`` maps
    ``"bob"`` / ``"eve"`` to the ZMQ PUB endpoints its constellation sinks read."""
    from ..channel import Multipath
    from . import ZmqPull, ZmqPush, free_tcp_endpoint
    from .gnuradio import Flowgraph

    rng = np.random.default_rng(seed)
    params = {"samp_rate": SAMPLE_RATE, "seed": seed}
    for role, snr in (("bob", snr_db), ("eve", eve_snr_db)):
        if channel == "rayleigh":
            # Block fading, one Rayleigh amplitude per run and branch. The flowgraph adds
            # noise before its gain stage, so the fade is applied as a change of SNR.
            fade = np.abs(rng.standard_normal() + 1j * rng.standard_normal()) / np.sqrt(2)
            snr = snr + 20 * np.log10(max(fade, 1e-6))
        params |= {f"{role}_snr_db": float(snr), f"{role}_delay": int(rng.integers(0, 4000))}
        if impairments:
            taps = Multipath(n_taps=3).draw(rng)
            params |= {f"{role}_cfo_hz": float(rng.uniform(-0.02, 0.02) * SAMPLE_RATE),
                       f"{role}_gain": float(10 ** rng.uniform(-1, 1)),
                       f"{role}_taps": ",".join(repr(complex(t)) for t in taps)}
    name = "sim_channel"
    if constellation is not None:
        from ..view.gui import gui_flowgraph

        name = gui_flowgraph(name)
        params |= {f"{role}_const_addr": ep for role, ep in constellation.items()}
    with ZmqPush("tcp://127.0.0.1:*", bind=True) as tx:
        addrs = {"bob": free_tcp_endpoint(), "eve": free_tcp_endpoint()}
        with Flowgraph(name, tx_addr=tx.endpoint, bob_addr=addrs["bob"], eve_addr=addrs["eve"], **params) as fg:
            with ZmqPull(addrs["bob"]) as bob, ZmqPull(addrs["eve"]) as eve:
                yield SimChannel(fg, tx, {"bob": bob, "eve": eve},
                                 {r: params[f"{r}_delay"] for r in ("bob", "eve")})


def through_radios(samples: np.ndarray, tx_radio: str, rx_radios: dict[str, str], freq: float,
                   sample_rate: float, tx_gain: float | None = None, rx_gain: float | None = None,
                   margin_s: float = 1.0, timeout_s: float = 60.0) -> dict[str, np.ndarray]:
    """Over the air: the receivers' radio flowgraphs start first and stream everything
    they hear; the TX flowgraph then sends ``samples`` once. Each receiver's stream is
    kept from its first sample until ``margin_s`` after the burst's airtime.

    Args:
        tx_radio, rx_radios: radio profiles (``sdr/*.yaml`` names or paths);
            ``rx_radios`` maps ``"bob"`` / ``"eve"`` to a profile.
        freq: centre frequency (Hz); sample_rate: S/s for every radio.
    """
    from ..radio import load_profile
    from . import ZmqPull, ZmqPush, free_tcp_endpoint
    from .gnuradio import Flowgraph
    from .zmq import Drain

    tx_prof = load_profile(tx_radio)
    rx_prof = {r: load_profile(p) for r, p in rx_radios.items()}
    addrs = {r: free_tcp_endpoint() for r in rx_prof}
    rx_params = {r: p.flowgraph_params("rx", freq, sample_rate, rx_gain, zmq_addr=addrs[r])
                 for r, p in rx_prof.items()}
    x = np.concatenate([np.zeros(TAIL, np.complex64), samples, np.zeros(TAIL, np.complex64)])
    airtime = x.size / sample_rate
    flowgraphs = [Flowgraph(rx_prof[r].flowgraph_name("rx"), **rx_params[r]) for r in rx_prof]
    try:
        pulls = {r: ZmqPull(addrs[r]) for r in rx_prof}
        drains = {r: Drain(pulls[r]) for r in rx_prof}
        deadline = time.monotonic() + timeout_s
        while not all(d.count for d in drains.values()):  # every receiver streams before anything is sent
            for fg in flowgraphs:
                fg.check()
            if time.monotonic() > deadline:
                raise PrivsemError(f"no samples from the receive radios within {timeout_s:g} s "
                                   f"({', '.join(r for r, d in drains.items() if not d.count)} silent)")
            time.sleep(0.05)
        with ZmqPush("tcp://127.0.0.1:*", bind=True) as tx:
            tx_params = tx_prof.flowgraph_params("tx", freq, sample_rate, tx_gain, zmq_addr=tx.endpoint)
            with Flowgraph(tx_prof.flowgraph_name("tx"), **tx_params) as tx_fg:
                tx.send(x)
                end = time.monotonic() + airtime + margin_s
                while time.monotonic() < end:
                    tx_fg.check()
                    time.sleep(0.05)
        for d in drains.values():
            d.close()
        for p in pulls.values():
            p.close()
    finally:
        for fg in flowgraphs:
            fg.stop()
    return {r: d.take() for r, d in drains.items()}
