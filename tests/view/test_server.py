"""``privsem view`` as a process: what it serves, and the bad cases the issue names — a
port in use, a browser that goes away, a run that ends, crashes or is killed, the view
itself stopping — each with a clear message and nothing left hanging."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

import pytest

from privsem.view.events import LOST_AFTER_S, Publisher


class sse:
    """A raw SSE client (what a browser's EventSource sends); ``messages(until)`` reads on
    from where the last call stopped."""

    def __init__(self, url: str) -> None:
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=10)
        self.sock.sendall(f"GET /events HTTP/1.1\r\nHost: {u.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.sock.settimeout(0.5)
        self.buf, self.pending = b"", []

    def messages(self, until: str, timeout: float = 10.0) -> list[dict]:
        out, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            while self.pending:
                out.append(self.pending.pop(0))
                if out[-1]["type"] == until:
                    return out
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            self.buf += chunk
            while b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                self.pending += [json.loads(line[6:]) for line in block.split(b"\n") if line.startswith(b"data: ")]
        raise AssertionError(f"no {until!r} in {[m['type'] for m in out]}")

    def close(self) -> None:
        self.sock.close()


def test_page_and_static_files(view):
    with urllib.request.urlopen(view.url, timeout=10) as r:
        html = r.read().decode()
    assert 'id="fig-eve"' in html and "/static/view.js" in html
    for name in ("view.js", "view.css"):
        with urllib.request.urlopen(view.url + "static/" + name, timeout=10) as r:
            assert r.status == 200 and len(r.read()) > 500
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(view.url + "image/bob", timeout=10)
    assert e.value.code == 404
    s = view.state()
    assert s["runs"] == [] and s["clients"] == 0 and s["events"] == view.events


def test_port_in_use_is_one_clear_line(view):
    port = urlparse(view.url).port
    r = subprocess.run([sys.executable, "-m", "privsem", "view", "--port", str(port), "--events", "tcp://127.0.0.1:*"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "port is in use" in r.stderr and "--port" in r.stderr
    r = subprocess.run([sys.executable, "-m", "privsem", "view", "--port", "0", "--events", view.events],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and "events endpoint" in r.stderr
    assert "in use" in r.stderr


def test_events_reach_the_page_and_a_run_end_is_shown(view):
    client = sse(view.url)
    assert client.messages("snapshot")[0]["runs"] == []
    with Publisher(view.events, "loopback") as pub:
        pub.send("link", role="bob", frames_sent=4, frames_received=4, frames_lost=0, crc_failures=0)
    msgs = client.messages("run")  # the start
    msgs += client.messages("link")
    end = client.messages("run")[-1]
    assert end["status"] == "ok" and end["id"] == pub.run
    assert view.state()["links"]["bob"]["frames_received"] == 4
    client.close()


def test_a_browser_that_disconnects_is_forgotten(view):
    clients = [sse(view.url) for _ in range(3)]
    for c in clients:
        c.messages("snapshot")
    view.wait(lambda s: s["clients"] == 3, what="3 pages")
    for c in clients[:2]:
        c.close()
    with Publisher(view.events, "rx") as pub:  # the view keeps serving the page still open
        pub.send("frame", role="eve", snr_db=4.0, crc_ok=True)
    assert clients[2].messages("frame")[-1]["snr_db"] == 4.0
    view.wait(lambda s: s["clients"] == 1, timeout=15, what="closed pages noticed")
    clients[2].close()


def test_a_killed_run_is_declared_lost(view, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, time\n"
        "from privsem.view.events import Publisher\n"
        "pub = Publisher(sys.argv[1], 'loopback').__enter__()\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, str(script), view.events], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        view.wait(lambda s: [r["status"] for r in s["runs"]] == ["running"], what="the run")
        client = sse(view.url)
        client.messages("snapshot")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGKILL)  # no run_end: only the silence tells
        lost = client.messages("run", timeout=LOST_AFTER_S + 10)[-1]
        assert lost["status"] == "lost" and "killed" in lost["message"]
        assert time.monotonic() - t0 < LOST_AFTER_S + 5
        client.close()
    finally:
        proc.kill()
        proc.wait()


def test_stopping_the_view_tells_the_page_and_exits(view):
    client = sse(view.url)
    client.messages("snapshot")
    view.proc.send_signal(signal.SIGINT)
    assert client.messages("server_stopping", timeout=10)
    code, err = view.stop()
    assert code == 0 and "stopped" in err and "Traceback" not in err
    client.close()


def test_a_run_outlives_its_view(view, tmp_path):
    # the view goes away mid-run: the run neither hangs nor fails
    code = ("import sys, time\n"
            "from privsem.view.events import Publisher\n"
            "with Publisher(sys.argv[1], 'eval') as pub:\n"
            "    for i in range(3000):\n"
            "        pub.send('frame', role='bob', snr_db=float(i))\n"
            "        time.sleep(0.001)\n"
            "print('done', pub.dropped)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, view.events], stdout=subprocess.PIPE, text=True)
    view.wait(lambda s: s["runs"], what="the run")
    view.proc.kill()
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.startswith("done")


def test_a_public_host_is_warned_about(start_view):
    v = start_view("--port", "0", "--events", "tcp://127.0.0.1:*", "--host", "0.0.0.0")
    code, err = v.stop()
    assert "warning" in err and "unguarded images" in err and code == 0


def test_bad_events_are_counted_and_the_page_keeps_working(view):
    import zmq

    client = sse(view.url)
    client.messages("snapshot")
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 1000)
    push.connect(view.events)
    for raw in ([b'{"type": "frame", "run": "x", "role": "bob", "snr_db": NaN}'], [b"\xff\xfe"], [b"[1, 2]"],
                [b'{"type": "image", "run": "x", "name": "bob"}', b"GIF89a"], [b"{}", b"", b""]):
        push.send_multipart(raw)
    push.send_multipart([json.dumps({"type": "frame", "run": "x", "role": "eve", "snr_db": 7.5}).encode()])
    assert client.messages("frame")[-1]["snr_db"] == 7.5  # the listener lives on
    s = view.wait(lambda s: s["bad_events"] == 5, what="5 refused events")
    assert [f["snr_db"] for f in s["frames"]["bob"]] == [] and s["frames"]["eve"][0]["snr_db"] == 7.5
    push.close()
    client.close()


def test_a_page_that_falls_behind_gets_a_snapshot_not_a_backlog():
    import asyncio

    from privsem.view.server import Hub

    async def go():
        hub, slow, fast = Hub(), asyncio.Queue(3), asyncio.Queue(100)
        hub.clients |= {slow, fast}
        hub.broadcast([{"type": "frame", "i": i} for i in range(5)])
        got = [slow.get_nowait() for _ in range(slow.qsize())]
        assert got == [{"type": "resync"}]  # the handler answers it with the whole state
        assert fast.qsize() == 5
        hub.close({"type": "server_stopping"})
        assert [slow.get_nowait(), slow.get_nowait()] == [{"type": "server_stopping"}, None]

    asyncio.run(go())
