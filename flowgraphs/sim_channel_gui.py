#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: privsem simulated channel (Bob and Eve) — live
# Author: privsem
# Description: sim_channel (same blocks, seeds and sample-exact outputs) plus Qt GUI: spectrum and waterfalls of what Bob and Eve receive, and the equalized constellations privsem publishes over ZMQ PUB (bob_const_addr, eve_const_addr).
# GNU Radio version: 3.10.5.1

from packaging.version import Version as StrictVersion

if __name__ == '__main__':
    import ctypes
    import sys
    if sys.platform.startswith('linux'):
        try:
            x11 = ctypes.cdll.LoadLibrary('libX11.so')
            x11.XInitThreads()
        except:
            print("Warning: failed to XInitThreads()")

from PyQt5 import Qt
from gnuradio import qtgui
from gnuradio.filter import firdes
import sip
from gnuradio import analog
from gnuradio import blocks
from gnuradio import filter
from gnuradio import gr
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import zeromq
import math


def snipfcn_window_size(self):
    if not self.settings.value("geometry"):
        self.resize(1300, 820)


def snippets_main_after_init(tb):
    snipfcn_window_size(tb)

from gnuradio import qtgui

class sim_channel_gui(gr.top_block, Qt.QWidget):

    def __init__(self, bob_addr='tcp://127.0.0.1:5556', bob_cfo_hz=0, bob_const_addr='tcp://127.0.0.1:5580', bob_delay=0, bob_gain=1, bob_snr_db=30, bob_taps='1', eve_addr='tcp://127.0.0.1:5557', eve_cfo_hz=0, eve_const_addr='tcp://127.0.0.1:5581', eve_delay=0, eve_gain=1, eve_snr_db=10, eve_taps='1', samp_rate=2e6, seed=0, tx_addr='tcp://127.0.0.1:5555'):
        gr.top_block.__init__(self, "privsem simulated channel (Bob and Eve) — live", catch_exceptions=True)
        Qt.QWidget.__init__(self)
        self.setWindowTitle("privsem simulated channel (Bob and Eve) — live")
        qtgui.util.check_set_qss()
        try:
            self.setWindowIcon(Qt.QIcon.fromTheme('gnuradio-grc'))
        except:
            pass
        self.top_scroll_layout = Qt.QVBoxLayout()
        self.setLayout(self.top_scroll_layout)
        self.top_scroll = Qt.QScrollArea()
        self.top_scroll.setFrameStyle(Qt.QFrame.NoFrame)
        self.top_scroll_layout.addWidget(self.top_scroll)
        self.top_scroll.setWidgetResizable(True)
        self.top_widget = Qt.QWidget()
        self.top_scroll.setWidget(self.top_widget)
        self.top_layout = Qt.QVBoxLayout(self.top_widget)
        self.top_grid_layout = Qt.QGridLayout()
        self.top_layout.addLayout(self.top_grid_layout)

        self.settings = Qt.QSettings("GNU Radio", "sim_channel_gui")

        try:
            if StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
                self.restoreGeometry(self.settings.value("geometry").toByteArray())
            else:
                self.restoreGeometry(self.settings.value("geometry"))
        except:
            pass

        ##################################################
        # Parameters
        ##################################################
        self.bob_addr = bob_addr
        self.bob_cfo_hz = bob_cfo_hz
        self.bob_const_addr = bob_const_addr
        self.bob_delay = bob_delay
        self.bob_gain = bob_gain
        self.bob_snr_db = bob_snr_db
        self.bob_taps = bob_taps
        self.eve_addr = eve_addr
        self.eve_cfo_hz = eve_cfo_hz
        self.eve_const_addr = eve_const_addr
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
        self.spectrum_0 = qtgui.freq_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            0, #fc
            samp_rate, #bw
            "Received spectrum (Bob, Eve)", #name
            2,
            None # parent
        )
        self.spectrum_0.set_update_time(0.2)
        self.spectrum_0.set_y_axis((-100), 0)
        self.spectrum_0.set_y_label('Relative Gain', 'dB')
        self.spectrum_0.set_trigger_mode(qtgui.TRIG_MODE_FREE, 0.0, 0, "")
        self.spectrum_0.enable_autoscale(False)
        self.spectrum_0.enable_grid(True)
        self.spectrum_0.set_fft_average(0.2)
        self.spectrum_0.enable_axis_labels(True)
        self.spectrum_0.enable_control_panel(False)
        self.spectrum_0.set_fft_window_normalized(False)



        labels = ["Bob", "Eve", '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["blue", "red", "green", "black", "cyan",
            "magenta", "yellow", "dark red", "dark green", "dark blue"]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(2):
            if len(labels[i]) == 0:
                self.spectrum_0.set_line_label(i, "Data {0}".format(i))
            else:
                self.spectrum_0.set_line_label(i, labels[i])
            self.spectrum_0.set_line_width(i, widths[i])
            self.spectrum_0.set_line_color(i, colors[i])
            self.spectrum_0.set_line_alpha(i, alphas[i])

        self._spectrum_0_win = sip.wrapinstance(self.spectrum_0.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._spectrum_0_win, 0, 0, 1, 1)
        for r in range(0, 1):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.eve_waterfall_0 = qtgui.waterfall_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            0, #fc
            samp_rate, #bw
            "Eve waterfall", #name
            1, #number of inputs
            None # parent
        )
        self.eve_waterfall_0.set_update_time(0.1)
        self.eve_waterfall_0.enable_grid(False)
        self.eve_waterfall_0.enable_axis_labels(True)



        labels = ["Eve", '', '', '', '',
                  '', '', '', '', '']
        colors = [0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
                  1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.eve_waterfall_0.set_line_label(i, "Data {0}".format(i))
            else:
                self.eve_waterfall_0.set_line_label(i, labels[i])
            self.eve_waterfall_0.set_color_map(i, colors[i])
            self.eve_waterfall_0.set_line_alpha(i, alphas[i])

        self.eve_waterfall_0.set_intensity_range(-90, -20)

        self._eve_waterfall_0_win = sip.wrapinstance(self.eve_waterfall_0.qwidget(), Qt.QWidget)

        self.top_grid_layout.addWidget(self._eve_waterfall_0_win, 1, 1, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.eve_push_0 = zeromq.push_sink(gr.sizeof_gr_complex, 1, eve_addr, 100, False, (-1))
        self.eve_noise_0 = analog.noise_source_c(analog.GR_GAUSSIAN, (10**(-eve_snr_db/20)), (2*seed+2))
        self.eve_multipath_0 = filter.fir_filter_ccc(1, eve_taps_list)
        self.eve_multipath_0.declare_sample_delay(0)
        self.eve_gain_0 = blocks.multiply_const_cc(eve_gain)
        self.eve_delay_0 = blocks.delay(gr.sizeof_gr_complex*1, eve_delay)
        self.eve_const_sub_0 = zeromq.sub_source(gr.sizeof_gr_complex, 1, eve_const_addr, 100, False, 10, '')
        self.eve_cfo_0 = blocks.rotator_cc((2*math.pi*eve_cfo_hz/samp_rate), False)
        self.eve_awgn_0 = blocks.sub_cc(1)
        self.constellation_0 = qtgui.const_sink_c(
            1024, #size
            "Equalized constellation (from privsem)", #name
            2, #number of inputs
            None # parent
        )
        self.constellation_0.set_update_time(0.2)
        self.constellation_0.set_y_axis((-2), 2)
        self.constellation_0.set_x_axis((-2), 2)
        self.constellation_0.set_trigger_mode(qtgui.TRIG_MODE_FREE, qtgui.TRIG_SLOPE_POS, 0.0, 0, "")
        self.constellation_0.enable_autoscale(False)
        self.constellation_0.enable_grid(True)
        self.constellation_0.enable_axis_labels(True)


        labels = ["Bob", "Eve", '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["blue", "red", "red", "red", "red",
            "red", "red", "red", "red", "red"]
        styles = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        markers = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        alphas = [0.6, 0.6, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(2):
            if len(labels[i]) == 0:
                self.constellation_0.set_line_label(i, "Data {0}".format(i))
            else:
                self.constellation_0.set_line_label(i, labels[i])
            self.constellation_0.set_line_width(i, widths[i])
            self.constellation_0.set_line_color(i, colors[i])
            self.constellation_0.set_line_style(i, styles[i])
            self.constellation_0.set_line_marker(i, markers[i])
            self.constellation_0.set_line_alpha(i, alphas[i])

        self._constellation_0_win = sip.wrapinstance(self.constellation_0.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._constellation_0_win, 0, 1, 1, 1)
        for r in range(0, 1):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.bob_waterfall_0 = qtgui.waterfall_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            0, #fc
            samp_rate, #bw
            "Bob waterfall", #name
            1, #number of inputs
            None # parent
        )
        self.bob_waterfall_0.set_update_time(0.1)
        self.bob_waterfall_0.enable_grid(False)
        self.bob_waterfall_0.enable_axis_labels(True)



        labels = ["Bob", '', '', '', '',
                  '', '', '', '', '']
        colors = [0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
                  1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.bob_waterfall_0.set_line_label(i, "Data {0}".format(i))
            else:
                self.bob_waterfall_0.set_line_label(i, labels[i])
            self.bob_waterfall_0.set_color_map(i, colors[i])
            self.bob_waterfall_0.set_line_alpha(i, alphas[i])

        self.bob_waterfall_0.set_intensity_range(-90, -20)

        self._bob_waterfall_0_win = sip.wrapinstance(self.bob_waterfall_0.qwidget(), Qt.QWidget)

        self.top_grid_layout.addWidget(self._bob_waterfall_0_win, 1, 0, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.bob_push_0 = zeromq.push_sink(gr.sizeof_gr_complex, 1, bob_addr, 100, False, (-1))
        self.bob_noise_0 = analog.noise_source_c(analog.GR_GAUSSIAN, (10**(-bob_snr_db/20)), (2*seed+1))
        self.bob_multipath_0 = filter.fir_filter_ccc(1, bob_taps_list)
        self.bob_multipath_0.declare_sample_delay(0)
        self.bob_gain_0 = blocks.multiply_const_cc(bob_gain)
        self.bob_delay_0 = blocks.delay(gr.sizeof_gr_complex*1, bob_delay)
        self.bob_const_sub_0 = zeromq.sub_source(gr.sizeof_gr_complex, 1, bob_const_addr, 100, False, 10, '')
        self.bob_cfo_0 = blocks.rotator_cc((2*math.pi*bob_cfo_hz/samp_rate), False)
        self.bob_awgn_0 = blocks.sub_cc(1)


        ##################################################
        # Connections
        ##################################################
        self.connect((self.bob_awgn_0, 0), (self.bob_gain_0, 0))
        self.connect((self.bob_cfo_0, 0), (self.bob_push_0, 0))
        self.connect((self.bob_cfo_0, 0), (self.bob_waterfall_0, 0))
        self.connect((self.bob_cfo_0, 0), (self.spectrum_0, 0))
        self.connect((self.bob_const_sub_0, 0), (self.constellation_0, 0))
        self.connect((self.bob_delay_0, 0), (self.bob_multipath_0, 0))
        self.connect((self.bob_gain_0, 0), (self.bob_cfo_0, 0))
        self.connect((self.bob_multipath_0, 0), (self.bob_awgn_0, 0))
        self.connect((self.bob_noise_0, 0), (self.bob_awgn_0, 1))
        self.connect((self.eve_awgn_0, 0), (self.eve_gain_0, 0))
        self.connect((self.eve_cfo_0, 0), (self.eve_push_0, 0))
        self.connect((self.eve_cfo_0, 0), (self.eve_waterfall_0, 0))
        self.connect((self.eve_cfo_0, 0), (self.spectrum_0, 1))
        self.connect((self.eve_const_sub_0, 0), (self.constellation_0, 1))
        self.connect((self.eve_delay_0, 0), (self.eve_multipath_0, 0))
        self.connect((self.eve_gain_0, 0), (self.eve_cfo_0, 0))
        self.connect((self.eve_multipath_0, 0), (self.eve_awgn_0, 0))
        self.connect((self.eve_noise_0, 0), (self.eve_awgn_0, 1))
        self.connect((self.zeromq_pull_source_0, 0), (self.bob_delay_0, 0))
        self.connect((self.zeromq_pull_source_0, 0), (self.eve_delay_0, 0))


    def closeEvent(self, event):
        self.settings = Qt.QSettings("GNU Radio", "sim_channel_gui")
        self.settings.setValue("geometry", self.saveGeometry())
        self.stop()
        self.wait()

        event.accept()

    def get_bob_addr(self):
        return self.bob_addr

    def set_bob_addr(self, bob_addr):
        self.bob_addr = bob_addr

    def get_bob_cfo_hz(self):
        return self.bob_cfo_hz

    def set_bob_cfo_hz(self, bob_cfo_hz):
        self.bob_cfo_hz = bob_cfo_hz
        self.bob_cfo_0.set_phase_inc((2*math.pi*self.bob_cfo_hz/self.samp_rate))

    def get_bob_const_addr(self):
        return self.bob_const_addr

    def set_bob_const_addr(self, bob_const_addr):
        self.bob_const_addr = bob_const_addr

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

    def get_eve_const_addr(self):
        return self.eve_const_addr

    def set_eve_const_addr(self, eve_const_addr):
        self.eve_const_addr = eve_const_addr

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
        self.bob_waterfall_0.set_frequency_range(0, self.samp_rate)
        self.eve_cfo_0.set_phase_inc((2*math.pi*self.eve_cfo_hz/self.samp_rate))
        self.eve_waterfall_0.set_frequency_range(0, self.samp_rate)
        self.spectrum_0.set_frequency_range(0, self.samp_rate)

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
    description = 'sim_channel (same blocks, seeds and sample-exact outputs) plus Qt GUI: spectrum and waterfalls of what Bob and Eve receive, and the equalized constellations privsem publishes over ZMQ PUB (bob_const_addr, eve_const_addr).'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--bob-addr", dest="bob_addr", type=str, default='tcp://127.0.0.1:5556',
        help="Set Bob address [default=%(default)r]")
    parser.add_argument(
        "--bob-cfo-hz", dest="bob_cfo_hz", type=eng_float, default=eng_notation.num_to_str(float(0)),
        help="Set Bob CFO (Hz) [default=%(default)r]")
    parser.add_argument(
        "--bob-const-addr", dest="bob_const_addr", type=str, default='tcp://127.0.0.1:5580',
        help="Set Bob constellation address [default=%(default)r]")
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
        "--eve-const-addr", dest="eve_const_addr", type=str, default='tcp://127.0.0.1:5581',
        help="Set Eve constellation address [default=%(default)r]")
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


def main(top_block_cls=sim_channel_gui, options=None):
    if options is None:
        options = argument_parser().parse_args()

    if StrictVersion("4.5.0") <= StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
        style = gr.prefs().get_string('qtgui', 'style', 'raster')
        Qt.QApplication.setGraphicsSystem(style)
    qapp = Qt.QApplication(sys.argv)

    tb = top_block_cls(bob_addr=options.bob_addr, bob_cfo_hz=options.bob_cfo_hz, bob_const_addr=options.bob_const_addr, bob_delay=options.bob_delay, bob_gain=options.bob_gain, bob_snr_db=options.bob_snr_db, bob_taps=options.bob_taps, eve_addr=options.eve_addr, eve_cfo_hz=options.eve_cfo_hz, eve_const_addr=options.eve_const_addr, eve_delay=options.eve_delay, eve_gain=options.eve_gain, eve_snr_db=options.eve_snr_db, eve_taps=options.eve_taps, samp_rate=options.samp_rate, seed=options.seed, tx_addr=options.tx_addr)
    snippets_main_after_init(tb)
    tb.start()

    tb.show()

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()

        Qt.QApplication.quit()

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    timer = Qt.QTimer()
    timer.start(500)
    timer.timeout.connect(lambda: None)

    qapp.exec_()

if __name__ == '__main__':
    main()
