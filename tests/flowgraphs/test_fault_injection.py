"""Fault injection: dropped and repeated sample blocks and noise bursts in the stream,
the sim_channel flowgraph killed and restarted mid-stream, a receiver that starts late.
The receiver must recover by itself, list exactly the frames it lost, and deliver every
other frame with its own payload (no frame delivered with someone else's samples)."""

import time

import numpy as np
import pytest

from privsem.phy import Modem
from privsem.phy.framing import transmit
from privsem.phy.header import Header
from privsem.pipeline import StreamReceiver
from privsem.transport import ZmqPull, ZmqPush, free_tcp_endpoint
from privsem.transport.faults import Fault, frame_spans, frames_hit, inject
from privsem.transport.gnuradio import Flowgraph
from privsem.transport.links import SAMPLE_RATE, through_gnuradio, through_software

MAX_SYMBOLS = 30  # short frames: 3 000 symbols, ≈ 6 k samples each
N_FRAMES = 12
GAP = 256


@pytest.fixture(scope="module")
def message():
    """One analog message of N_FRAMES frames, its stream, and where each frame lies."""
    modem = Modem()
    per = MAX_SYMBOLS * 100
    rng = np.random.default_rng(4)
    payload = ((rng.standard_normal(per * N_FRAMES) + 1j * rng.standard_normal(per * N_FRAMES)) / np.sqrt(2)
               ).astype(np.complex64)
    template = Header(msg_id=77, height=64, width=64)
    stream = transmit(modem, template, payload, GAP, MAX_SYMBOLS)
    spans = frame_spans(modem, template, payload, GAP, MAX_SYMBOLS)
    assert spans[-1][2] + GAP == stream.size
    return payload, stream, spans


def _payload_start(spans, seq, into=0.5):
    """A sample inside frame ``seq``'s payload (past preamble and header)."""
    _, a, b = spans[seq]
    return int(a + 2500 + into * (b - a - 3000))


def _faults(spans):
    return [
        Fault("drop", _payload_start(spans, 1, 0.2), 1200),
        Fault("duplicate", _payload_start(spans, 4), 1500),
        Fault("noise", _payload_start(spans, 7), 800, power_db=10.0),
        # a whole frame (and its gap) repeated: it arrives twice, intact
        Fault("duplicate", spans[9][1] - 100, spans[9][2] - spans[9][1] + 200),
        Fault("noise", spans[10][1] + 50, 400, power_db=15.0),  # on the preamble: never found
    ]


def _check(rx: StreamReceiver, payload, expect_lost: set[int] | None, may_lose: set[int] = frozenset()):
    msg = rx.reassembler.message(77)
    assert msg is not None and msg.header.n_frames == N_FRAMES
    per = MAX_SYMBOLS * 100
    for seq, f in msg.frames.items():
        sent = payload[seq * per : (seq + 1) * per]
        nmse = np.mean(np.abs(f.symbols - sent) ** 2) / np.mean(np.abs(sent) ** 2)
        assert 10 * np.log10(nmse) < -12, f"frame {seq} delivered with wrong samples ({10 * np.log10(nmse):.1f} dB)"
    if expect_lost is not None:
        assert set(msg.lost) == expect_lost
    else:
        assert set(msg.lost) <= set(may_lose)
    assert len(msg.frames) + len(msg.lost) == N_FRAMES
    return msg


def test_fault_ground_truth(message):
    _, stream, spans = message
    faults = _faults(spans)
    assert frames_hit(spans, faults) == {1, 4, 7, 10}
    out = inject(stream, faults)
    assert out.size == stream.size - 1200 + 1500 + faults[3].length


def test_receiver_loses_exactly_the_hit_frames_software(message):
    payload, stream, spans = message
    faults = _faults(spans)
    y = through_software(inject(stream, faults, seed=1), "awgn", 20.0, 20.0, seed=3)["bob"]
    rx = StreamReceiver()
    for i in range(0, y.size, 5000):  # in chunks, as a stream arrives
        rx.feed(y[i : i + 5000])
    rx.finish()
    _check(rx, payload, frames_hit(spans, faults))
    assert rx.reassembler.damaged >= 3  # drop, splice and burst in a payload: header fine, pilots not


def test_receiver_loses_exactly_the_hit_frames_gnuradio(gr_python, message):
    payload, stream, spans = message
    faults = _faults(spans)
    ys = through_gnuradio(inject(stream, faults, seed=2), "awgn", 20.0, 20.0, seed=5)
    for role in ("bob", "eve"):
        rx = StreamReceiver()
        rx.feed(ys[role])
        rx.finish()
        _check(rx, payload, frames_hit(spans, faults))


def _drain(pulls: dict, rxs: dict, idle_s: float = 1.5, limit_s: float = 30.0) -> None:
    """Feed whatever arrives into the receivers until nothing came for ``idle_s``."""
    last = start = time.monotonic()
    while time.monotonic() - last < idle_s and time.monotonic() - start < limit_s:
        for role, p in pulls.items():
            chunk = p.recv_some(0.05)
            if chunk.size:
                rxs[role].feed(chunk)
                last = time.monotonic()


def test_flowgraph_killed_and_restarted_and_late_receiver(gr_python, message):
    payload, stream, spans = message
    cut = lambda a, b: stream[spans[a][1] : spans[b][2] + GAP]  # noqa: E731  frames a..b
    flush = np.zeros(1 << 15, np.complex64)
    addrs = {"bob": free_tcp_endpoint(), "eve": free_tcp_endpoint()}
    params = dict(samp_rate=SAMPLE_RATE, bob_addr=addrs["bob"], eve_addr=addrs["eve"], bob_snr_db=20.0,
                  eve_snr_db=20.0)
    rxs = {r: StreamReceiver() for r in addrs}
    with ZmqPush("tcp://127.0.0.1:*", bind=True, timeout_s=30) as push:
        fg = Flowgraph("sim_channel", tx_addr=push.endpoint, seed=1, **params)
        try:
            # Bob's receiver starts late: frames 0-3 are sent before it connects.
            with ZmqPull(addrs["eve"]) as eve_pull:
                push.send(cut(0, 3))
                time.sleep(1.0)
                with ZmqPull(addrs["bob"]) as bob_pull:
                    pulls = {"eve": eve_pull, "bob": bob_pull}
                    push.send(flush)
                    _drain(pulls, rxs)
                    # Frames 4-6 go in; the flowgraph dies with them in flight.
                    push.send(cut(4, 6))
                    time.sleep(0.05)
                    fg.proc.kill()
                    fg.stop()
                    # A new flowgraph on the same ports; the sockets reconnect by themselves.
                    fg = Flowgraph("sim_channel", tx_addr=push.endpoint, seed=2, **params)
                    push.send(cut(7, N_FRAMES - 1))
                    push.send(flush)
                    _drain(pulls, rxs)
                    fg.check()
        finally:
            fg.stop()
    for role, rx in rxs.items():
        rx.finish()
        msg = _check(rx, payload, None, may_lose={4, 5, 6})
        # everything sent before the kill and after the restart arrived
        assert set(range(4)) | set(range(7, N_FRAMES)) <= set(msg.frames), role
