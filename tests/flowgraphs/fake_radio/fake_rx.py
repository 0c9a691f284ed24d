"""A stand-in RX radio for tests: streams complex64 noise in real time at the sample rate
(standard deviation from ``--dev-args noise=…``) with whatever arrives on the "air" added
in, on a bound ZMQ PUSH like the real RX flowgraphs."""

import time

import numpy as np
import zmq
from fake_args import parse

args = parse()
noise = float(dict(kv.split("=") for kv in args.dev_args.split(",") if "=" in kv).get("noise", 0.05))
ctx = zmq.Context()
out = ctx.socket(zmq.PUSH)
out.bind(args.zmq_addr)
air = ctx.socket(zmq.SUB)
air.setsockopt(zmq.SUBSCRIBE, b"")
air.connect(args.air)
rng = np.random.default_rng(abs(hash(args.zmq_addr)) % 2**32)
pending = np.zeros(0, np.complex64)
chunk = int(args.samp_rate * 0.01)
t_next = time.monotonic()
while True:
    while air.poll(0):
        pending = np.concatenate([pending, np.frombuffer(air.recv(), np.complex64)])
    y = (rng.standard_normal(chunk) + 1j * rng.standard_normal(chunk)) * noise / np.sqrt(2)
    take = min(chunk, pending.size)
    y[:take] += pending[:take]
    pending = pending[take:]
    out.send(y.astype(np.complex64).tobytes())
    t_next += 0.01
    time.sleep(max(0.0, t_next - time.monotonic()))
