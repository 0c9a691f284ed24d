"""The real GNU Radio ``sim_channel`` flowgraph (Bob and Eve branches), as a subprocess,
over ZMQ: sample count kept, Bob's branch is exactly gain · x · CFO rotation delayed,
and Eve's noise power matches her SNR."""

import time

import numpy as np
import zmq

from privsem.transport import ZmqPush, free_tcp_endpoint
from privsem.transport.gnuradio import Flowgraph

FS = 2e6
N = 240_000          # known samples sent
TAIL = 1_000         # zeros sent after them so the delayed samples come out
BOB = dict(snr_db=40.0, cfo_hz=31_250.0, delay=57, gain=0.7, taps="1")
EVE = dict(snr_db=10.0, cfo_hz=-18_500.0, delay=413, gain=1.6, taps="0.9,0.3j,-0.2")


def _drain(addrs: dict[str, str], counts: dict[str, int], check, timeout_s: float = 60.0,
           settle_s: float = 0.5) -> dict[str, np.ndarray]:
    """Read every output concurrently (a flowgraph stalls if one output is not read)
    until each has ``counts[k]`` samples, then keep listening ``settle_s`` to catch any
    extra sample. Returns everything received."""
    ctx = zmq.Context.instance()
    socks = {}
    for k, a in addrs.items():
        s = ctx.socket(zmq.PULL)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(a)
        socks[k] = s
    poller = zmq.Poller()
    for s in socks.values():
        poller.register(s, zmq.POLLIN)
    got = {k: [] for k in addrs}
    have = dict.fromkeys(addrs, 0)
    deadline = time.monotonic() + timeout_s
    settle_until = None
    try:
        while True:
            now = time.monotonic()
            if settle_until is None and all(have[k] >= counts[k] for k in addrs):
                settle_until = now + settle_s
            if settle_until is not None and now >= settle_until:
                break
            assert now < deadline, f"timed out: received {have} of {counts}"
            check()
            events = dict(poller.poll(50))
            for k, s in socks.items():
                if s in events:
                    msg = s.recv(copy=False)
                    assert len(msg) % 8 == 0
                    got[k].append(np.frombuffer(msg, dtype="<c8"))
                    have[k] += len(msg) // 8
    finally:
        for s in socks.values():
            s.close(linger=0)
    return {k: np.concatenate(v) if v else np.zeros(0, np.complex64) for k, v in got.items()}


def _expected(x: np.ndarray, p: dict, total: int) -> np.ndarray:
    """Noise-free model of a branch: delay, FIR taps, gain, CFO rotation of output index."""
    taps = np.array([complex(t) for t in p["taps"].split(",")])
    d = np.zeros(total, complex)
    n = min(x.size, total - p["delay"])
    d[p["delay"]: p["delay"] + n] = x[:n]
    s = np.convolve(d, taps)[:total]
    m = np.arange(total)
    return p["gain"] * s * np.exp(2j * np.pi * p["cfo_hz"] * m / FS)


def test_sim_channel_bob_and_eve(gr_python):
    rng = np.random.default_rng(7)
    x = ((rng.standard_normal(N) + 1j * rng.standard_normal(N)) / np.sqrt(2)).astype(np.complex64)
    sent = np.concatenate([x, np.zeros(TAIL, np.complex64)])
    params = {"samp_rate": FS, "seed": 3}
    for role, p in (("bob", BOB), ("eve", EVE)):
        for k, v in p.items():
            params[f"{role}_{k}"] = v
    counts = {"bob": sent.size + BOB["delay"], "eve": sent.size + EVE["delay"]}

    with ZmqPush("tcp://127.0.0.1:*", bind=True, chunk=10_000) as tx:
        addrs = {"bob": free_tcp_endpoint(), "eve": free_tcp_endpoint()}
        with Flowgraph("sim_channel", tx_addr=tx.endpoint, bob_addr=addrs["bob"],
                       eve_addr=addrs["eve"], **params) as fg:
            import threading

            sender = threading.Thread(target=tx.send, args=(sent,), daemon=True)
            sender.start()
            out = _drain(addrs, counts, fg.check)
            sender.join(timeout=10)
            fg.check()

    # Sample count: exactly input + delay leading samples, nothing dropped, nothing extra.
    for role in ("bob", "eve"):
        assert out[role].size == counts[role], (role, out[role].size, counts[role])

    # Bob at 40 dB: the output is the model up to the noise (-40 dB re unit power).
    yb = out["bob"].astype(complex)
    eb = _expected(x, BOB, yb.size)
    nb = BOB["gain"] ** 2 * 10 ** (-BOB["snr_db"] / 10)
    err = np.mean(np.abs(yb - eb) ** 2)
    assert err < 1.3 * nb, f"Bob fit error {err:.3g} vs noise {nb:.3g}"
    # ... and the delay is exactly right: one sample off is a large error.
    off = np.mean(np.abs(yb[1:] - eb[:-1]) ** 2)
    assert off > 100 * nb
    # Leading samples carry noise only (delay inserts zeros, then noise is added).
    lead = np.mean(np.abs(yb[: BOB["delay"]]) ** 2)
    assert lead < 5 * nb

    # Eve at 10 dB with 3-tap multipath: residual after removing the known signal is
    # her noise; its power, relative to gain^2, gives her SNR within 0.5 dB.
    ye = out["eve"].astype(complex)
    ee = _expected(x, EVE, ye.size)
    ne = np.mean(np.abs(ye - ee) ** 2) / EVE["gain"] ** 2
    snr_meas = -10 * np.log10(ne)
    print(f"sim_channel: Bob fit error {10 * np.log10(err / BOB['gain'] ** 2):.2f} dB re unit power "
          f"(noise {-BOB['snr_db']:.0f} dB), Eve SNR measured {snr_meas:.3f} dB (set {EVE['snr_db']} dB)")
    assert abs(snr_meas - EVE["snr_db"]) < 0.5, f"Eve SNR measured {snr_meas:.2f} dB"
    # Bob's and Eve's noises are independent.
    wb = (yb - eb)[: min(yb.size, ye.size)] / BOB["gain"]
    we = (ye - ee)[: wb.size] / EVE["gain"]
    rho = abs(np.vdot(wb, we)) / np.sqrt(np.vdot(wb, wb).real * np.vdot(we, we).real)
    assert rho < 0.02
