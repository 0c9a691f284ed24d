"""What the view knows about the runs it hears: the latest images, frames, link counts
and scores, and each run's life (running, ended, lost). Pure bookkeeping, no I/O:
:meth:`ViewState.apply` takes one event (see :mod:`privsem.view.events`) and returns
what to tell the browsers."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass, field

from .events import END_STATUSES, IMAGE_NAMES, LOST_AFTER_S, ROLES

FRAMES_KEPT = 400  # per role, for the per-frame plots of a page that joins late
RESULTS_KEPT = 5000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PNG = 32 << 20


class BadEvent(ValueError):
    """An event the view cannot use (it is counted and dropped)."""


@dataclass
class Run:
    """One run's life as the view saw it; times are Unix seconds."""

    id: str
    command: str = "?"
    pid: int | None = None
    argv: list = field(default_factory=list)
    started: float = 0.0
    last_seen: float = 0.0
    status: str = "running"  # running | ok | error | interrupted | crashed | lost
    message: str = ""


def _role(ev: dict) -> str:
    role = ev.get("role")
    if role not in ROLES:
        raise BadEvent(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def _text(v, limit: int = 200) -> str | None:
    if v is not None and not isinstance(v, str):
        raise BadEvent(f"not a string: {v!r}"[:80])
    return None if v is None else v[:limit]


def _flag(v) -> bool | None:
    if v is not None and not isinstance(v, bool):
        raise BadEvent(f"not true, false or null: {v!r}"[:80])
    return v


def _num(v):
    """A finite int or float, or None; anything else is a bad event."""
    if v is None or isinstance(v, bool):
        return None
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        raise BadEvent(f"not a finite number: {v!r}"[:80])
    return v


class ViewState:
    """The page's model. ``epoch`` is when the current session's first run started
    (the PSNR-vs-time plot's zero); a run that starts while none is running begins a
    new session and clears the last one's images and numbers."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.bad_events = 0
        self._clear()

    def _clear(self) -> None:
        self.epoch: float | None = None
        self.images: dict[str, dict] = {}
        self.png: dict[str, bytes] = {}
        self.guard: dict | None = None
        self.links: dict[str, dict] = {r: {} for r in ROLES}
        self.frames: dict[str, deque] = {r: deque(maxlen=FRAMES_KEPT) for r in ROLES}
        self.iq: dict[str, list] = {r: [] for r in ROLES}  # the last frame's equalized symbols
        self.n_frames: dict[str, int] = {r: 0 for r in ROLES}  # numbers frames across runs and eval units
        self.results: deque = deque(maxlen=RESULTS_KEPT)

    def running(self) -> list[Run]:
        return [r for r in self.runs.values() if r.status == "running"]

    def apply(self, ev: dict, payload: bytes | None = None, now: float | None = None) -> list[dict]:
        """One event in; the messages for the browsers out. Raises :class:`BadEvent`."""
        now = time.time() if now is None else now
        if not isinstance(ev, dict):
            raise BadEvent("an event must be a JSON object")
        kind, rid = ev.get("type"), ev.get("run")
        if not isinstance(rid, str) or not rid or len(rid) > 64:
            raise BadEvent("an event needs a run id")
        out: list[dict] = []
        if kind == "run_start":
            if not self.running():  # a new session: forget the last one
                self._clear()
                self.runs.clear()
                out.append({"type": "reset"})
            run = self.runs[rid] = Run(rid, str(ev.get("command", "?"))[:40], ev.get("pid") if isinstance(ev.get("pid"), int) else None,
                                       [str(a)[:200] for a in ev.get("argv", [])][:40] if isinstance(ev.get("argv"), list) else [],
                                       started=now, last_seen=now)
            self.epoch = self.epoch or now
            return out + [{"type": "run", **asdict(run)}]
        run = self.runs.get(rid)
        if run is None:  # the view started after the run did: adopt it
            run = self.runs[rid] = Run(rid, started=now, last_seen=now, message="joined while running")
            self.epoch = self.epoch or now
            out.append({"type": "run", **asdict(run)})
        if run.status == "lost" and kind != "run_end":  # it was only slow: alive again
            run.status, run.message = "running", "back after a silence"
            out.append({"type": "run", **asdict(run)})
        run.last_seen = now
        if kind == "heartbeat":
            return out
        if kind == "run_end":
            status = ev.get("status")
            run.status = status if status in END_STATUSES else "crashed"
            run.message = str(ev.get("message", ""))[:500]
            return out + [{"type": "run", **asdict(run)}]
        if run.status != "running":
            raise BadEvent(f"{kind} event after run {rid} ended")
        if kind == "image":
            name = ev.get("name")
            if name not in IMAGE_NAMES:
                raise BadEvent(f"image name must be one of {', '.join(IMAGE_NAMES)}, not {name!r}")
            if not payload or not payload.startswith(PNG_MAGIC) or len(payload) > MAX_PNG:
                raise BadEvent("an image event needs a PNG of at most 32 MB")
            version = self.images.get(name, {}).get("version", 0) + 1
            self.png[name] = payload
            self.images[name] = {"name": name, "version": version, "caption": str(ev.get("caption", ""))[:200],
                                 "run": rid}
            return out + [{"type": "image", **self.images[name]}]
        if kind == "guard":
            self.guard = {"entity": _text(ev.get("entity")), "prompt": _text(ev.get("prompt")),
                          "score": _num(ev.get("score")), "mask_fraction": _num(ev.get("mask_fraction"))}
            return out + [{"type": "guard", **self.guard}]
        if kind == "frame":
            role = _role(ev)
            iq = ev.get("iq") or []
            if not isinstance(iq, list) or len(iq) > 4096 or not all(
                    isinstance(p, list) and len(p) == 2 and all(_num(v) is not None for v in p) for p in iq):
                raise BadEvent("iq must be a list of at most 4096 [re, im] pairs")
            self.n_frames[role] += 1
            f = {"role": role, "t": now - self.epoch, "index": self.n_frames[role], "msg_id": _num(ev.get("msg_id")),
                 "seq": _num(ev.get("seq")), "snr_db": _num(ev.get("snr_db")), "cfo_hz": _num(ev.get("cfo_hz")),
                 "crc_ok": bool(_flag(ev.get("crc_ok"))), "damaged": bool(_flag(ev.get("damaged")))}
            self.frames[role].append(f)
            if iq:
                self.iq[role] = iq
            return out + [{"type": "frame", **f, "iq": iq}]
        if kind == "link":
            role = _role(ev)
            keys = ("frames_detected", "frames_sent", "frames_received", "frames_lost", "crc_failures", "damaged",
                    "snr_est_db")
            self.links[role].update({k: _num(ev[k]) for k in keys if k in ev})
            return out + [{"type": "link", "role": role, **self.links[role]}]
        if kind == "result":
            role = _role(ev)
            r = {"role": role, "t": now - self.epoch, "label": str(ev.get("label", ""))[:200],
                 "entity": _text(ev.get("entity")), "identity_recognized": _flag(ev.get("identity_recognized")),
                 **{k: _num(ev.get(k)) for k in ("psnr", "psnr_region", "ssim", "ssim_region")}}
            self.results.append(r)
            return out + [{"type": "result", **r}]
        raise BadEvent(f"unknown event type {kind!r}")

    def check_lost(self, now: float | None = None) -> list[dict]:
        """Runs silent for :data:`LOST_AFTER_S`: marked lost; the messages for the browsers."""
        now = time.time() if now is None else now
        out = []
        for run in self.running():
            if now - run.last_seen > LOST_AFTER_S:
                run.status = "lost"
                run.message = (f"no word from the run for {LOST_AFTER_S:g} s: it was killed, crashed "
                               "or is stuck")
                out.append({"type": "run", **asdict(run)})
        return out

    def snapshot(self) -> dict:
        """Everything a page that connects now needs (images by reference)."""
        return {"type": "snapshot", "epoch": self.epoch, "runs": [asdict(r) for r in self.runs.values()],
                "images": list(self.images.values()), "guard": self.guard, "links": self.links,
                "frames": {r: list(f) for r, f in self.frames.items()}, "iq": self.iq,
                "results": list(self.results)}
