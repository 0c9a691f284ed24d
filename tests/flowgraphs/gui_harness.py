"""Run a radio GUI flowgraph (``usrp_rx_gui`` / ``hackrf_rx_gui``) without a radio.

Run under GNU Radio's Python: ``python gui_harness.py usrp_rx_gui --zmq-addr ... --const-addr ...``.
It imports the generated module, replaces ``gnuradio.uhd.usrp_source`` and
``gnuradio.soapy.source`` by ``FakeRadioSource`` (a tone at samp_rate/8 plus a little
noise, throttled to samp_rate), then runs the generated ``main()`` unchanged (Qt app,
SIGINT/SIGTERM handling and all). Every setter the generated code calls on the "radio"
is printed as one ``FAKE_CALL {json}`` line, so a test can check how the device would
have been configured.
"""

import json
import os
import sys

TONE_FRACTION = 1 / 8   # tone frequency / samp_rate
TONE_AMP = 0.5
NOISE_AMP = 0.01         # total complex noise power NOISE_AMP**2


def fake_radio_source_class():
    """The stand-in block class (GNU Radio is imported here, so the constants above
    can be imported by tests running without GNU Radio)."""
    from gnuradio import analog, blocks, gr

    class FakeRadioSource(gr.hier_block2):
        """Stands in for a radio's source block: one complex stream; accepts (and reports)
        any ``set_*`` call the generated code makes."""

        def __init__(self, *args, **kwargs):
            gr.hier_block2.__init__(self, "fake_radio_source", gr.io_signature(0, 0, 0),
                                    gr.io_signature(1, 1, gr.sizeof_gr_complex))
            self._rate = 1e6
            self._tone = analog.sig_source_c(self._rate, analog.GR_COS_WAVE, self._rate * TONE_FRACTION, TONE_AMP, 0)
            self._noise = analog.noise_source_c(analog.GR_GAUSSIAN, NOISE_AMP, 1)
            self._add = blocks.add_cc(1)
            self._throttle = blocks.throttle(gr.sizeof_gr_complex, self._rate, True)
            self.connect(self._tone, (self._add, 0))
            self.connect(self._noise, (self._add, 1))
            self.connect(self._add, self._throttle, self)
            _report("__init__", [repr(a) for a in args])

        def _set_rate(self, rate):
            self._rate = float(rate)
            self._tone.set_sampling_freq(self._rate)
            self._tone.set_frequency(self._rate * TONE_FRACTION)
            self._throttle.set_sample_rate(self._rate)

        # gr-uhd usrp_source: set_samp_rate(rate); gr-soapy source: set_sample_rate(chan, rate)
        def set_samp_rate(self, rate):
            _report("set_samp_rate", [rate])
            self._set_rate(rate)

        def set_sample_rate(self, chan, rate):
            _report("set_sample_rate", [chan, rate])
            self._set_rate(rate)

        def __getattr__(self, name):
            if name.startswith("set_"):
                def call(*args):
                    _report(name, list(args))
                return call
            return gr.hier_block2.__getattr__(self, name)

    return FakeRadioSource


def _report(name, args):
    print("FAKE_CALL " + json.dumps({"method": name, "args": [a if isinstance(a, (int, float, str, bool))
                                                              else repr(a) for a in args]}), flush=True)


def main():
    name = sys.argv[1]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "flowgraphs"))
    from gnuradio import soapy, uhd

    uhd.usrp_source = soapy.source = fake_radio_source_class()
    module = __import__(name)
    sys.argv = [module.__file__] + sys.argv[2:]
    module.main()


if __name__ == "__main__":
    main()
