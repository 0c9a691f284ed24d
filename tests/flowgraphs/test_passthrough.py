"""The real GNU Radio pass-through flowgraph, as a subprocess, over ZMQ."""

import numpy as np

from privsem.transport import ZmqPull, ZmqPush, free_tcp_endpoint
from privsem.transport.gnuradio import Flowgraph


def test_zmq_passthrough_bytes_equal(gr_python):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(250_000) + 1j * rng.standard_normal(250_000)).astype(np.complex64)
    with ZmqPush("tcp://127.0.0.1:*", bind=True) as tx:
        out_addr = free_tcp_endpoint()
        with Flowgraph("zmq_passthrough", in_addr=tx.endpoint, out_addr=out_addr) as fg:
            with ZmqPull(out_addr, bind=False) as rx:
                tx.send(x)
                y = rx.recv(x.size, timeout_s=30)
            fg.check()
    assert y.dtype == np.complex64
    assert y.tobytes() == x.tobytes()
