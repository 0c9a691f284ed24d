"""One image through a codec, the pilot-block modem and a seeded software channel —
the evaluation path shared by training metrics and ``privsem bench codec``."""

from __future__ import annotations

import numpy as np


def _channel(x: np.ndarray, channel: str, snr_db: float, seed: int):
    from ..channel import build_channel
    from ..phy import PilotBlockModem

    modem = PilotBlockModem()
    ch = build_channel(channel, seed=seed)(modem.modulate(x), snr_db)
    return modem, ch.y, ch.no


def send_jscc(codec, img: np.ndarray, channel: str, snr_db: float, seed: int,
              design_snr_db: float | None = None) -> np.ndarray:
    """float32 ``(H, W, 3)`` → the JSCC receiver's float32 ``(H, W, 3)``. The encoder is
    told ``design_snr_db`` (default: the channel's), the decoder the channel's SNR."""
    design = snr_db if design_snr_db is None else design_snr_db
    x = codec.encode(img.transpose(2, 0, 1)[None], design)[0]
    modem, y, no = _channel(x, channel, snr_db, seed)
    sym, _ = modem.demodulate(y, x.size, no)
    return codec.decode(sym[None], snr_db, img.shape[:2])[0].transpose(1, 2, 0)


def send_digital(sep, img: np.ndarray, channel: str, snr_db: float, seed: int,
                 design_snr_db: float | None = None) -> np.ndarray:
    """The same for a :class:`~privsem.codec.SeparatedCodec` (zero-forcing output and
    per-symbol noise variance for the LDPC demapper); ``sep.last_ok`` tells outages."""
    design = snr_db if design_snr_db is None else design_snr_db
    x = sep.encode(img.transpose(2, 0, 1)[None], design)[0]
    modem, y, no = _channel(x, channel, snr_db, seed)
    sym, no_eff = modem.demodulate_zf(y, x.size, no)
    return sep.decode(sym[None], snr_db, img.shape[:2], no=no_eff[None])[0].transpose(1, 2, 0)


def send_softcast(codec, img: np.ndarray, channel: str, snr_db: float, seed: int,
                  design_snr_db: float | None = None) -> np.ndarray:
    """The same for a :class:`~privsem.codec.softcast.SoftCastCodec`: zero-forcing
    output with its per-symbol noise variance into the LMMSE decoder; the header byte
    (``last_side``) goes along as the frame header would carry it; ``codec.last_ok``
    tells a lost metadata block."""
    design = snr_db if design_snr_db is None else design_snr_db
    x = codec.encode(img.transpose(2, 0, 1)[None], design)[0]
    modem, y, no = _channel(x, channel, snr_db, seed)
    sym, no_eff = modem.demodulate_zf(y, x.size, no)
    return codec.decode(sym[None], snr_db, img.shape[:2], codec.last_side, no=no_eff[None])[0].transpose(1, 2, 0)
