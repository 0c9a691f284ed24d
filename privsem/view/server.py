"""``privsem view``: a local web page that shows runs live (aiohttp, server-sent events).

Runs started with ``--view`` push events to a ZMQ PULL this server binds (see
:mod:`privsem.view.events`); :class:`~privsem.view.state.ViewState` keeps the picture,
and every open page gets the changes over one SSE stream (``GET /events``). Routes:

* ``/`` — the page (``static/``), ``/static/*`` its script and style
* ``/events`` — ``text/event-stream``: a ``snapshot`` first, then each change
* ``/image/{name}`` — the latest PNG of original | guarded | bob | eve
* ``/state`` — the snapshot as JSON, with the server's counters (for scripts and tests)

Nothing hangs: a browser that goes away is noticed at the next keep-alive, a page that
cannot keep up gets a fresh snapshot instead of a backlog, a run that goes silent is
declared lost after :data:`~privsem.view.events.LOST_AFTER_S`, and Ctrl-C tells open
pages the view stopped before it closes their streams.
"""

from __future__ import annotations

import asyncio
import errno
import json
import signal
import sys
from pathlib import Path

import zmq
import zmq.asyncio
from aiohttp import web

from ..errors import PrivsemError
from .events import DEFAULT_EVENTS
from .state import BadEvent, ViewState

STATIC = Path(__file__).parent / "static"
KEEPALIVE_S = 2.0
CLIENT_QUEUE = 512  # messages a page may lag behind before it is resynchronised
MAX_EVENT = 1 << 20  # bytes of JSON per event
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _no_constant(name: str):
    raise ValueError(name)


def log(msg: str) -> None:
    print(f"privsem view: {msg}", file=sys.stderr, flush=True)


class Hub:
    """The open pages: one bounded queue each."""

    def __init__(self) -> None:
        self.clients: set[asyncio.Queue] = set()

    def broadcast(self, messages: list[dict]) -> None:
        for q in list(self.clients):
            for m in messages:
                try:
                    q.put_nowait(m)
                except asyncio.QueueFull:  # a page that stalls: drop its backlog, send it the state
                    while not q.empty():
                        q.get_nowait()
                    q.put_nowait({"type": "resync"})
                    break

    def close(self, message: dict) -> None:
        for q in list(self.clients):
            while not q.empty():
                q.get_nowait()
            q.put_nowait(message)
            q.put_nowait(None)


