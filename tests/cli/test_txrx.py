"""privsem tx / rx as separate processes: SigMF files and a real ZMQ stream."""

import json
import subprocess
import sys

import numpy as np
import pytest

from privsem.cli import main
from privsem.transport import free_tcp_endpoint
from privsem.transport.sigmf_io import read_sigmf, write_sigmf


def privsem(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "privsem", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def _one_line_error(p):
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    return p.stderr


def _one_line_error_inproc(capsys, *args):
    """The same contract through ``main`` in this process (no interpreter start-up per case;
    the subprocess path is covered by the tests above and test_rx_peer_never_connects)."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture(scope="module")
def iq(example_db, tmp_path_factory):
    db, scenes = example_db
    path = tmp_path_factory.mktemp("iq") / "chelsea.sigmf-data"
    p = privsem("tx", scenes / "chelsea.png", "--db", db, "--iq", path, "--freq", 2.45e9)
    assert p.returncode == 0, p.stderr
    assert "4 frames" in p.stdout and "codec superposed;" in p.stdout  # auto at 10 dB over AWGN: a hybrid
    return path


def test_tx_for_a_fading_link_chooses_for_the_fades(example_db, tmp_path, capsys):
    """The same picture and design SNR (5 dB): over AWGN auto sends the hda hybrid; built
    for a link that fades slowly it weighs in the fades that would take hda's base layer
    and sends the superposed code, its digital layer chosen to survive them."""
    db, scenes = example_db
    for flag, code in (([], "hda"), (["--fading"], "superposed")):
        assert main(["tx", str(scenes / "chelsea.png"), "--db", str(db), "--iq", str(tmp_path / f"f{len(flag)}"),
                     "--design-snr", "5", *flag]) == 0
        assert f"codec {code};" in capsys.readouterr().out


def test_sigmf_bob_and_eve(iq, example_db, tmp_path):
    db, _ = example_db
    assert privsem("rx", "--role", "bob", "--db", db, "--iq", iq, "--out", tmp_path / "bob").returncode == 0
    assert privsem("rx", "--role", "eve", "--iq", iq, "--out", tmp_path / "eve").returncode == 0
    bob = json.loads((tmp_path / "bob" / "report.json").read_text())
    eve = json.loads((tmp_path / "eve" / "report.json").read_text())
    assert bob["center_freq"] == 2.45e9 and bob["frames_detected"] == 4 and bob["crc_failures"] == 0
    assert bob["messages"][0]["entity"] == "chelsea" and bob["messages"][0]["prompt"] == "the cat Chelsea"
    assert eve["messages"][0]["entity"] is None and eve["messages"][0]["frames_lost"] == []
    assert (tmp_path / "bob" / "bob.png").is_file() and (tmp_path / "eve" / "eve.png").is_file()


def test_lost_frame_is_reported_and_image_still_written(iq, tmp_path):
    x, meta = read_sigmf(iq)
    cut = x.copy()
    cut[30_900:61_800] = 0  # frame 1 (samples 30 944-61 631) never arrives
    write_sigmf(tmp_path / "cut", cut, meta["sample_rate"])
    p = privsem("rx", "--role", "eve", "--iq", tmp_path / "cut.sigmf-data", "--out", tmp_path / "o")
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path / "o" / "report.json").read_text())["messages"][0]
    assert m["frames_lost"] == [1] and m["frames_received"] == 3
    assert m["lost_units"] == [[20000, 20000]]
    assert (tmp_path / "o" / "eve.png").is_file()


def test_zmq_between_processes(example_db, tmp_path):
    db, scenes = example_db
    ep = free_tcp_endpoint()
    sender = subprocess.Popen([sys.executable, "-m", "privsem", "tx", str(scenes / "astronaut.png"), "--db",
                               str(db), "--zmq", ep], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p = privsem("rx", "--role", "bob", "--db", db, "--zmq", ep, "--out", tmp_path, "--timeout", 120)
    finally:
        out, err = sender.communicate(timeout=120)
    assert sender.returncode == 0, err
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path / "report.json").read_text())["messages"][0]
    # a noiseless link: the estimate sits at the top of the range the decoder accepts (softcast: 40 dB)
    assert m["entity"] == "astronaut" and m["frames_lost"] == [] and m["snr_est_db"] == 40.0


@pytest.mark.parametrize("case", ["wrong_length", "no_frame", "missing", "both_sources", "bob_without_db"])
def test_rx_bad_input(case, tmp_path, iq, capsys):
    args = ["rx", "--role", "bob" if case == "bob_without_db" else "eve", "--out", tmp_path / "o"]
    if case == "wrong_length":
        (tmp_path / "w.sigmf-data").write_bytes(b"\x00" * 13)
        write_sigmf(tmp_path / "tmp", np.zeros(1, np.complex64), 1e6)
        (tmp_path / "tmp.sigmf-meta").rename(tmp_path / "w.sigmf-meta")
        args += ["--iq", tmp_path / "w.sigmf-data"]
        expect = "whole number"
    elif case == "no_frame":
        noise = (np.random.default_rng(0).standard_normal(100_000) * (1 + 1j)).astype(np.complex64)
        write_sigmf(tmp_path / "n", noise, 2e6)
        args += ["--iq", tmp_path / "n.sigmf-data"]
        expect = "no frame found"
    elif case == "missing":
        args += ["--iq", tmp_path / "none.sigmf-data"]
        expect = "not found"
    elif case == "both_sources":
        args += ["--iq", iq, "--zmq", "tcp://127.0.0.1:1"]
        expect = "exactly one"
    else:
        args += ["--iq", iq]
        expect = "privacy database"
    assert expect in _one_line_error_inproc(capsys, *args)


def test_rx_peer_never_connects(tmp_path):
    p = privsem("rx", "--role", "eve", "--zmq", free_tcp_endpoint(), "--out", tmp_path, "--timeout", 1.5)
    assert "no samples arrived" in _one_line_error(p)


@pytest.mark.parametrize("args, expect", [
    (["--radio", "hackrf_one", "--freq", 10], "outside hackrf_one's range"),
    (["--radio", "no_such_radio", "--freq", 2.45e9], "not found"),
    (["--radio", "usrp_b200", "--freq", 2.45e9, "--gain", 500], "outside usrp_b200's range"),
])
def test_radio_settings_checked_before_any_device_is_opened(args, expect, tmp_path, example_db, capsys):
    db, scenes = example_db
    assert expect in _one_line_error_inproc(capsys, "tx", scenes / "chelsea.png", "--db", db, *args)
    assert expect in _one_line_error_inproc(capsys, "rx", "--role", "eve", "--out", tmp_path, *args)
