"""The QT GUI variants of the flowgraphs (``<name>_gui``): sim_channel_gui, usrp_rx_gui,
hackrf_rx_gui. Each is its headless flowgraph unchanged plus spectrum, waterfall and a
constellation sink fed by privsem over ZMQ PUB.

- ``--help`` lists the headless parameters plus the constellation address(es);
- the .grc keeps every block, parameter value and connection of the headless one;
- sim_channel_gui (Qt offscreen) gives the same samples as sim_channel for the same
  parameters and seed, while PUBs feed its constellation, and stops on SIGINT;
- the radio GUI variants, with the radio replaced by a tone source (gui_harness.py),
  stream the radio's samples to the ZMQ PUSH output;
- a screenshot of sim_channel_gui under Xvfb while a real OFDM stream goes through and
  privsem's equalized symbols are published (saved to $PRIVSEM_SCREENSHOT_DIR if set).
"""

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
import zmq
from test_sim_channel import BOB, EVE, FS, _drain, _expected  # same folder (pytest puts it on sys.path)

from privsem.transport import ZmqPush, free_tcp_endpoint
from privsem.transport.gnuradio import Flowgraph
from privsem.view.tap import ConstellationFeed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1] / "flowgraphs"
HARNESS = HERE / "gui_harness.py"

SIM = {"tx_addr", "bob_addr", "eve_addr", "samp_rate", "seed"} | {
    f"{r}_{k}" for r in ("bob", "eve") for k in ("snr_db", "cfo_hz", "delay", "gain", "taps")}
GUI = {  # name: (headless flowgraph, its parameters, parameters the GUI variant adds)
    "sim_channel_gui": ("sim_channel", SIM, {"bob_const_addr", "eve_const_addr"}),
    "usrp_rx_gui": ("usrp_rx", {"zmq_addr", "freq", "samp_rate", "gain", "dev_args", "antenna"}, {"const_addr"}),
    "hackrf_rx_gui": ("hackrf_rx", {"zmq_addr", "freq", "samp_rate", "gain", "vga_gain", "dev_args", "amp"},
                      {"const_addr"}),
}
CONST_TITLE = "Equalized constellation (from privsem)"


def _options(gr_python: str, name: str) -> set[str]:
    r = subprocess.run([gr_python, str(ROOT / f"{name}.py"), "--help"], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-2000:]
    return {m.replace("-", "_") for m in re.findall(r"--([a-z][a-z0-9-]*)", r.stdout)} - {"help"}


def _grc(name: str) -> dict:
    return yaml.safe_load((ROOT / f"{name}.grc").read_text())


