"""The stand-in RX radio's "GUI variant" (what ``privsem rx --radio ... --gui`` starts):
the same radio, plus a ZMQ SUB on ``--const-addr`` like the real GUI flowgraphs'
constellation sink. Instead of plotting, it counts the complex64 symbols privsem feeds
back and writes the count to the file named by ``--dev-args const_log=PATH``."""

import time

import numpy as np
import zmq
from fake_args import parse

args = parse(gui=True)
opts = dict(kv.split("=", 1) for kv in args.dev_args.split(",") if "=" in kv)
noise, log = float(opts.get("noise", 0.05)), opts["const_log"]
ctx = zmq.Context()
out = ctx.socket(zmq.PUSH)
out.bind(args.zmq_addr)
air = ctx.socket(zmq.SUB)
air.setsockopt(zmq.SUBSCRIBE, b"")
air.connect(args.air)
const = ctx.socket(zmq.SUB)
const.setsockopt(zmq.SUBSCRIBE, b"")
const.connect(args.const_addr)
rng = np.random.default_rng(1)
pending = np.zeros(0, np.complex64)
chunk, shown = int(args.samp_rate * 0.01), 0
t_next = time.monotonic()
while True:
    while air.poll(0):
        pending = np.concatenate([pending, np.frombuffer(air.recv(), np.complex64)])
    while const.poll(0):
        shown += np.frombuffer(const.recv(), np.complex64).size
        with open(log, "w") as f:
            f.write(str(shown))
    y = (rng.standard_normal(chunk) + 1j * rng.standard_normal(chunk)) * noise / np.sqrt(2)
    take = min(chunk, pending.size)
    y[:take] += pending[:take]
    pending = pending[take:]
    out.send(y.astype(np.complex64).tobytes())
    t_next += 0.01
    time.sleep(max(0.0, t_next - time.monotonic()))