class ViewServer:
    """The HTTP side and the events side, sharing one :class:`ViewState`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, events: str = DEFAULT_EVENTS) -> None:
        self.host, self.port, self.events = host, port, events
        self.state = ViewState()
        self.hub = Hub()
        self.url = ""
        self._stopping = asyncio.Event()

    # -- HTTP ------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/events", self._events)
        app.router.add_get("/image/{name}", self._image)
        app.router.add_get("/state", self._state)
        app.router.add_static("/static", STATIC)
        return app

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def _image(self, request: web.Request) -> web.Response:
        png = self.state.png.get(request.match_info["name"])
        if png is None:
            raise web.HTTPNotFound(text="no such image yet")
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})

    async def _state(self, request: web.Request) -> web.Response:
        snap = self.state.snapshot()
        snap.update(clients=len(self.hub.clients), bad_events=self.state.bad_events, events=self.events)
        return web.json_response(snap)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        q: asyncio.Queue = asyncio.Queue(CLIENT_QUEUE)
        self.hub.clients.add(q)
        peer = request.remote or "?"
        log(f"page opened from {peer} ({len(self.hub.clients)} open)")
        try:
            await self._send(resp, self.state.snapshot())
            while True:
                try:
                    m = await asyncio.wait_for(q.get(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    await resp.write(b": keep-alive\n\n")  # raises once the browser is gone
                    continue
                if m is None:
                    break
                await self._send(resp, self.state.snapshot() if m["type"] == "resync" else m)
        except (ConnectionError, RuntimeError):  # aiohttp: "Cannot write to closing transport"
            pass
        finally:
            self.hub.clients.discard(q)
            if not self._stopping.is_set():
                log(f"page from {peer} closed ({len(self.hub.clients)} open)")
        return resp

    @staticmethod
    async def _send(resp: web.StreamResponse, message: dict) -> None:
        await resp.write(b"data: " + json.dumps(message, allow_nan=False).encode() + b"\n\n")

    # -- events from runs ------------------------------------------------------------
    async def _listen(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            parts = await sock.recv_multipart()
            try:
                if len(parts) > 2 or len(parts[0]) > MAX_EVENT:
                    raise BadEvent("malformed message")
                try:
                    ev = json.loads(parts[0], parse_constant=_no_constant)
                except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                    raise BadEvent("not JSON (NaN and Infinity are not JSON either)") from None
                out = self.state.apply(ev, parts[1] if len(parts) == 2 else None)
            except (BadEvent, TypeError, KeyError, AttributeError) as e:  # the latter: odd shapes apply() missed
                self.state.bad_events += 1
                if self.state.bad_events <= 5:
                    log(f"ignored an event: {e}")
                continue
            self._log_runs(out)
            self.hub.broadcast(out)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            out = self.state.check_lost()
            if out:
                self._log_runs(out)
                self.hub.broadcast(out)

    @staticmethod
    def _log_runs(messages: list[dict]) -> None:
        for m in messages:
            if m["type"] == "run":
                what = f"run {m['id']} ({m['command']}, pid {m['pid']})"
                if m["status"] == "running":
                    log(f"{what} started" if not m["message"] else f"{what}: {m['message']}")
                else:
                    log(f"{what} ended: {m['status']}" + (f": {m['message']}" if m["message"] else ""))

    # -- life ------------------------------------------------------------------------
    async def serve(self, ready=None) -> None:
        """Bind both sides, serve until SIGINT/SIGTERM (or :meth:`stop`), then close.
        ``ready(url, events)`` is called once both are bound."""
        ctx = zmq.asyncio.Context.instance()
        sock = ctx.socket(zmq.PULL)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVHWM, 4096)
        try:
            sock.bind(self.events)
        except zmq.ZMQError as e:
            sock.close()
            hint = (" (another privsem view? start this one with --events tcp://127.0.0.1:PORT and run "
                    "with --view=that)") if e.errno == errno.EADDRINUSE else ""
            raise PrivsemError(f"cannot take the events endpoint {self.events}: {e.strerror}{hint}") from None
        self.events = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, shutdown_timeout=1.0)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            sock.close()
            why = ("the port is in use (another privsem view? pick another with --port)"
                   if e.errno == errno.EADDRINUSE else e.strerror or str(e))
            raise PrivsemError(f"cannot serve on {self.host}:{self.port}: {why}") from None
        port = runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}/"
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._stopping.set)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass
        tasks = [asyncio.create_task(self._listen(sock)), asyncio.create_task(self._watchdog())]
        if ready is not None:
            ready(self.url, self.events)
        try:
            await self._stopping.wait()
        finally:
            self.hub.close({"type": "server_stopping"})
            await asyncio.sleep(0.2)  # let the pages read it
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runner.cleanup()
            sock.close()

    def stop(self) -> None:
        self._stopping.set()


def run_view(host: str = "127.0.0.1", port: int = 8080, events: str = DEFAULT_EVENTS) -> None:
    """Serve until Ctrl-C (the CLI's ``privsem view``)."""
    if host not in LOOPBACK:
        log(f"warning: serving on {host}: the page shows the original, unguarded images to anyone "
            "who can reach it")

    def ready(url: str, ev: str) -> None:
        print(f"privsem view: serving {url} ; runs publish with --view={ev} ; Ctrl-C to stop", flush=True)

    server = ViewServer(host, port, events)
    asyncio.run(server.serve(ready))
    log("stopped")