def _free_env(monkeypatch, tmp_path, **env):
    """Qt settings (window geometry) go to tmp_path, not the user's ~/.config."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "runtime"))
    (tmp_path / "runtime").mkdir(mode=0o700, exist_ok=True)
    for k, v in env.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)


class Publisher:
    """privsem's side of the constellation feed (:class:`ConstellationFeed`: a bound ZMQ
    PUB per role, raw complex64 messages, no topic), sending every ``period_s`` until
    closed. ``frames[role]`` is a list of symbol arrays sent in turn; it can be replaced
    while running."""

    def __init__(self, roles, period_s: float = 0.05) -> None:
        self.feed = ConstellationFeed(tuple(roles))
        self.endpoints = self.feed.endpoints
        rng = np.random.default_rng(5)
        # Until real frames are set: QPSK points.
        pts = (np.sign(rng.standard_normal((2, 1024))) + 1j * np.sign(rng.standard_normal((2, 1024)))) / np.sqrt(2)
        self.frames = {role: [pts[i % 2].astype(np.complex64)] for i, role in enumerate(roles)}
        self.sent = dict.fromkeys(roles, 0)
        self._stop = threading.Event()
        self.period_s = period_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(self.period_s):
            for role, frames in self.frames.items():
                self.feed.send(role, frames[i % len(frames)])
                self.sent[role] += 1
            i += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.feed.close()


# ---- structure -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GUI))
def test_help_lists_parameters(gr_python, name):
    base, base_params, extra = GUI[name]
    assert _options(gr_python, base) == base_params
    assert _options(gr_python, name) == base_params | extra


@pytest.mark.parametrize("name", sorted(GUI))
def test_grc_is_headless_plus_qt_sinks(name):
    base_name, _, extra = GUI[name]
    gui, base = _grc(name), _grc(base_name)
    assert gui["options"]["parameters"]["generate_options"] == "qt_gui"
    assert base["options"]["parameters"]["generate_options"] == "no_gui"
    assert gui["options"]["parameters"]["title"].endswith(" — live")
    gb = {b["name"]: b for b in gui["blocks"]}
    # Every headless block is there with the same type and parameter values.
    for b in base["blocks"]:
        assert b["name"] in gb and gb[b["name"]]["id"] == b["id"], b["name"]
        assert gb[b["name"]]["parameters"] == b["parameters"], b["name"]
    added = {n: b for n, b in gb.items() if n not in {b["name"] for b in base["blocks"]}}
    conns = {tuple(c) for c in gui["connections"]}
    assert {tuple(c) for c in base["connections"]} <= conns
    kinds = sorted(b["id"] for b in added.values())
    n_const = len(extra)
    assert kinds.count("parameter") == n_const and kinds.count("zeromq_sub_source") == n_const
    assert kinds.count("qtgui_freq_sink_x") == 1 and kinds.count("qtgui_const_sink_x") == 1
    assert kinds.count("qtgui_waterfall_sink_x") >= 1
    assert {n for n, b in added.items() if b["id"] == "parameter"} == extra
    for b in added.values():
        p = b["parameters"]
        if b["id"] == "zeromq_sub_source":
            assert p["address"] in extra and p["type"] == "complex" and p["vlen"] == "1"
            assert p["pass_tags"] == "False"
        if b["id"] == "qtgui_const_sink_x":
            assert p["name"] == f'"{CONST_TITLE}"' and int(p["nconnections"]) == n_const
            assert (p["xmin"], p["xmax"], p["ymin"], p["ymax"]) == ("-2", "2", "-2", "2")
        if b["id"] in ("qtgui_freq_sink_x", "qtgui_waterfall_sink_x"):
            assert p["fftsize"] == "1024" and 0.05 <= float(p["update_time"]) <= 0.2
        if b["id"].startswith("qtgui_"):
            assert p["gui_hint"], b["name"]
    # Added blocks only read from the headless graph: no headless block gets a new input.
    for src, _, dst, _ in conns - {tuple(c) for c in base["connections"]}:
        assert dst in added, (src, dst)
    if name == "sim_channel_gui":
        spectrum = next(n for n, b in added.items() if b["id"] == "qtgui_freq_sink_x")
        assert ("bob_cfo_0", "0", spectrum, "0") in conns and ("eve_cfo_0", "0", spectrum, "1") in conns
        labels = {added[spectrum]["parameters"][f"label{i}"] for i in (1, 2)}
        assert labels == {'"Bob"', '"Eve"'}


@pytest.mark.parametrize("name", sorted(GUI))
def test_generated_main_stops_on_signals(name):
    text = (ROOT / f"{name}.py").read_text()
    main = text[text.index("def main("):]
    assert "qapp = Qt.QApplication(sys.argv)" in main
    assert "signal.signal(signal.SIGINT, sig_handler)" in main
    assert "signal.signal(signal.SIGTERM, sig_handler)" in main
    handler = main[main.index("def sig_handler"):main.index("signal.signal(")]
    assert "tb.stop()" in handler and "Qt.QApplication.quit()" in handler
    # A Qt timer lets Python run the signal handler while Qt's event loop spins.
    assert "timer.timeout.connect(lambda: None)" in main


# ---- sim_channel_gui: same samples as sim_channel ---------------------------------------

N = 100_000
TAIL = 1_000


def _run_channel(name: str, sent: np.ndarray, params: dict, counts: dict, **extra) -> tuple[dict, float | None]:
    """Push ``sent`` through flowgraph ``name``; returns its outputs and, for the GUI,
    how long SIGINT took to stop it."""
    with ZmqPush("tcp://127.0.0.1:*", bind=True, chunk=10_000) as tx:
        addrs = {"bob": free_tcp_endpoint(), "eve": free_tcp_endpoint()}
        fg = Flowgraph(name, tx_addr=tx.endpoint, bob_addr=addrs["bob"], eve_addr=addrs["eve"], **params, **extra)
        try:
            sender = threading.Thread(target=tx.send, args=(sent,), daemon=True)
            sender.start()
            out = _drain(addrs, counts, fg.check)
            sender.join(timeout=10)
            fg.check()
            t0 = time.monotonic()
            rc = fg.stop()
            stop_s = time.monotonic() - t0
            assert rc == 0, f"{name} exit code {rc} on SIGINT"
        finally:
            fg.stop()
    return out, stop_s


@pytest.mark.parametrize("cfo, feed", [(False, True), (True, True), (False, False)],
                         ids=["no_cfo", "cfo", "no_cfo_nothing_published"])
def test_sim_channel_gui_same_samples_as_sim_channel(gr_python, monkeypatch, tmp_path, cfo, feed):
    """``feed``: PUBs bound at the constellation addresses publish symbols all along;
    otherwise nothing is bound there (the SUB sources never produce a sample)."""
    _free_env(monkeypatch, tmp_path, QT_QPA_PLATFORM="offscreen")
    rng = np.random.default_rng(11)
    x = ((rng.standard_normal(N) + 1j * rng.standard_normal(N)) / np.sqrt(2)).astype(np.complex64)
    sent = np.concatenate([x, np.zeros(TAIL, np.complex64)])
    params = {"samp_rate": FS, "seed": 4}
    for role, p in (("bob", BOB), ("eve", EVE)):
        params |= {f"{role}_{k}": v for k, v in p.items()}
        if not cfo:
            params[f"{role}_cfo_hz"] = 0.0
    counts = {"bob": sent.size + BOB["delay"], "eve": sent.size + EVE["delay"]}

    if feed:
        pub = Publisher(("bob", "eve"))
        try:
            gui, gui_stop_s = _run_channel("sim_channel_gui", sent, params, counts,
                                           bob_const_addr=pub.endpoints["bob"], eve_const_addr=pub.endpoints["eve"])
            sent_const = dict(pub.sent)
        finally:
            pub.close()
        assert min(sent_const.values()) > 0, "the constellation PUBs published nothing while the GUI ran"
    else:
        gui, gui_stop_s = _run_channel("sim_channel_gui", sent, params, counts,
                                       bob_const_addr=free_tcp_endpoint(), eve_const_addr=free_tcp_endpoint())
    ref, _ = _run_channel("sim_channel", sent, params, counts)

    for role in ("bob", "eve"):
        # Exact sample count, as the headless flowgraph.
        assert gui[role].size == counts[role] == ref[role].size, (role, gui[role].size, counts[role])
        # Same blocks, parameters and seeds: the same samples, noise included (Eve's
        # noise is -10 dB, so another seed or SNR would differ by ~0.3 per sample).
        diff = np.max(np.abs(gui[role].astype(complex) - ref[role]))
        same = np.mean(gui[role] == ref[role])
        print(f"sim_channel_gui vs sim_channel ({'with' if cfo else 'no'} CFO), {role}: "
              f"max |difference| {diff:.2e}, {100 * same:.1f} % of samples bit-identical")
        if cfo:
            # Not bit-exact with a CFO (even between two headless runs): the rotator
            # renormalises its phasor every 512 samples of a call, so where the scheduler
            # cuts the stream changes the last float32 bits of the phase.
            np.testing.assert_allclose(gui[role], ref[role], rtol=1e-4, atol=1e-5)
        else:
            np.testing.assert_array_equal(gui[role], ref[role])
    # And it is the channel: Bob (40 dB) fits the noise-free model.
    yb = gui["bob"].astype(complex)
    err = np.mean(np.abs(yb - _expected(x, BOB | {"cfo_hz": params["bob_cfo_hz"]}, yb.size)) ** 2)
    assert err < 1.3 * BOB["gain"] ** 2 * 10 ** (-BOB["snr_db"] / 10)
    print(f"sim_channel_gui stopped {gui_stop_s:.2f} s after SIGINT")
    assert gui_stop_s < 5.0


# ---- radio GUI variants with a stand-in radio -------------------------------------------

RADIO_FS = 1e6
RADIO_FREQ = 915e6
RADIO_GAIN = 10


@pytest.mark.parametrize("name", ["usrp_rx_gui", "hackrf_rx_gui"])
def test_radio_gui_streams_the_radio_samples(gr_python, monkeypatch, tmp_path, name):
    from gui_harness import NOISE_AMP, TONE_AMP, TONE_FRACTION

    _free_env(monkeypatch, tmp_path, QT_QPA_PLATFORM="offscreen")
    addr = free_tcp_endpoint()
    pub = Publisher(("rx",))
    log = tmp_path / f"{name}.log"
    args = [gr_python, "-u", str(HARNESS), name, "--zmq-addr", addr, "--const-addr", pub.endpoints["rx"],
            "--samp-rate", str(RADIO_FS), "--freq", str(RADIO_FREQ), "--gain", str(RADIO_GAIN)]
    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    pull.connect(addr)
    n_want = 200_000
    with open(log, "w") as f:
        proc = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        got, have = [], 0
        deadline = time.monotonic() + 30
        while have < n_want:
            assert proc.poll() is None, f"{name} exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"only {have} samples arrived: {log.read_text()[-2000:]}"
            if pull.poll(100):
                msg = pull.recv(copy=False)
                got.append(np.frombuffer(msg, "<c8"))
                have += len(msg) // 8
        assert pub.sent["rx"] > 0
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(10)
        stop_s = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pull.close(linger=0)
        pub.close()
    y = np.concatenate(got).astype(complex)
    # The stand-in's tone (amplitude 0.5 at samp_rate/8) plus its noise, unchanged.
    power = np.mean(np.abs(y) ** 2)
    assert abs(power - (TONE_AMP**2 + NOISE_AMP**2)) < 0.05 * TONE_AMP**2, power
    spec = np.abs(np.fft.fft(y[:65_536])) ** 2
    k = int(np.argmax(spec))
    assert k == round(TONE_FRACTION * 65_536), (k, TONE_FRACTION * 65_536)
    assert spec[k] / np.median(spec) > 1e6
    step = np.angle(np.mean(y[1:] * np.conj(y[:-1])))
    assert abs(step - 2 * np.pi * TONE_FRACTION) < 1e-3
    print(f"{name}: {y.size} samples, power {power:.4f}, stopped {stop_s:.2f} s after SIGINT")
    assert rc == 0 and stop_s < 5.0
    # The generated code configured the "radio" from the command line.
    calls = [_fake_call(line) for line in log.read_text().splitlines() if line.startswith("FAKE_CALL ")]
    if name == "usrp_rx_gui":
        assert ("set_samp_rate", [RADIO_FS]) in calls
        assert ("set_center_freq", [RADIO_FREQ, 0]) in calls
        assert ("set_gain", [RADIO_GAIN, 0]) in calls and ("set_antenna", ["RX2", 0]) in calls
    else:
        assert ("set_sample_rate", [0, RADIO_FS]) in calls
        assert ("set_frequency", [0, RADIO_FREQ]) in calls
        assert ("set_gain", [0, "LNA", RADIO_GAIN]) in calls


def _fake_call(line: str) -> tuple[str, list]:
    """A ``FAKE_CALL {json}`` line of gui_harness.py as (method, args)."""
    d = json.loads(line.split(" ", 1)[1])
    return d["method"], d["args"]


# ---- screenshot under Xvfb ---------------------------------------------------------------

def _ofdm_stream(n_frames: int = 3, seed: int = 0) -> np.ndarray:
    """privsem's PHY: one message of 16-QAM points sent as the analog payload."""
    from privsem.phy import Header, Modem, transmit
    from privsem.phy.modem import MAX_PAYLOAD_SYMBOLS
    from privsem.phy.ofdm import N_DATA

    rng = np.random.default_rng(seed)
    n = n_frames * MAX_PAYLOAD_SYMBOLS * N_DATA // 2
    levels = np.array([-3, -1, 1, 3]) / np.sqrt(10)
    qam = (rng.choice(levels, n) + 1j * rng.choice(levels, n)).astype(np.complex64)
    return transmit(Modem(), Header(msg_id=1), qam)


