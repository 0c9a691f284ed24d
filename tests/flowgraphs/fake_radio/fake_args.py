"""The command line every radio flowgraph takes (the fake radios' shared part)."""

import argparse
import signal
import sys


def parse(gui: bool = False):
    p = argparse.ArgumentParser()
    if gui:  # the GUI variants' extra parameter
        p.add_argument("--const-addr", required=True)
    for a in ("--freq", "--samp-rate", "--gain"):
        p.add_argument(a, type=float)
    p.add_argument("--dev-args", default="")
    p.add_argument("--zmq-addr")
    p.add_argument("--air")
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))  # privsem stops flowgraphs with SIGINT
    return p.parse_args()
