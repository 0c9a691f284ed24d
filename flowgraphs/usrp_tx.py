#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: privsem USRP TX
# Author: privsem
# Description: privsem samples (ZMQ PULL) to a USRP (gr-uhd usrp_sink, complex float32). Samples are scaled by --scale (default 0.25) to fit the DAC's +-1 full scale.
# GNU Radio version: 3.10.5.1

from gnuradio import blocks
from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import uhd
import time
from gnuradio import zeromq




class usrp_tx(gr.top_block):

    def __init__(self, antenna='TX/RX', dev_args='type=b200', freq=2.45e9, gain=40, samp_rate=2e6, scale=0.25, zmq_addr='tcp://127.0.0.1:5555'):
        gr.top_block.__init__(self, "privsem USRP TX", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.antenna = antenna
        self.dev_args = dev_args
        self.freq = freq
        self.gain = gain
        self.samp_rate = samp_rate
        self.scale = scale
        self.zmq_addr = zmq_addr

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_pull_source_0 = zeromq.pull_source(gr.sizeof_gr_complex, 1, zmq_addr, 100, False, (-1))
        self.uhd_usrp_sink_0 = uhd.usrp_sink(
            ",".join((dev_args, "")),
            uhd.stream_args(
                cpu_format="fc32",
                args='',
                channels=list(range(0,1)),
            ),
            "",
        )
        self.uhd_usrp_sink_0.set_samp_rate(samp_rate)
        # No synchronization enforced.

        self.uhd_usrp_sink_0.set_center_freq(freq, 0)
        self.uhd_usrp_sink_0.set_antenna(antenna, 0)
        self.uhd_usrp_sink_0.set_gain(gain, 0)
        self.scale_0 = blocks.multiply_const_cc(scale)


        ##################################################
        # Connections
        ##################################################
        self.connect((self.scale_0, 0), (self.uhd_usrp_sink_0, 0))
        self.connect((self.zeromq_pull_source_0, 0), (self.scale_0, 0))


    def get_antenna(self):
        return self.antenna

    def set_antenna(self, antenna):
        self.antenna = antenna
        self.uhd_usrp_sink_0.set_antenna(self.antenna, 0)

    def get_dev_args(self):
        return self.dev_args

    def set_dev_args(self, dev_args):
        self.dev_args = dev_args

    def get_freq(self):
        return self.freq

    def set_freq(self, freq):
        self.freq = freq
        self.uhd_usrp_sink_0.set_center_freq(self.freq, 0)

    def get_gain(self):
        return self.gain

    def set_gain(self, gain):
        self.gain = gain
        self.uhd_usrp_sink_0.set_gain(self.gain, 0)

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.uhd_usrp_sink_0.set_samp_rate(self.samp_rate)

    def get_scale(self):
        return self.scale

    def set_scale(self, scale):
        self.scale = scale
        self.scale_0.set_k(self.scale)

    def get_zmq_addr(self):
        return self.zmq_addr

    def set_zmq_addr(self, zmq_addr):
        self.zmq_addr = zmq_addr



def argument_parser():
    description = "privsem samples (ZMQ PULL) to a USRP (gr-uhd usrp_sink, complex float32). Samples are scaled by --scale (default 0.25) to fit the DAC's +-1 full scale."
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--antenna", dest="antenna", type=str, default='TX/RX',
        help="Set Antenna [default=%(default)r]")
    parser.add_argument(
        "--dev-args", dest="dev_args", type=str, default='type=b200',
        help="Set Device arguments [default=%(default)r]")
    parser.add_argument(
        "--freq", dest="freq", type=eng_float, default=eng_notation.num_to_str(float(2.45e9)),
        help="Set Centre frequency (Hz) [default=%(default)r]")
    parser.add_argument(
        "--gain", dest="gain", type=eng_float, default=eng_notation.num_to_str(float(40)),
        help="Set Gain (dB) [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set Sample rate (S/s) [default=%(default)r]")
    parser.add_argument(
        "--scale", dest="scale", type=eng_float, default=eng_notation.num_to_str(float(0.25)),
        help="Set Amplitude scale [default=%(default)r]")
    parser.add_argument(
        "--zmq-addr", dest="zmq_addr", type=str, default='tcp://127.0.0.1:5555',
        help="Set ZMQ address [default=%(default)r]")
    return parser


def main(top_block_cls=usrp_tx, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(antenna=options.antenna, dev_args=options.dev_args, freq=options.freq, gain=options.gain, samp_rate=options.samp_rate, scale=options.scale, zmq_addr=options.zmq_addr)

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
