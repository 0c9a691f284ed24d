#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: privsem HackRF RX
# Author: privsem
# Description: HackRF One (gr-soapy hackrf source, complex float32) to privsem (ZMQ PUSH).
# GNU Radio version: 3.10.5.1

from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import soapy
from gnuradio import zeromq




class hackrf_rx(gr.top_block):

    def __init__(self, amp=0, dev_args='', freq=2.45e9, gain=16, samp_rate=2e6, vga_gain=20, zmq_addr='tcp://127.0.0.1:5555'):
        gr.top_block.__init__(self, "privsem HackRF RX", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.amp = amp
        self.dev_args = dev_args
        self.freq = freq
        self.gain = gain
        self.samp_rate = samp_rate
        self.vga_gain = vga_gain
        self.zmq_addr = zmq_addr

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_push_sink_0 = zeromq.push_sink(gr.sizeof_gr_complex, 1, zmq_addr, 100, False, (-1))
        self.soapy_hackrf_source_0 = None
        dev = 'driver=hackrf'
        stream_args = ''
        tune_args = ['']
        settings = ['']

        self.soapy_hackrf_source_0 = soapy.source(dev, "fc32", 1, dev_args,
                                  stream_args, tune_args, settings)
        self.soapy_hackrf_source_0.set_sample_rate(0, samp_rate)
        self.soapy_hackrf_source_0.set_bandwidth(0, 0)
        self.soapy_hackrf_source_0.set_frequency(0, freq)
        self.soapy_hackrf_source_0.set_gain(0, 'AMP', bool(amp))
        self.soapy_hackrf_source_0.set_gain(0, 'LNA', min(max(gain, 0.0), 40.0))
        self.soapy_hackrf_source_0.set_gain(0, 'VGA', min(max(vga_gain, 0.0), 62.0))


        ##################################################
        # Connections
        ##################################################
        self.connect((self.soapy_hackrf_source_0, 0), (self.zeromq_push_sink_0, 0))


    def get_amp(self):
        return self.amp

    def set_amp(self, amp):
        self.amp = amp
        self.soapy_hackrf_source_0.set_gain(0, 'AMP', bool(self.amp))

    def get_dev_args(self):
        return self.dev_args

    def set_dev_args(self, dev_args):
        self.dev_args = dev_args

    def get_freq(self):
        return self.freq

    def set_freq(self, freq):
        self.freq = freq
        self.soapy_hackrf_source_0.set_frequency(0, self.freq)

    def get_gain(self):
        return self.gain

    def set_gain(self, gain):
        self.gain = gain
        self.soapy_hackrf_source_0.set_gain(0, 'LNA', min(max(self.gain, 0.0), 40.0))

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.soapy_hackrf_source_0.set_sample_rate(0, self.samp_rate)

    def get_vga_gain(self):
        return self.vga_gain

    def set_vga_gain(self, vga_gain):
        self.vga_gain = vga_gain
        self.soapy_hackrf_source_0.set_gain(0, 'VGA', min(max(self.vga_gain, 0.0), 62.0))

    def get_zmq_addr(self):
        return self.zmq_addr

    def set_zmq_addr(self, zmq_addr):
        self.zmq_addr = zmq_addr



def argument_parser():
    description = 'HackRF One (gr-soapy hackrf source, complex float32) to privsem (ZMQ PUSH).'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--amp", dest="amp", type=intx, default=0,
        help="Set RF amplifier (0/1) [default=%(default)r]")
    parser.add_argument(
        "--dev-args", dest="dev_args", type=str, default='',
        help="Set Device arguments [default=%(default)r]")
    parser.add_argument(
        "--freq", dest="freq", type=eng_float, default=eng_notation.num_to_str(float(2.45e9)),
        help="Set Centre frequency (Hz) [default=%(default)r]")
    parser.add_argument(
        "--gain", dest="gain", type=eng_float, default=eng_notation.num_to_str(float(16)),
        help="Set RX LNA (IF) gain (dB) [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set Sample rate (S/s) [default=%(default)r]")
    parser.add_argument(
        "--vga-gain", dest="vga_gain", type=eng_float, default=eng_notation.num_to_str(float(20)),
        help="Set RX VGA (baseband) gain (dB) [default=%(default)r]")
    parser.add_argument(
        "--zmq-addr", dest="zmq_addr", type=str, default='tcp://127.0.0.1:5555',
        help="Set ZMQ address [default=%(default)r]")
    return parser


def main(top_block_cls=hackrf_rx, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(amp=options.amp, dev_args=options.dev_args, freq=options.freq, gain=options.gain, samp_rate=options.samp_rate, vga_gain=options.vga_gain, zmq_addr=options.zmq_addr)

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
