"""ZMQ PUSH/PULL of raw complex64 samples, as gr-zeromq's push_sink / pull_source send
them without tags: each message is a whole number of little-endian ``gr_complex``
items (8 bytes: float32 I, float32 Q), no header.
"""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import zmq

from ..errors import PrivsemError

ITEM = np.dtype("<c8")


def free_tcp_endpoint(host: str = "127.0.0.1") -> str:
    """An endpoint on a currently free TCP port, for a peer that must bind (gr-zeromq
    sinks always bind). Another process could take the port first; callers retry."""
    with socket.socket() as s:
        s.bind((host, 0))
        return f"tcp://{host}:{s.getsockname()[1]}"


class _Endpoint:
    def __init__(self, kind: int, endpoint: str, bind: bool) -> None:
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(kind)
        self._sock.setsockopt(zmq.LINGER, 0)
        try:
            if bind:
                self._sock.bind(endpoint)
                self.endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
            else:
                self._sock.connect(endpoint)
                self.endpoint = endpoint
        except zmq.ZMQError as e:
            self._sock.close()
            raise PrivsemError(f"ZMQ cannot {'bind' if bind else 'connect'} {endpoint}: {e}") from None

    def close(self) -> None:
        self._sock.close(linger=0)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ZmqPush(_Endpoint):
    """Sender. ``send(samples complex64 (n,))``; blocks at most ``timeout_s`` when no
    peer takes the data.

    Args:
        endpoint: e.g. ``tcp://127.0.0.1:*`` (bind; the real port is in ``.endpoint``).
        bind: bind (True) or connect (False).
        chunk: samples per ZMQ message.
    """

    def __init__(self, endpoint: str, bind: bool = True, chunk: int = 1 << 16, timeout_s: float = 10.0) -> None:
        super().__init__(zmq.PUSH, endpoint, bind)
        self.chunk = chunk
        self._sock.setsockopt(zmq.SNDTIMEO, int(timeout_s * 1000))

    def send(self, samples: np.ndarray) -> None:
        data = np.ascontiguousarray(samples, dtype=ITEM)
        for i in range(0, data.size, self.chunk):
            try:
                self._sock.send(data[i : i + self.chunk].tobytes(), copy=False)
            except zmq.Again:
                raise PrivsemError(f"ZMQ peer at {self.endpoint} is not taking samples "
                                   f"({i} of {data.size} sent)") from None


class ZmqPull(_Endpoint):
    """Receiver. ``recv(n, timeout_s) -> complex64 (n,)`` gathers messages until ``n``
    samples arrived (extra samples are kept for the next call)."""

    def __init__(self, endpoint: str, bind: bool = False) -> None:
        super().__init__(zmq.PULL, endpoint, bind)
        self._pending = np.zeros(0, ITEM)

    def recv_some(self, timeout_s: float) -> np.ndarray:
        """Whatever is there: the kept samples, else the next message, else (after
        ``timeout_s``) an empty array. complex64 ``(k,)``."""
        if self._pending.size:
            out, self._pending = self._pending, np.zeros(0, ITEM)
            return out.astype(np.complex64)
        if not self._sock.poll(int(timeout_s * 1000)):
            return np.zeros(0, np.complex64)
        msg = self._sock.recv(copy=False)
        if len(msg) % ITEM.itemsize:
            raise PrivsemError(f"ZMQ message of {len(msg)} bytes is not whole complex64 samples")
        return np.frombuffer(msg, dtype=ITEM).astype(np.complex64)

    def recv(self, n: int, timeout_s: float = 10.0) -> np.ndarray:
        parts, have = [self._pending], self._pending.size
        deadline = time.monotonic() + timeout_s
        while have < n:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sock.poll(int(left * 1000) + 1):
                if time.monotonic() >= deadline:
                    self._pending = np.concatenate(parts)
                    raise PrivsemError(f"timed out after {timeout_s:g} s on {self.endpoint}: "
                                       f"{have} of {n} samples arrived")
                continue
            msg = self._sock.recv(copy=False)
            if len(msg) % ITEM.itemsize:
                raise PrivsemError(f"ZMQ message of {len(msg)} bytes is not whole complex64 samples")
            chunk = np.frombuffer(msg, dtype=ITEM)
            parts.append(chunk)
            have += chunk.size
        data = np.concatenate(parts)
        self._pending = data[n:].copy()
        return data[:n].astype(np.complex64)


class Drain:
    """A thread that moves everything a :class:`ZmqPull` receives into a list of chunks
    (a flowgraph's PUSH sink stalls when nobody reads it). ``count`` samples so far;
    ``take()`` the complex64 ``(n,)`` received since the last take; ``error`` is what
    stopped the thread, if anything."""

    def __init__(self, pull: ZmqPull) -> None:
        self.pull, self.chunks, self.count = pull, [], 0
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                chunk = self.pull.recv_some(0.1)
                if chunk.size:
                    with self.lock:
                        self.chunks.append(chunk)
                        self.count += chunk.size
        except BaseException as e:  # noqa: BLE001 (reported by the main thread)
            self.error = e

    def take(self) -> np.ndarray:
        with self.lock:
            out = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.complex64)
            self.chunks = []
        return out

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2.0)


def exchange(tx: ZmqPush, samples: np.ndarray, pulls: dict[str, ZmqPull], counts: dict[str, int],
             timeout_s: float, check=None) -> dict[str, np.ndarray]:
    """Send ``samples`` on ``tx`` while draining every PULL in ``pulls`` until each has
    ``counts[name]`` samples (a flowgraph with several outputs stalls if one output is
    not read). ``check()`` is called while waiting (e.g. to notice a dead flowgraph).

    Raises:
        PrivsemError: on timeout, naming how much each output delivered.
    """
    import threading

    err: list[BaseException] = []

    def send() -> None:
        try:
            tx.send(samples)
        except BaseException as e:  # reported by the caller's thread
            err.append(e)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    poller = zmq.Poller()
    for p in pulls.values():
        poller.register(p._sock, zmq.POLLIN)
    got = {k: [p._pending] for k, p in pulls.items()}
    have = {k: p._pending.size for k, p in pulls.items()}
    deadline = time.monotonic() + timeout_s
    while any(have[k] < counts[k] for k in pulls):
        if err:
            raise err[0]
        if check is not None:
            check()
        if time.monotonic() > deadline:
            status = ", ".join(f"{k} {have[k]} of {counts[k]}" for k in pulls)
            raise PrivsemError(f"timed out after {timeout_s:g} s waiting for samples ({status})")
        events = dict(poller.poll(200))
        for k, p in pulls.items():
            if p._sock in events:
                chunk = np.frombuffer(p._sock.recv(copy=False), dtype=ITEM)
                got[k].append(chunk)
                have[k] += chunk.size
    sender.join(timeout=1)
    out = {}
    for k, p in pulls.items():
        data = np.concatenate(got[k])
        p._pending = data[counts[k]:].copy()
        out[k] = data[: counts[k]].astype(np.complex64)
    return out