def test_sim_channel_gui_screenshot(gr_python, monkeypatch, tmp_path, xvfb, keep_screenshot):
    from PIL import Image, ImageGrab

    from privsem.pipeline import StreamReceiver
    from privsem.transport import ZmqPull
    from privsem.transport.zmq import Drain

    _free_env(monkeypatch, tmp_path, DISPLAY=xvfb, QT_QPA_PLATFORM=None)
    burst = _ofdm_stream()
    gap = np.zeros(20_000, np.complex64)
    rep = np.concatenate([burst, gap])
    params = {"samp_rate": FS, "seed": 1, "bob_snr_db": 25.0, "eve_snr_db": 9.0, "bob_delay": 300,
              "eve_delay": 1700, "bob_cfo_hz": 1500.0, "eve_cfo_hz": -2600.0, "bob_taps": "1",
              "eve_taps": "0.9,0.3j,-0.2", "eve_gain": 0.8}
    pub = Publisher(("bob", "eve"), period_s=0.1)
    stop = threading.Event()
    with ZmqPush("tcp://127.0.0.1:*", bind=True, chunk=10_000) as tx:
        addrs = {"bob": free_tcp_endpoint(), "eve": free_tcp_endpoint()}
        fg = Flowgraph("sim_channel_gui", tx_addr=tx.endpoint, bob_addr=addrs["bob"], eve_addr=addrs["eve"],
                       bob_const_addr=pub.endpoints["bob"], eve_const_addr=pub.endpoints["eve"], **params)
        pulls = {k: ZmqPull(a) for k, a in addrs.items()}
        drains = {k: Drain(p) for k, p in pulls.items()}

        def send():  # about 1 MS/s of bursts and gaps while the GUI runs
            while not stop.is_set():
                tx.send(rep)
                time.sleep(rep.size / 1e6)

        sender = threading.Thread(target=send, daemon=True)
        try:
            sender.start()
            # Demodulate what Bob and Eve receive (privsem's receiver), then publish each
            # frame's equalized symbols, as privsem does with --gui.
            rx = {k: StreamReceiver() for k in addrs}
            frames = {k: [] for k in addrs}
            deadline = time.monotonic() + 30
            while min(len(f) for f in frames.values()) < 3:
                fg.check()
                assert time.monotonic() < deadline, f"frames demodulated: { {k: len(v) for k, v in frames.items()} }"
                time.sleep(0.2)
                for k in addrs:
                    frames[k] += [f for f in rx[k].feed(drains[k].take()) if f.symbols.size and not f.damaged]
            for k in addrs:
                pub.frames[k] = [f.symbols.astype(np.complex64) for f in frames[k][:3]]
            snr = {k: np.mean([f.snr_db for f in frames[k]]) for k in addrs}
            print(f"frames: bob {len(frames['bob'])} ({snr['bob']:.1f} dB), eve {len(frames['eve'])} "
                  f"({snr['eve']:.1f} dB)")
            assert snr["bob"] > snr["eve"] + 8
            t_end = time.monotonic() + 5.0
            while time.monotonic() < t_end:  # keep draining while the GUI renders
                fg.check()
                for d in drains.values():
                    d.take()
                time.sleep(0.1)
            img = ImageGrab.grab(xdisplay=xvfb)
            fg.check()
        finally:
            stop.set()
            sender.join(5)
            for d in drains.values():
                d.close()
            for p in pulls.values():
                p.close()
            pub.close()
            rc = fg.stop()
    assert rc == 0
    img = img.crop(img.getbbox())  # the window (the rest of the X screen is black)
    path = tmp_path / "gui_sim_channel.png"
    img.save(path)
    keep_screenshot(path)
    a = np.asarray(Image.open(path).convert("RGB"), dtype=int)
    colours = len(np.unique(a.reshape(-1, 3), axis=0))
    h, w, _ = a.shape
    print(f"screenshot {path}: {w}x{h}, std {a.std():.1f}, {colours} colours")
    assert w >= 1000 and h >= 700, "the window should open at its first-start size (1300x820)"
    assert a.std() > 20 and colours > 50
    # Layout: spectrum top-left, constellation top-right, waterfalls below. The
    # constellation has Bob's (blue) and Eve's (red) points: far more than its legend.
    r, g, b = (a[: h // 2, w // 2 :, i] for i in range(3))
    blue, red = int(((b > 180) & (r < 140) & (g < 140)).sum()), int(((r > 180) & (g < 140) & (b < 140)).sum())
    # The waterfalls have coloured rows (an empty waterfall is white).
    low = a[h // 2 :]
    coloured = float(np.mean(low.max(axis=2) - low.min(axis=2) > 80))
    print(f"constellation: {blue} blue and {red} red pixels; waterfalls: {100 * coloured:.1f} % coloured")
    assert blue > 1000 and red > 1000
    assert coloured > 0.05
