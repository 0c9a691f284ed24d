"""The command line every radio flowgraph takes (the fake radios' shared part)."""

import argparse
import signal
import sys


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--const-addr", default=None)  # the GUI variants' extra parameter
    for a in ("--freq", "--samp-rate", "--gain"):
        p.add_argument(a, type=float)
    p.add_argument("--dev-args", default="")
    p.add_argument("--zmq-addr")
    p.add_argument("--air")
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))  # privsem stops flowgraphs with SIGINT
    return p.parse_args()
