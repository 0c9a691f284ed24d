#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: privsem HackRF RX — live
# Author: privsem
# Description: HackRF One (gr-soapy hackrf source, complex float32) to privsem (ZMQ PUSH). Plus Qt GUI: spectrum and waterfall of the received stream, and the equalized constellation privsem publishes over ZMQ PUB (const_addr).
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
from gnuradio import gr
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import soapy
from gnuradio import zeromq


def snipfcn_window_size(self):
    if not self.settings.value("geometry"):
        self.resize(1300, 820)


def snippets_main_after_init(tb):
    snipfcn_window_size(tb)

from gnuradio import qtgui

class hackrf_rx_gui(gr.top_block, Qt.QWidget):

    def __init__(self, amp=0, const_addr='tcp://127.0.0.1:5580', dev_args='', freq=2.45e9, gain=16, samp_rate=2e6, vga_gain=20, zmq_addr='tcp://127.0.0.1:5555'):
        gr.top_block.__init__(self, "privsem HackRF RX — live", catch_exceptions=True)
        Qt.QWidget.__init__(self)
        self.setWindowTitle("privsem HackRF RX — live")
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

        self.settings = Qt.QSettings("GNU Radio", "hackrf_rx_gui")

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
        self.amp = amp
        self.const_addr = const_addr
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
        self.waterfall_0 = qtgui.waterfall_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            freq, #fc
            samp_rate, #bw
            "Received waterfall", #name
            1, #number of inputs
            None # parent
        )
        self.waterfall_0.set_update_time(0.1)
        self.waterfall_0.enable_grid(False)
        self.waterfall_0.enable_axis_labels(True)



        labels = ["Received", '', '', '', '',
                  '', '', '', '', '']
        colors = [0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
                  1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.waterfall_0.set_line_label(i, "Data {0}".format(i))
            else:
                self.waterfall_0.set_line_label(i, labels[i])
            self.waterfall_0.set_color_map(i, colors[i])
            self.waterfall_0.set_line_alpha(i, alphas[i])

        self.waterfall_0.set_intensity_range(-120, 0)

        self._waterfall_0_win = sip.wrapinstance(self.waterfall_0.qwidget(), Qt.QWidget)

        self.top_grid_layout.addWidget(self._waterfall_0_win, 1, 0, 1, 2)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.spectrum_0 = qtgui.freq_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            freq, #fc
            samp_rate, #bw
            "Received spectrum", #name
            1,
            None # parent
        )
        self.spectrum_0.set_update_time(0.2)
        self.spectrum_0.set_y_axis((-120), 0)
        self.spectrum_0.set_y_label('Relative Gain', 'dB')
        self.spectrum_0.set_trigger_mode(qtgui.TRIG_MODE_FREE, 0.0, 0, "")
        self.spectrum_0.enable_autoscale(False)
        self.spectrum_0.enable_grid(True)
        self.spectrum_0.set_fft_average(0.2)
        self.spectrum_0.enable_axis_labels(True)
        self.spectrum_0.enable_control_panel(False)
        self.spectrum_0.set_fft_window_normalized(False)



        labels = ["Received", '', '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["blue", "red", "green", "black", "cyan",
            "magenta", "yellow", "dark red", "dark green", "dark blue"]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
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
        self.constellation_0 = qtgui.const_sink_c(
            1024, #size
            "Equalized constellation (from privsem)", #name
            1, #number of inputs
            None # parent
        )
        self.constellation_0.set_update_time(0.2)
        self.constellation_0.set_y_axis((-2), 2)
        self.constellation_0.set_x_axis((-2), 2)
        self.constellation_0.set_trigger_mode(qtgui.TRIG_MODE_FREE, qtgui.TRIG_SLOPE_POS, 0.0, 0, "")
        self.constellation_0.enable_autoscale(False)
        self.constellation_0.enable_grid(True)
        self.constellation_0.enable_axis_labels(True)


        labels = ["Received", '', '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["blue", "red", "red", "red", "red",
            "red", "red", "red", "red", "red"]
        styles = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        markers = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        alphas = [0.6, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
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
        self.const_sub_0 = zeromq.sub_source(gr.sizeof_gr_complex, 1, const_addr, 100, False, 10, '')


        ##################################################
        # Connections
        ##################################################
        self.connect((self.const_sub_0, 0), (self.constellation_0, 0))
        self.connect((self.soapy_hackrf_source_0, 0), (self.spectrum_0, 0))
        self.connect((self.soapy_hackrf_source_0, 0), (self.waterfall_0, 0))
        self.connect((self.soapy_hackrf_source_0, 0), (self.zeromq_push_sink_0, 0))


    def closeEvent(self, event):
        self.settings = Qt.QSettings("GNU Radio", "hackrf_rx_gui")
        self.settings.setValue("geometry", self.saveGeometry())
        self.stop()
        self.wait()

        event.accept()

    def get_amp(self):
        return self.amp

    def set_amp(self, amp):
        self.amp = amp
        self.soapy_hackrf_source_0.set_gain(0, 'AMP', bool(self.amp))

    def get_const_addr(self):
        return self.const_addr

    def set_const_addr(self, const_addr):
        self.const_addr = const_addr

    def get_dev_args(self):
        return self.dev_args

    def set_dev_args(self, dev_args):
        self.dev_args = dev_args

    def get_freq(self):
        return self.freq

    def set_freq(self, freq):
        self.freq = freq
        self.soapy_hackrf_source_0.set_frequency(0, self.freq)
        self.spectrum_0.set_frequency_range(self.freq, self.samp_rate)
        self.waterfall_0.set_frequency_range(self.freq, self.samp_rate)

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
        self.spectrum_0.set_frequency_range(self.freq, self.samp_rate)
        self.waterfall_0.set_frequency_range(self.freq, self.samp_rate)

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
    description = 'HackRF One (gr-soapy hackrf source, complex float32) to privsem (ZMQ PUSH). Plus Qt GUI: spectrum and waterfall of the received stream, and the equalized constellation privsem publishes over ZMQ PUB (const_addr).'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--amp", dest="amp", type=intx, default=0,
        help="Set RF amplifier (0/1) [default=%(default)r]")
    parser.add_argument(
        "--const-addr", dest="const_addr", type=str, default='tcp://127.0.0.1:5580',
        help="Set Constellation address [default=%(default)r]")
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


def main(top_block_cls=hackrf_rx_gui, options=None):
    if options is None:
        options = argument_parser().parse_args()

    if StrictVersion("4.5.0") <= StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
        style = gr.prefs().get_string('qtgui', 'style', 'raster')
        Qt.QApplication.setGraphicsSystem(style)
    qapp = Qt.QApplication(sys.argv)

    tb = top_block_cls(amp=options.amp, const_addr=options.const_addr, dev_args=options.dev_args, freq=options.freq, gain=options.gain, samp_rate=options.samp_rate, vga_gain=options.vga_gain, zmq_addr=options.zmq_addr)
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
