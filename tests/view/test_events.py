"""The run's side: events arrive as the view expects, a missing view costs nothing,
and the run's end says how it ended."""

import json
import time

import numpy as np
import pytest
import zmq

from privsem.errors import PrivsemError
from privsem.view.events import Publisher, publisher


@pytest.fixture
def pull():
    sock = zmq.Context.instance().socket(zmq.PULL)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind("tcp://127.0.0.1:*")
    yield sock, sock.getsockopt_string(zmq.LAST_ENDPOINT)
    sock.close()


def received(sock, until: str, timeout: float = 5.0) -> list:
    out, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        if sock.poll(100):
            parts = sock.recv_multipart()
            out.append((json.loads(parts[0]), parts[1:]))
            if out[-1][0]["type"] == until:
                return out
    raise AssertionError(f"no {until} among {[e['type'] for e, _ in out]}")


def test_a_run_start_to_end(pull):
    sock, ep = pull
    with Publisher(ep, "loopback") as pub:
        pub.image("bob", np.zeros((8, 8, 3), np.float32))
        pub.result("bob", {"psnr": float("nan"), "psnr_region": np.float32(12.5), "identity_recognized": True})
        time.sleep(1.2)  # two heartbeats
    events = received(sock, "run_end")
    types = [e["type"] for e, _ in events]
    assert types[0] == "run_start" and types[-1] == "run_end" and types.count("heartbeat") >= 2
    img = next((e, p) for e, p in events if e["type"] == "image")
    assert img[1][0].startswith(b"\x89PNG") and img[0]["shape"] == [8, 8]
    res = next(e for e, _ in events if e["type"] == "result")
    assert res["psnr"] is None and res["psnr_region"] == 12.5  # NaN is not JSON
    assert events[-1][0]["status"] == "ok" and {e["run"] for e, _ in events} == {pub.run}


@pytest.mark.parametrize("exc,status", [(PrivsemError("bad file"), "error"), (KeyboardInterrupt(), "interrupted"),
                                        (ValueError("boom"), "crashed")])
def test_the_end_says_how_it_ended(pull, exc, status):
    sock, ep = pull
    with pytest.raises(type(exc)):
        with Publisher(ep, "rx"):
            raise exc
    end = received(sock, "run_end")[-1][0]
    assert end["status"] == status and end["message"]


def test_no_view_costs_nothing():
    # nobody listens here: thousands of events and the close return at once
    t0 = time.monotonic()
    with Publisher("tcp://127.0.0.1:9", "eval") as pub:
        for _ in range(5000):
            pub.send("frame", role="bob", snr_db=1.0)
    assert time.monotonic() - t0 < 5.0
    assert pub.dropped > 0


def test_null_publisher_and_bad_endpoint():
    with publisher(None, "loopback") as pub:
        pub.image("bob", np.zeros((2, 2, 3), np.float32))  # does nothing
    with pytest.raises(PrivsemError, match="--view"):
        Publisher("nonsense://x", "loopback")
