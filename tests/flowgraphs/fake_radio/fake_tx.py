"""A stand-in TX radio for tests (runs under the GNU Radio interpreter like the real
flowgraphs, same command line): samples from privsem's ZMQ PUSH go onto a ZMQ PUB "air",
scaled by the TX gain (0 dB at gain 50)."""

import time

import numpy as np
import zmq
from fake_args import parse

args = parse()
ctx = zmq.Context()
src = ctx.socket(zmq.PULL)
src.connect(args.zmq_addr)
air = ctx.socket(zmq.PUB)
air.bind(args.air)
time.sleep(0.5)  # let the receivers' subscriptions arrive
scale = np.float32(10 ** ((args.gain - 50) / 20))
while True:
    if src.poll(100):
        x = np.frombuffer(src.recv(), np.complex64) * scale
        air.send(x.astype(np.complex64).tobytes())
