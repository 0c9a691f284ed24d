#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: GNU Radio packet OFDM transmitter (bench peer)
# Author: privsem
# Description: gr-digital ofdm_tx on packets of a byte file, samples to a file: the peer privsem is benchmarked against
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




class gr_ofdm_peer_tx(gr.top_block):

    def __init__(self, in_file='/tmp/in.bin', out_file='/tmp/tx.cf32', packet_len=96):
        gr.top_block.__init__(self, "GNU Radio packet OFDM transmitter (bench peer)", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.in_file = in_file
        self.out_file = out_file
        self.packet_len = packet_len

        ##################################################
        # Blocks
        ##################################################

        self.digital_ofdm_tx_0 = digital.ofdm_tx(
            fft_len=64,
            cp_len=16,
            packet_length_tag_key="length",
            occupied_carriers=digital.ofdm_txrx._def_occupied_carriers,
            pilot_carriers=digital.ofdm_txrx._def_pilot_carriers,
            pilot_symbols=digital.ofdm_txrx._def_pilot_symbols,
            sync_word1=None,
            sync_word2=None,
            bps_header=1,
            bps_payload=2,
            rolloff=0,
            debug_log=False,
            scramble_bits=False)
        self.blocks_stream_to_tagged_stream_0 = blocks.stream_to_tagged_stream(gr.sizeof_char, 1, packet_len, "length")
        self.blocks_file_source_0 = blocks.file_source(gr.sizeof_char*1, in_file, False, 0, 0)
        self.blocks_file_source_0.set_begin_tag(pmt.PMT_NIL)
        self.blocks_file_sink_0 = blocks.file_sink(gr.sizeof_gr_complex*1, out_file, False)
        self.blocks_file_sink_0.set_unbuffered(False)


        ##################################################
        # Connections
        ##################################################
        self.connect((self.blocks_file_source_0, 0), (self.blocks_stream_to_tagged_stream_0, 0))
        self.connect((self.blocks_stream_to_tagged_stream_0, 0), (self.digital_ofdm_tx_0, 0))
        self.connect((self.digital_ofdm_tx_0, 0), (self.blocks_file_sink_0, 0))


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

    def get_packet_len(self):
        return self.packet_len

    def set_packet_len(self, packet_len):
        self.packet_len = packet_len
        self.blocks_stream_to_tagged_stream_0.set_packet_len(self.packet_len)
        self.blocks_stream_to_tagged_stream_0.set_packet_len_pmt(self.packet_len)



def argument_parser():
    description = 'gr-digital ofdm_tx on packets of a byte file, samples to a file: the peer privsem is benchmarked against'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--in-file", dest="in_file", type=str, default='/tmp/in.bin',
        help="Set Payload bytes file [default=%(default)r]")
    parser.add_argument(
        "--out-file", dest="out_file", type=str, default='/tmp/tx.cf32',
        help="Set Output complex64 file [default=%(default)r]")
    parser.add_argument(
        "--packet-len", dest="packet_len", type=intx, default=96,
        help="Set Packet length (bytes) [default=%(default)r]")
    return parser


def main(top_block_cls=gr_ofdm_peer_tx, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(in_file=options.in_file, out_file=options.out_file, packet_len=options.packet_len)

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
