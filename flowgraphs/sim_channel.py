#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: privsem simulated channel (Bob and Eve)
# Author: privsem
# Description: Transmitter samples (ZMQ PULL) to two independent branches, Bob and Eve, each: delay, multipath FIR, AWGN, gain, CFO; to ZMQ PUSH. Keeps the sample count (output = input + delay leading samples). No throttle: ZMQ back-pressure paces it.
# GNU Radio version: 3.10.5.1

from gnuradio import analog
from gnuradio import blocks
from gnuradio import filter
from gnuradio.filter import firdes
from gnuradio import gr
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import zeromq
import math




class sim_channel(gr.top_block):

    def __init__(self, bob_addr='tcp://127.0.0.1:5556', bob_cfo_hz=0, bob_delay=0, bob_gain=1, bob_snr_db=30, bob_taps='1', eve_addr='tcp://127.0.0.1:5557', eve_cfo_hz=0, eve_delay=0, eve_gain=1, eve_snr_db=10, eve_taps='1', samp_rate=2e6, seed=0, tx_addr='tcp://127.0.0.1:5555'):
        gr.top_block.__init__(self, "privsem simulated channel (Bob and Eve)", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.bob_addr = bob_addr
        self.bob_cfo_hz = bob_cfo_hz
        self.bob_delay = bob_delay
        self.bob_gain = bob_gain
        self.bob_snr_db = bob_snr_db
        self.bob_taps = bob_taps
        self.eve_addr = eve_addr
        self.eve_cfo_hz = eve_cfo_hz
        self.eve_delay = eve_delay
        self.eve_gain = eve_gain
        self.eve_snr_db = eve_snr_db
        self.eve_taps = eve_taps
        self.samp_rate = samp_rate
        self.seed = seed
        self.tx_addr = tx_addr

        ##################################################
        # Variables
        ##################################################
        self.eve_taps_list = eve_taps_list = [complex(t.strip()) for t in eve_taps.split(',')]
        self.bob_taps_list = bob_taps_list = [complex(t.strip()) for t in bob_taps.split(',')]

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_pull_source_0 = zeromq.pull_source(gr.sizeof_gr_complex, 1, tx_addr, 100, False, (-1))
        self.eve_push_0 = zeromq.push_sink(gr.sizeof_gr_complex, 1, eve_addr, 100, False, (-1))
        self.eve_noise_0 = analog.noise_source_c(analog.GR_GAUSSIAN, (10**(-eve_snr_db/20)), (2*seed+2))
        self.eve_multipath_0 = filter.fir_filter_ccc(1, eve_taps_list)
        self.eve_multipath_0.declare_sample_delay(0)
        self.eve_gain_0 = blocks.multiply_const_cc(eve_gain)
        self.eve_delay_0 = blocks.delay(gr.sizeof_gr_complex*1, eve_delay)
        self.eve_cfo_0 = blocks.rotator_cc((2*math.pi*eve_cfo_hz/samp_rate), False)
        self.eve_awgn_0 = blocks.sub_cc(1)
        self.bob_push_0 = zeromq.push_sink(gr.sizeof_gr_complex, 1, bob_addr, 100, False, (-1))
        self.bob_noise_0 = analog.noise_source_c(analog.GR_GAUSSIAN, (10**(-bob_snr_db/20)), (2*seed+1))
        self.bob_multipath_0 = filter.fir_filter_ccc(1, bob_taps_list)
        self.bob_multipath_0.declare_sample_delay(0)
        self.bob_gain_0 = blocks.multiply_const_cc(bob_gain)
        self.bob_delay_0 = blocks.delay(gr.sizeof_gr_complex*1, bob_delay)
        self.bob_cfo_0 = blocks.rotator_cc((2*math.pi*bob_cfo_hz/samp_rate), False)
        self.bob_awgn_0 = blocks.sub_cc(1)


        ##################################################
        # Connections
        ##################################################
        self.connect((self.bob_awgn_0, 0), (self.bob_gain_0, 0))
        self.connect((self.bob_cfo_0, 0), (self.bob_push_0, 0))
        self.connect((self.bob_delay_0, 0), (self.bob_multipath_0, 0))
        self.connect((self.bob_gain_0, 0), (self.bob_cfo_0, 0))
        self.connect((self.bob_multipath_0, 0), (self.bob_awgn_0, 0))
        self.connect((self.bob_noise_0, 0), (self.bob_awgn_0, 1))
        self.connect((self.eve_awgn_0, 0), (self.eve_gain_0, 0))
        self.connect((self.eve_cfo_0, 0), (self.eve_push_0, 0))
        self.connect((self.eve_delay_0, 0), (self.eve_multipath_0, 0))
        self.connect((self.eve_gain_0, 0), (self.eve_cfo_0, 0))
        self.connect((self.eve_multipath_0, 0), (self.eve_awgn_0, 0))
        self.connect((self.eve_noise_0, 0), (self.eve_awgn_0, 1))
        self.connect((self.zeromq_pull_source_0, 0), (self.bob_delay_0, 0))
        self.connect((self.zeromq_pull_source_0, 0), (self.eve_delay_0, 0))


    def get_bob_addr(self):
        return self.bob_addr

    def set_bob_addr(self, bob_addr):
        self.bob_addr = bob_addr

    def get_bob_cfo_hz(self):
        return self.bob_cfo_hz

    def set_bob_cfo_hz(self, bob_cfo_hz):
        self.bob_cfo_hz = bob_cfo_hz
        self.bob_cfo_0.set_phase_inc((2*math.pi*self.bob_cfo_hz/self.samp_rate))

    def get_bob_delay(self):
        return self.bob_delay

    def set_bob_delay(self, bob_delay):
        self.bob_delay = bob_delay
        self.bob_delay_0.set_dly(int(self.bob_delay))

    def get_bob_gain(self):
        return self.bob_gain

    def set_bob_gain(self, bob_gain):
        self.bob_gain = bob_gain
        self.bob_gain_0.set_k(self.bob_gain)

    def get_bob_snr_db(self):
        return self.bob_snr_db

    def set_bob_snr_db(self, bob_snr_db):
        self.bob_snr_db = bob_snr_db
        self.bob_noise_0.set_amplitude((10**(-self.bob_snr_db/20)))

    def get_bob_taps(self):
        return self.bob_taps

    def set_bob_taps(self, bob_taps):
        self.bob_taps = bob_taps

    def get_eve_addr(self):
        return self.eve_addr

    def set_eve_addr(self, eve_addr):
        self.eve_addr = eve_addr

    def get_eve_cfo_hz(self):
        return self.eve_cfo_hz

    def set_eve_cfo_hz(self, eve_cfo_hz):
        self.eve_cfo_hz = eve_cfo_hz
        self.eve_cfo_0.set_phase_inc((2*math.pi*self.eve_cfo_hz/self.samp_rate))

    def get_eve_delay(self):
        return self.eve_delay

    def set_eve_delay(self, eve_delay):
        self.eve_delay = eve_delay
        self.eve_delay_0.set_dly(int(self.eve_delay))

    def get_eve_gain(self):
        return self.eve_gain

    def set_eve_gain(self, eve_gain):
        self.eve_gain = eve_gain
        self.eve_gain_0.set_k(self.eve_gain)

    def get_eve_snr_db(self):
        return self.eve_snr_db

    def set_eve_snr_db(self, eve_snr_db):
        self.eve_snr_db = eve_snr_db
        self.eve_noise_0.set_amplitude((10**(-self.eve_snr_db/20)))

    def get_eve_taps(self):
        return self.eve_taps

    def set_eve_taps(self, eve_taps):
        self.eve_taps = eve_taps

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.bob_cfo_0.set_phase_inc((2*math.pi*self.bob_cfo_hz/self.samp_rate))
        self.eve_cfo_0.set_phase_inc((2*math.pi*self.eve_cfo_hz/self.samp_rate))

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_tx_addr(self):
        return self.tx_addr

    def set_tx_addr(self, tx_addr):
        self.tx_addr = tx_addr

    def get_eve_taps_list(self):
        return self.eve_taps_list

    def set_eve_taps_list(self, eve_taps_list):
        self.eve_taps_list = eve_taps_list
        self.eve_multipath_0.set_taps(self.eve_taps_list)

    def get_bob_taps_list(self):
        return self.bob_taps_list

    def set_bob_taps_list(self, bob_taps_list):
        self.bob_taps_list = bob_taps_list
        self.bob_multipath_0.set_taps(self.bob_taps_list)



def argument_parser():
    description = 'Transmitter samples (ZMQ PULL) to two independent branches, Bob and Eve, each: delay, multipath FIR, AWGN, gain, CFO; to ZMQ PUSH. Keeps the sample count (output = input + delay leading samples). No throttle: ZMQ back-pressure paces it.'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--bob-addr", dest="bob_addr", type=str, default='tcp://127.0.0.1:5556',
        help="Set Bob address [default=%(default)r]")
    parser.add_argument(
        "--bob-cfo-hz", dest="bob_cfo_hz", type=eng_float, default=eng_notation.num_to_str(float(0)),
        help="Set Bob CFO (Hz) [default=%(default)r]")
    parser.add_argument(
        "--bob-delay", dest="bob_delay", type=intx, default=0,
        help="Set Bob delay (samples) [default=%(default)r]")
    parser.add_argument(
        "--bob-gain", dest="bob_gain", type=eng_float, default=eng_notation.num_to_str(float(1)),
        help="Set Bob gain (linear) [default=%(default)r]")
    parser.add_argument(
        "--bob-snr-db", dest="bob_snr_db", type=eng_float, default=eng_notation.num_to_str(float(30)),
        help="Set Bob SNR (dB) [default=%(default)r]")
    parser.add_argument(
        "--bob-taps", dest="bob_taps", type=str, default='1',
        help="Set Bob multipath taps [default=%(default)r]")
    parser.add_argument(
        "--eve-addr", dest="eve_addr", type=str, default='tcp://127.0.0.1:5557',
        help="Set Eve address [default=%(default)r]")
    parser.add_argument(
        "--eve-cfo-hz", dest="eve_cfo_hz", type=eng_float, default=eng_notation.num_to_str(float(0)),
        help="Set Eve CFO (Hz) [default=%(default)r]")
    parser.add_argument(
        "--eve-delay", dest="eve_delay", type=intx, default=0,
        help="Set Eve delay (samples) [default=%(default)r]")
    parser.add_argument(
        "--eve-gain", dest="eve_gain", type=eng_float, default=eng_notation.num_to_str(float(1)),
        help="Set Eve gain (linear) [default=%(default)r]")
    parser.add_argument(
        "--eve-snr-db", dest="eve_snr_db", type=eng_float, default=eng_notation.num_to_str(float(10)),
        help="Set Eve SNR (dB) [default=%(default)r]")
    parser.add_argument(
        "--eve-taps", dest="eve_taps", type=str, default='1',
        help="Set Eve multipath taps [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set Sample rate (S/s) [default=%(default)r]")
    parser.add_argument(
        "--seed", dest="seed", type=intx, default=0,
        help="Set Noise seed [default=%(default)r]")
    parser.add_argument(
        "--tx-addr", dest="tx_addr", type=str, default='tcp://127.0.0.1:5555',
        help="Set Transmitter address [default=%(default)r]")
    return parser


def main(top_block_cls=sim_channel, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(bob_addr=options.bob_addr, bob_cfo_hz=options.bob_cfo_hz, bob_delay=options.bob_delay, bob_gain=options.bob_gain, bob_snr_db=options.bob_snr_db, bob_taps=options.bob_taps, eve_addr=options.eve_addr, eve_cfo_hz=options.eve_cfo_hz, eve_delay=options.eve_delay, eve_gain=options.eve_gain, eve_snr_db=options.eve_snr_db, eve_taps=options.eve_taps, samp_rate=options.samp_rate, seed=options.seed, tx_addr=options.tx_addr)

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
