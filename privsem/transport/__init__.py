"""Transports of complex64 baseband samples: ZMQ PUSH/PULL (GNU Radio's gr-zeromq wire
format) and GNU Radio flowgraphs run as subprocesses."""

from .zmq import ZmqPull, ZmqPush, free_tcp_endpoint

__all__ = ["ZmqPull", "ZmqPush", "free_tcp_endpoint"]
