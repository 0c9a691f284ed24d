"""``privsem bench phy``: modem throughput, detection at low SNR with radio impairments,
and a sustained stream through the GNU Radio ``sim_channel`` flowgraph.

Numbers are measured on the machine that runs the command (state it when you quote
them); nothing here is asserted by a test.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..channel import CFO, ClockOffset, Delay, Gain, Multipath, RadioChannel
from ..phy import Header, Modem, transmit


def _symbols(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def modem_throughput(frames: int = 100, repeats: int = 3) -> dict:
    """Modulate and demodulate ``frames`` full analog frames (20 000 symbols each);
    best of ``repeats`` (Msps = million complex samples per second)."""
    modem = Modem()
    x = _symbols(frames * 20_000)
    transmit(modem, Header(), x[:20_000])  # warm-up (code construction)
    t_mod, t_dem = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        s = transmit(modem, Header(), x)
        t_mod.append(time.perf_counter() - t)
    y = RadioChannel(0, [Multipath(), CFO(0.01), ClockOffset(20), Delay(1000)])(s, 15.0).y
    modem.demodulate(y[: y.size // 10])
    for _ in range(repeats):
        t = time.perf_counter()
        got, _ = modem.demodulate(y)
        t_dem.append(time.perf_counter() - t)
    mod, dem = s.size / min(t_mod) / 1e6, y.size / min(t_dem) / 1e6
    return {"modulate_msps": round(mod, 2), "demodulate_msps": round(dem, 2),
            "modulate_plus_demodulate_msps": round(1 / (1 / mod + 1 / dem), 2),
            "throughput_frames": frames, "throughput_frames_decoded": sum(f.crc_ok for f in got)}


def detection_rate(snr_db: float = 5.0, frames: int = 300, impairments: bool = True) -> dict:
    """Fraction of frames detected with a correct header at ``snr_db`` under ±2 % CFO,
    ±50 ppm clock offset, 3-tap Rayleigh multipath, random delay and gain (or, with
    ``impairments=False``, AWGN and a random delay only)."""
    modem, x = Modem(), _symbols(2000)
    ok = 0
    for seed in range(frames):
        r = np.random.default_rng(1000 + seed)
        stages = [Delay()]
        if impairments:
            stages = [Multipath(n_taps=3), CFO(r.uniform(-0.02, 0.02)), ClockOffset(r.uniform(-50, 50)),
                      Delay(), Gain()]
        tx = modem.modulate(Header(seq=seed, n_units=x.size, total=x.size), x)
        y = RadioChannel(seed, stages)(np.concatenate([tx, np.zeros(1000, np.complex64)]), snr_db).y
        ok += any(f.crc_ok and f.header.seq == seed for f in modem.demodulate(y)[0])
    key = f"frames_decoded_{snr_db:g}db" + ("" if impairments else "_awgn")
    return {key: round(ok / frames, 4)}


def gr_ofdm_peer(snrs=(5.0, 10.0, 15.0, 20.0), packets: int = 1000, packet_len: int = 96) -> dict:
    """GNU Radio's own packet OFDM (gr-digital ofdm_tx/ofdm_rx, 64-point FFT, BPSK
    header, QPSK payload, CRC-32) on the same software channel (AWGN, random delay):
    packets decoded and ofdm_rx throughput. Its flowgraphs run under GNU Radio's Python
    from ``flowgraphs/gr_ofdm_peer_{tx,rx}``."""
    import subprocess
    import tempfile
    from pathlib import Path

    from ..transport.gnuradio import find_gnuradio_python, flowgraph_path

    py = find_gnuradio_python()
    if py is None:
        return {"peer_note": "GNU Radio not found"}
    out: dict = {"peer": "gr-digital ofdm_tx/ofdm_rx (fft 64, cp 16, BPSK header, QPSK payload)",
                 "peer_packets": packets, "peer_packet_bytes": packet_len}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        data = np.random.default_rng(0).integers(0, 256, packets * packet_len, dtype=np.uint8)
        data.tofile(d / "in.bin")
        subprocess.run([py, str(flowgraph_path("gr_ofdm_peer_tx")), "--in-file", str(d / "in.bin"),
                        "--out-file", str(d / "tx.cf32"), "--packet-len", str(packet_len)],
                       check=True, capture_output=True, timeout=300)
        tx = np.fromfile(d / "tx.cf32", np.complex64)
        tx /= np.sqrt(np.mean(np.abs(tx) ** 2))  # unit power, as our SNR convention assumes
        sent = {data[i * packet_len : (i + 1) * packet_len].tobytes() for i in range(packets)}

        def run_rx(samples: np.ndarray) -> tuple[float, bytes]:
            samples.astype(np.complex64).tofile(d / "rx.cf32")
            t = time.perf_counter()
            subprocess.run([py, str(flowgraph_path("gr_ofdm_peer_rx")), "--in-file", str(d / "rx.cf32"),
                            "--out-file", str(d / "out.bin")], check=True, capture_output=True, timeout=600)
            return time.perf_counter() - t, (d / "out.bin").read_bytes()

        startup, _ = run_rx(np.zeros(1000, np.complex64))
        for snr in snrs:
            y = RadioChannel(int(snr), [Delay()])(tx, snr).y
            dt, got = run_rx(y)
            ok = sum(got[i : i + packet_len] in sent for i in range(0, len(got) - packet_len + 1, packet_len))
            out[f"peer_packets_decoded_{snr:g}db"] = round(ok / packets, 4)
            out[f"peer_demodulate_msps_{snr:g}db"] = round(y.size / max(dt - startup, 1e-3) / 1e6, 2)
    return out


def gnuradio_sustained(samples: int = 20_000_000, timeout_s: float = 120.0) -> dict:
    """Push ``samples`` through ``sim_channel`` (both branches, 20 dB) and read both
    outputs back; rate and samples lost (sent + delay − received, per branch)."""
    from ..errors import PrivsemError
    from ..transport import ZmqPull, ZmqPush, free_tcp_endpoint
    from ..transport.gnuradio import Flowgraph, find_gnuradio_python
    from ..transport.zmq import exchange

    if find_gnuradio_python() is None:
        return {"gnuradio_sustained_msps": None, "gnuradio_samples_lost": None,
                "gnuradio_note": "GNU Radio not found"}
    x = _symbols(1 << 20)
    stream = np.tile(x, -(-samples // x.size))[:samples]
    flush = np.zeros(1 << 15, np.complex64)
    with ZmqPush("tcp://127.0.0.1:*", bind=True, timeout_s=timeout_s) as tx:
        addrs = {"bob": free_tcp_endpoint(), "eve": free_tcp_endpoint()}
        params = dict(tx_addr=tx.endpoint, bob_addr=addrs["bob"], eve_addr=addrs["eve"], bob_snr_db=20,
                      eve_snr_db=20, bob_delay=0, eve_delay=0)
        with Flowgraph("sim_channel", **params) as fg, ZmqPull(addrs["bob"]) as b, ZmqPull(addrs["eve"]) as e:
            t = time.perf_counter()
            try:
                got = exchange(tx, np.concatenate([stream, flush]), {"bob": b, "eve": e},
                               {"bob": samples, "eve": samples}, timeout_s, check=fg.check)
                lost = sum(samples - v.size for v in got.values())
            except PrivsemError as err:
                return {"gnuradio_sustained_msps": None, "gnuradio_samples_lost": None,
                        "gnuradio_note": str(err)}
            dt = time.perf_counter() - t
    return {"gnuradio_sustained_msps": round(samples / dt / 1e6, 2), "gnuradio_samples_lost": int(lost),
            "gnuradio_samples": samples, "gnuradio_branches": 2}


def run(frames: int = 100, detection_frames: int = 300, gnuradio_samples: int = 20_000_000) -> dict:
    """All PHY figures, with the machine they were measured on."""
    out = {"machine": {"cpus": os.cpu_count(), "note": "Msps = 10^6 complex64 samples/s, one process"}}
    out |= modem_throughput(frames)
    out |= detection_rate(5.0, detection_frames) | {"detection_frames_impaired": detection_frames,
                                                    "detection_frames_awgn": detection_frames // 3}
    for snr in (5.0, 10.0, 15.0, 20.0):
        out |= detection_rate(snr, detection_frames // 3, impairments=False)
    out |= gnuradio_sustained(gnuradio_samples)
    out |= gr_ofdm_peer()
    return out
