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


def send_zf(codec, img: np.ndarray, channel: str, snr_db: float, seed: int,
            design_snr_db: float | None = None) -> np.ndarray:
    """The same for a code decoded from zero-forced symbols with their per-symbol noise
    variance (:class:`~privsem.codec.SeparatedCodec`'s LDPC demapper, softcast's and
    hda's LMMSE), its header byte (``last_side``) passed along as the frame header
    would carry it; ``codec.last_ok`` tells an outage or lost metadata."""
    design = snr_db if design_snr_db is None else design_snr_db
    x = codec.encode(img.transpose(2, 0, 1)[None], design)[0]
    return receive_zf(codec, x, codec.last_side, img.shape[:2], channel, snr_db, seed)


def receive_zf(codec, x: np.ndarray, side, shape: tuple[int, int], channel: str, snr_db: float,
               seed: int, seal_key: bytes | None = None) -> np.ndarray:
    """complex64 ``(n,)`` symbols a code sent (with its header byte(s) ``side``) → the
    receiver's float32 ``(H, W, 3)`` after the seeded channel and the pilot-block
    modem's zero-forcing (the second half of :func:`send_zf`). ``seal_key``: the
    receiver's DB key, for a code that sends a sealed mask (Bob's)."""
    modem, y, no = _channel(x, channel, snr_db, seed)
    sym, no_eff = modem.demodulate_zf(y, x.size, no)
    key = {} if seal_key is None else {"seal_key": seal_key}
    return codec.decode(sym[None], snr_db, shape, side, no=no_eff[None], **key)[0].transpose(1, 2, 0)
