"""A stand-in RX radio for tests: streams complex64 noise in real time at the sample rate
(standard deviation from ``--dev-args noise=…``) with whatever arrives on the "air" added
in, on a bound ZMQ PUSH like the real RX flowgraphs.

Started as ``fake_rx_gui`` (``--const-addr`` given) it also subscribes there like the
GUI flowgraphs' constellation sink and, instead of plotting, writes the number of
complex64 symbols privsem fed back to the file ``--dev-args const_log=PATH``."""

import time

import numpy as np
import zmq
from fake_args import parse

args = parse()
opts = dict(kv.split("=", 1) for kv in args.dev_args.split(",") if "=" in kv)
noise = float(opts.get("noise", 0.05))
ctx = zmq.Context()
out = ctx.socket(zmq.PUSH)
out.bind(args.zmq_addr)
air = ctx.socket(zmq.SUB)
air.setsockopt(zmq.SUBSCRIBE, b"")
air.connect(args.air)
const, shown = None, 0
if args.const_addr:
    const = ctx.socket(zmq.SUB)
    const.setsockopt(zmq.SUBSCRIBE, b"")
    const.connect(args.const_addr)
    with open(opts["const_log"], "w") as f:  # "streaming now" for the test
        f.write("0")
rng = np.random.default_rng(abs(hash(args.zmq_addr)) % 2**32)
pending = np.zeros(0, np.complex64)
chunk = int(args.samp_rate * 0.01)
t_next = time.monotonic()
while True:
    while air.poll(0):
        pending = np.concatenate([pending, np.frombuffer(air.recv(), np.complex64)])
    while const is not None and const.poll(0):
        shown += np.frombuffer(const.recv(), np.complex64).size
        with open(opts["const_log"], "w") as f:
            f.write(str(shown))
    y = (rng.standard_normal(chunk) + 1j * rng.standard_normal(chunk)) * noise / np.sqrt(2)
    take = min(chunk, pending.size)
    y[:take] += pending[:take]
    pending = pending[take:]
    out.send(y.astype(np.complex64).tobytes())
    t_next += 0.01
    time.sleep(max(0.0, t_next - time.monotonic()))
