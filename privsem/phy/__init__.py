"""Physical layer: OFDM frames with a Schmidl-Cox preamble, Polar-coded header,
analog (JSCC) or digital (LDPC + QAM) payload; multi-frame messages.

The block-pilot modem of the first loopback is kept for the software-only path.
"""

from .framing import Message, Reassembler, split, transmit
from .header import MODE_ANALOG, MODE_DIGITAL, Header, entity_tag, resolve_tag
from .modem import Frame, Modem
from .pilots import PilotBlockModem

__all__ = ["Frame", "Header", "MODE_ANALOG", "MODE_DIGITAL", "Message", "Modem", "PilotBlockModem",
           "Reassembler", "entity_tag", "resolve_tag", "split", "transmit"]
