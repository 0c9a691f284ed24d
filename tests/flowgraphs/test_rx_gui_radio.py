"""``privsem rx --radio PROFILE --gui``: privsem starts the profile's GUI variant
(``<rx_flowgraph>_gui``) and feeds it the equalized symbols of every frame over ZMQ,
while --view gets the same frames. Radios are the stand-ins of tests/flowgraphs/fake_radio
(a real radio's GUI flowgraph is tested in test_gui_flowgraphs.py)."""

import json
import os
import subprocess
import sys
import time

from fake_radios import FAKE, fake_profile  # same folder (pytest puts it on sys.path)

from privsem.transport import free_tcp_endpoint


def test_rx_radio_gui_gets_the_constellation(gr_python, example_db, tmp_path):
    import zmq

    db, scenes = example_db
    air, log = free_tcp_endpoint(), tmp_path / "const.txt"
    tx = fake_profile(tmp_path / "tx.yaml", "fake_tx", "noise=0", air)
    rx = fake_profile(tmp_path / "rx.yaml", "fake_rx", f"noise=0.03,const_log={log}", air)
    events = zmq.Context.instance().socket(zmq.PULL)
    events.bind("tcp://127.0.0.1:*")
    ep = events.getsockopt_string(zmq.LAST_ENDPOINT)
    env = {**os.environ, "PRIVSEM_FLOWGRAPHS": str(FAKE), "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "privsem"]
    receiver = subprocess.Popen(cmd + ["rx", "--role", "bob", "--db", str(db), "--radio", str(rx), "--freq", "2.4e9",
                                       "--sample-rate", "200000", "--out", str(tmp_path / "bob"), "--gui",
                                       "--gui-hold", "1", "--steps", "2", "--timeout", "120", f"--view={ep}"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not log.is_file():  # the receiver's radio streams before anything is sent
            assert receiver.poll() is None and time.monotonic() < deadline, receiver.communicate()[1][-2000:]
            time.sleep(0.1)
        sent = subprocess.run(cmd + ["tx", str(scenes / "chelsea.png"), "--db", str(db), "--radio", str(tx),
                                     "--freq", "2.4e9", "--sample-rate", "200000"],
                              env=env, capture_output=True, text=True, timeout=300)
        assert sent.returncode == 0, sent.stderr[-2000:]
        out, err = receiver.communicate(timeout=300)
    finally:
        receiver.kill()
    assert receiver.returncode == 0, err[-2000:]
    report = json.loads((tmp_path / "bob" / "report.json").read_text())
    msg = report["messages"][0]
    assert msg["entity"] == "chelsea" and msg["frames_received"] == msg["frames_sent"] == 4
    # every good frame's equalized symbols reached the GUI flowgraph's constellation input
    ok = [f for f in report["frames"] if f["crc_ok"] and not f["damaged"]]
    assert len(ok) >= 4 and int(log.read_text()) > 4 * 10_000
    frames = []
    while events.poll(100):
        e = json.loads(events.recv_multipart()[0])
        frames += [e] if e["type"] == "frame" else []
    assert [f["snr_db"] for f in frames] == [f["snr_db"] for f in report["frames"]]
    events.close()
