import time

import numpy as np
import pytest

from privsem.errors import PrivsemError
from privsem.transport import ZmqPull, ZmqPush


def test_push_pull_round_trip_bytes_equal():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(100_000) + 1j * rng.standard_normal(100_000)).astype(np.complex64)
    with ZmqPush("tcp://127.0.0.1:*", bind=True, chunk=7_777) as tx:
        assert not tx.endpoint.endswith(":*")
        with ZmqPull(tx.endpoint, bind=False) as rx:
            tx.send(x)
            first = rx.recv(30_000, timeout_s=5)
            rest = rx.recv(70_000, timeout_s=5)
    assert np.concatenate([first, rest]).tobytes() == x.tobytes()


def test_recv_timeout_is_quick_and_clear():
    with ZmqPull("tcp://127.0.0.1:*", bind=True) as rx:
        t = time.monotonic()
        with pytest.raises(PrivsemError, match="timed out after 0.3 s.*0 of 10 samples"):
            rx.recv(10, timeout_s=0.3)
        assert time.monotonic() - t < 2.0


def test_bad_endpoint_is_a_user_error():
    with pytest.raises(PrivsemError, match="cannot bind"):
        ZmqPush("tcp://256.1.1.1:1", bind=True)
