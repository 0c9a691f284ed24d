#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: GNU Radio packet OFDM receiver (bench peer)
# Author: privsem
# Description: gr-digital ofdm_rx on a complex64 file; CRC-passing packet bytes to a file
# GNU Radio version: 3.10.5.1

from gnuradio import blocks
import pmt
from gnuradio import digital
from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation




class gr_ofdm_peer_rx(gr.top_block):

    def __init__(self, in_file='/tmp/rx.cf32', out_file='/tmp/out.bin'):
        gr.top_block.__init__(self, "GNU Radio packet OFDM receiver (bench peer)", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.in_file = in_file
        self.out_file = out_file

        ##################################################
        # Blocks
        ##################################################

        self.digital_ofdm_rx_0 = digital.ofdm_rx(
            fft_len=64, cp_len=16,
            frame_length_tag_key='frame_'+"length",
            packet_length_tag_key="length",
            occupied_carriers=digital.ofdm_txrx._def_occupied_carriers,
            pilot_carriers=digital.ofdm_txrx._def_pilot_carriers,
            pilot_symbols=digital.ofdm_txrx._def_pilot_symbols,
            sync_word1=None,
            sync_word2=None,
            bps_header=1,
            bps_payload=2,
            debug_log=False,
            scramble_bits=False)
        self.blocks_file_source_0 = blocks.file_source(gr.sizeof_gr_complex*1, in_file, False, 0, 0)
        self.blocks_file_source_0.set_begin_tag(pmt.PMT_NIL)
        self.blocks_file_sink_0 = blocks.file_sink(gr.sizeof_char*1, out_file, False)
        self.blocks_file_sink_0.set_unbuffered(False)


        ##################################################
        # Connections
        ##################################################
        self.connect((self.blocks_file_source_0, 0), (self.digital_ofdm_rx_0, 0))
        self.connect((self.digital_ofdm_rx_0, 0), (self.blocks_file_sink_0, 0))


    def get_in_file(self):
        return self.in_file

    def set_in_file(self, in_file):
        self.in_file = in_file
        self.blocks_file_source_0.open(self.in_file, False)

    def get_out_file(self):
        return self.out_file

    def set_out_file(self, out_file):
        self.out_file = out_file
        self.blocks_file_sink_0.open(self.out_file)



def argument_parser():
    description = 'gr-digital ofdm_rx on a complex64 file; CRC-passing packet bytes to a file'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--in-file", dest="in_file", type=str, default='/tmp/rx.cf32',
        help="Set Input complex64 file [default=%(default)r]")
    parser.add_argument(
        "--out-file", dest="out_file", type=str, default='/tmp/out.bin',
        help="Set Decoded bytes file [default=%(default)r]")
    return parser


def main(top_block_cls=gr_ofdm_peer_rx, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(in_file=options.in_file, out_file=options.out_file)

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
