"""privsem: privacy-preserving semantic communication over GNU Radio and SDRs.

The package never imports gnuradio or radio drivers; flowgraphs run as their own
processes and exchange complex64 samples over ZMQ (see :mod:`privsem.transport`).
"""

__version__ = "0.1.0"
