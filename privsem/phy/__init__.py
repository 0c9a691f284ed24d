"""Physical layer. The skeleton has block pilots with LS channel estimation and MMSE
equalization over a known timing; synchronization and framing grow here."""

from .pilots import PilotBlockModem

__all__ = ["PilotBlockModem"]
