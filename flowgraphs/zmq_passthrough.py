#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: privsem ZMQ pass-through
# Author: privsem
# Description: Smoke test: complex64 samples in over ZMQ PULL, out unchanged over ZMQ PUSH
# GNU Radio version: 3.10.5.1

from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import zeromq




class zmq_passthrough(gr.top_block):

    def __init__(self, in_addr='tcp://127.0.0.1:5555', out_addr='tcp://127.0.0.1:5556'):
        gr.top_block.__init__(self, "privsem ZMQ pass-through", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.in_addr = in_addr
        self.out_addr = out_addr

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_push_sink_0 = zeromq.push_sink(gr.sizeof_gr_complex, 1, out_addr, 100, False, (-1))
        self.zeromq_pull_source_0 = zeromq.pull_source(gr.sizeof_gr_complex, 1, in_addr, 100, False, (-1))


        ##################################################
        # Connections
        ##################################################
        self.connect((self.zeromq_pull_source_0, 0), (self.zeromq_push_sink_0, 0))


    def get_in_addr(self):
        return self.in_addr

    def set_in_addr(self, in_addr):
        self.in_addr = in_addr

    def get_out_addr(self):
        return self.out_addr

    def set_out_addr(self, out_addr):
        self.out_addr = out_addr



def argument_parser():
    description = 'Smoke test: complex64 samples in over ZMQ PULL, out unchanged over ZMQ PUSH'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--in-addr", dest="in_addr", type=str, default='tcp://127.0.0.1:5555',
        help="Set Input address [default=%(default)r]")
    parser.add_argument(
        "--out-addr", dest="out_addr", type=str, default='tcp://127.0.0.1:5556',
        help="Set Output address [default=%(default)r]")
    return parser


def main(top_block_cls=zmq_passthrough, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(in_addr=options.in_addr, out_addr=options.out_addr)

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()

        sys.exit(0)

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    tb.start()

    tb.wait()


if __name__ == '__main__':
    main()
