"""What a run tells ``privsem view``: the event wire format and the run's side of it.

A run started with ``--view`` (``loopback``, ``rx``, ``eval``) connects a ZMQ PUSH to
the view's events endpoint (:data:`DEFAULT_EVENTS`) and sends multipart messages: one
UTF-8 JSON object, or for images the JSON and the PNG bytes. Every event carries
``type``, ``run`` (the run's id) and ``t`` (Unix time, s). Types:

* ``run_start`` — ``command``, ``argv``, ``pid``, ``host``
* ``heartbeat`` — every :data:`HEARTBEAT_S`; a view that hears nothing for
  :data:`LOST_AFTER_S` says the run was lost (killed, crashed, or the host hung)
* ``image`` + PNG — ``name`` in :data:`IMAGE_NAMES`, ``caption``
* ``guard`` — ``entity``, ``prompt``, ``score``, ``mask_fraction``
* ``frame`` — ``role``, ``msg_id``, ``seq``, ``snr_db``, ``cfo_hz``, ``crc_ok``,
  ``damaged``, ``iq`` (up to :data:`IQ_POINTS` equalized symbols as ``[re, im]``)
* ``link`` — ``role``, ``frames_sent``, ``frames_received``, ``frames_lost``,
  ``crc_failures``, ``damaged``, ``snr_est_db``
* ``result`` — ``role``, ``label``, ``psnr``, ``psnr_region``, ``ssim``,
  ``ssim_region`` (dB / unitless, None where unknown), ``identity_recognized``
  (bool or None), ``entity``
* ``run_end`` — ``status`` (``ok`` | ``error`` | ``interrupted`` | ``crashed``),
  ``message``

Sending never blocks the run: with no view listening, events wait in a small queue and
are then dropped (the run does not care), and closing discards what is left.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import threading
import time
import uuid

import numpy as np
import zmq

from ..errors import PrivsemError

DEFAULT_EVENTS = "tcp://127.0.0.1:5590"
HEARTBEAT_S = 0.5
LOST_AFTER_S = 4.0
IMAGE_NAMES = ("original", "guarded", "bob", "eve")
ROLES = ("bob", "eve")
IQ_POINTS = 256
END_STATUSES = ("ok", "error", "interrupted", "crashed")
_QUEUE = 256  # messages held for a view that is not (yet) there


def png_bytes(image: np.ndarray) -> bytes:
    """float32 ``(H, W, 3)`` in [0, 1] (or a bool mask ``(H, W)``) → PNG file bytes."""
    from PIL import Image

    a = np.asarray(image)
    a = (a * 255) if a.dtype == bool else np.clip(a, 0, 1) * 255 + 0.5
    buf = io.BytesIO()
    Image.fromarray(a.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


class Publisher:
    """A run's events to a view. Use as a context manager around the run: it announces
    the run, beats while it lives, and ends it with the status the run ended with
    (``ok``; ``error`` for a :class:`~privsem.errors.PrivsemError`, ``interrupted`` for
    Ctrl-C, ``crashed`` for anything else).

    Args:
        endpoint: the view's events endpoint, e.g. ``tcp://127.0.0.1:5590``.
        command: what runs, e.g. ``"loopback"``.
        run: the run id; workers of one run (``eval --workers``) pass the parent's
            with ``announce=False``, so only the parent starts, beats and ends it.
    """

    def __init__(self, endpoint: str, command: str, run: str | None = None, announce: bool = True) -> None:
        self.endpoint, self.command = endpoint, command
        self.run = run or uuid.uuid4().hex[:12]
        self.announce = announce
        self.dropped = 0
        self._lock = threading.Lock()
        self._sock = zmq.Context.instance().socket(zmq.PUSH)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.SNDHWM, _QUEUE)
        try:
            self._sock.connect(endpoint)
        except zmq.ZMQError as e:
            self._sock.close()
            raise PrivsemError(f"--view {endpoint}: {e} (give an endpoint like {DEFAULT_EVENTS})") from None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # -- sending ---------------------------------------------------------------------
    def send(self, type: str, payload: bytes | None = None, **fields) -> None:
        """One event (``fields`` must be JSON-serialisable); dropped if the queue is full."""
        event = _clean({"type": type, "run": self.run, "t": time.time(), **fields})
        msg = [json.dumps(event, allow_nan=False).encode()]
        if payload is not None:
            msg.append(payload)
        with self._lock:
            if self._sock.closed:
                return
            try:
                self._sock.send_multipart(msg, flags=zmq.NOBLOCK)
            except zmq.Again:
                self.dropped += 1

    def image(self, name: str, image: np.ndarray, caption: str = "") -> None:
        """An image panel of the page: ``name`` in :data:`IMAGE_NAMES`, float32 ``(H, W, 3)``."""
        self.send("image", png_bytes(image), name=name, caption=caption,
                  shape=list(np.asarray(image).shape[:2]))

    def guard(self, g) -> None:
        """The guard's decision (a :class:`~privsem.guard.GuardResult`)."""
        self.send("guard", entity=g.entity, prompt=g.prompt, score=round(float(g.score), 4),
                  mask_fraction=round(float(np.mean(g.mask)), 4))

    def result(self, role: str, metrics: dict, label: str = "", entity: str | None = None) -> None:
        """A recovered image's scores (the keys of :func:`~privsem.metrics.report.role_metrics`)."""
        self.send("result", role=role, label=label, entity=entity,
                  **{k: metrics.get(k) for k in ("psnr", "psnr_region", "ssim", "ssim_region")},
                  identity_recognized=metrics.get("identity_recognized"))

    # -- the run's life --------------------------------------------------------------
    def __enter__(self) -> Publisher:
        if self.announce:
            self.send("run_start", command=self.command, argv=sys.argv[1:], pid=os.getpid(),
                      host=socket.gethostname())
            self._beat = threading.Thread(target=self._heartbeat, name="privsem-view-heartbeat", daemon=True)
            self._beat.start()
        return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self.send("heartbeat")

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            status, message = "ok", ""
        elif issubclass(kind, KeyboardInterrupt):
            status, message = "interrupted", "interrupted (Ctrl-C)"
        elif issubclass(kind, PrivsemError):
            status, message = "error", str(exc)
        else:
            status, message = "crashed", f"{kind.__name__}: {exc}"
        self.close(status, message)

    def close(self, status: str = "ok", message: str = "") -> None:
        """End the run (once) and close the socket without waiting for the view."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(2 * HEARTBEAT_S)
        if self.announce and not self._sock.closed:
            self.send("run_end", status=status, message=" ".join(str(message).splitlines()),
                      dropped=self.dropped)
            # give the I/O thread a moment to hand over run_end; never wait for an absent view
            with self._lock:
                self._sock.setsockopt(zmq.LINGER, 200)
        with self._lock:
            self._sock.close()


class NullPublisher:
    """Stands in for :class:`Publisher` when there is no ``--view``: every call does nothing."""

    run = None

    def __getattr__(self, name):
        return lambda *a, **k: None

    def __enter__(self) -> NullPublisher:
        return self

    def __exit__(self, *exc) -> None:
        return None


def publisher(endpoint: str | None, command: str, run: str | None = None, announce: bool = True):
    """A :class:`Publisher` to ``endpoint``, or a :class:`NullPublisher` when it is None."""
    return NullPublisher() if endpoint is None else Publisher(endpoint, command, run, announce)


def _clean(o):
    """JSON-ready: numpy scalars and arrays to Python, NaN and ±inf to None."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float):
        return o if np.isfinite(o) else None
    if o is None or isinstance(o, (bool, int, str)):
        return o
    return str(o)
