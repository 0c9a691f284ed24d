"""The view's bookkeeping: sessions, lost runs, and events it refuses."""

import pytest

from privsem.view.events import LOST_AFTER_S, png_bytes
from privsem.view.state import BadEvent, ViewState

import numpy as np


def ev(type, run="r1", **kw):
    return {"type": type, "run": run, **kw}


def test_a_run_fills_the_picture_and_ends():
    s = ViewState()
    out = s.apply(ev("run_start", command="loopback", pid=7), now=100.0)
    assert [m["type"] for m in out] == ["reset", "run"] and out[1]["status"] == "running"
    png = png_bytes(np.full((4, 6, 3), 0.5, np.float32))
    assert s.apply(ev("image", name="bob", caption="c"), png, now=101.0)[0]["version"] == 1
    assert s.apply(ev("image", name="bob"), png, now=101.5)[0]["version"] == 2
    s.apply(ev("frame", role="eve", snr_db=9.5, cfo_hz=-12.0, crc_ok=True, iq=[[0.1, -0.2]]), now=102.0)
    s.apply(ev("link", role="eve", frames_sent=4, frames_received=3, frames_lost=1, crc_failures=2), now=102.5)
    r = s.apply(ev("result", role="bob", psnr=18.0, psnr_region=12.5, identity_recognized=True), now=103.0)[0]
    assert r["t"] == pytest.approx(3.0) and r["psnr_region"] == 12.5
    end = s.apply(ev("run_end", status="ok"), now=104.0)
    assert end[-1]["status"] == "ok"
    snap = s.snapshot()
    assert snap["links"]["eve"] == {"frames_sent": 4, "frames_received": 3, "frames_lost": 1, "crc_failures": 2}
    assert snap["frames"]["eve"][0]["snr_db"] == 9.5 and snap["iq"]["eve"] == [[0.1, -0.2]]
    assert s.png["bob"] == png and [i["name"] for i in snap["images"]] == ["bob"]
    # the next run starts a new session: the old picture goes
    s.apply(ev("run_start", run="r2", command="rx"), now=200.0)
    assert s.images == {} and s.results == type(s.results)() and list(s.runs) == ["r2"] and s.epoch == 200.0


def test_concurrent_runs_share_a_session():
    s = ViewState()
    s.apply(ev("run_start", run="bob-rx"), now=1.0)
    out = s.apply(ev("run_start", run="eve-rx"), now=2.0)
    assert [m["type"] for m in out] == ["run"] and set(s.runs) == {"bob-rx", "eve-rx"} and s.epoch == 1.0


def test_a_silent_run_is_lost_and_may_come_back():
    s = ViewState()
    s.apply(ev("run_start"), now=10.0)
    assert s.check_lost(now=10.0 + LOST_AFTER_S - 0.1) == []
    s.apply(ev("heartbeat"), now=10.0 + LOST_AFTER_S)
    lost = s.check_lost(now=10.0 + 2 * LOST_AFTER_S + 0.1)
    assert lost[0]["status"] == "lost" and "killed" in lost[0]["message"]
    assert s.check_lost(now=1e9) == []  # said once
    back = s.apply(ev("heartbeat"), now=10.0 + 3 * LOST_AFTER_S)
    assert back[0]["status"] == "running"


def test_a_run_heard_mid_way_is_adopted():
    s = ViewState()
    out = s.apply(ev("frame", run="late", role="bob", snr_db=3.0), now=5.0)
    assert out[0]["type"] == "run" and out[0]["message"] == "joined while running"
    assert out[1]["type"] == "frame" and s.runs["late"].status == "running"


@pytest.mark.parametrize("event,payload,why", [
    ([], None, "JSON object"),
    ({"type": "frame"}, None, "run id"),
    (ev("frame", role="mallory"), None, "role"),
    (ev("image", name="../etc/passwd"), b"\x89PNG\r\n\x1a\n", "image name"),
    (ev("image", name="bob"), b"GIF89a", "PNG"),
    (ev("image", name="bob"), None, "PNG"),
    (ev("frame", role="bob", iq="x" * 10), None, "iq"),
    (ev("frame", role="bob", snr_db="loud"), None, "number"),
    (ev("launch_missiles"), None, "unknown event type"),
])
def test_bad_events_are_refused(event, payload, why):
    s = ViewState()
    with pytest.raises(BadEvent, match=why):
        s.apply(event, payload, now=1.0)


def test_nothing_is_added_to_an_ended_run():
    s = ViewState()
    s.apply(ev("run_start"), now=1.0)
    s.apply(ev("run_end", status="crashed", message="ValueError: x"), now=2.0)
    assert s.runs["r1"].status == "crashed"
    with pytest.raises(BadEvent, match="after run"):
        s.apply(ev("result", role="bob", psnr=1.0), now=3.0)
    s.apply(ev("run_end", run="r9", status="weird"), now=4.0)
    assert s.runs["r9"].status == "crashed"
