"""``privsem bench codec --phy``: every code through the real radio chain — OFDM framing
with preamble, header and pilots, a sample-stream channel, synchronization, CFO and
timing correction, equalization — against the same code over the ideal pilot-block link
(flat AWGN, known timing) at the same SNR.

Two channels per transport, so the receiver's cost and the channel's are told apart:

- ``radio``: what the receiver must undo — unknown delay, CFO uniform in ±2 % of fs,
  clock offset in ±50 ppm, unknown gain (software channel only);
- ``radio+multipath``: the same plus 3-tap multipath, a frequency-selective channel that
  is worse than flat AWGN at the same mean SNR for any code (the software channel's and
  ``sim_channel``'s ``impairments``).

Nothing is guarded (the images are sent whole), so the rows measure the codes and the
PHY only; the receiver is built from the frame header as Bob's and Eve's are.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

KEY = b"privsem bench codec --phy"  # the header's keyed tag needs a key; nothing is removed


def _no_guard(image: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(mask=np.zeros(image.shape[:2], bool), entity=None, prompt=None, score=0.0)


def _keep(a_hat, mask_hat, embedding, seed=0):
    return a_hat


def through_phy(codec, img: np.ndarray, channel: str, snr_db: float, seed: int, via: str = "software",
                multipath: bool = True) -> np.ndarray | None:
    """float32 ``(H, W, 3)`` → what the receiver decodes after the radio chain, or None
    when no frame of the message arrived. ``via``: ``software`` or ``gnuradio``
    (``sim_channel``, always with multipath); ``multipath=False``: the software
    channel's other impairments only."""
    from ..channel import build_link_channel
    from ..pipeline import StreamReceiver, receive_image, transmit_image
    from ..transport.links import TAIL, through_gnuradio

    tx = transmit_image(img, _no_guard, codec, KEY, snr_db)
    if via == "gnuradio":
        y = through_gnuradio(tx.samples, channel, snr_db, snr_db, seed, True)["bob"]
    else:  # Bob's branch of through_software, with or without its multipath
        x = np.concatenate([tx.samples, np.zeros(TAIL, np.complex64)])
        y = build_link_channel(channel, seed, True, multipath)(x, snr_db).y
    rx = StreamReceiver(keep_frames=False)
    rx.feed(y)
    rx.finish()
    msg = rx.reassembler.message(tx.header.msg_id)
    if msg is None:
        return None
    return receive_image(msg, None, _keep, "eve").a_hat


def phy_rows(codecs: dict, images, snr_db: float, kn: str, seed: int, vias=("software",),
             channel: str = "awgn", progress=print) -> list[dict]:
    """One row per (code, transport, channel variant): PSNR through the PHY beside the
    ideal link's, and ``loss_db`` between them; ``lost``: images of which no frame
    arrived. ``codecs``: name → codec at ``kn``."""
    from ..errors import PrivsemError

    rows = []
    for name, codec in codecs.items():
        try:
            rows += _code_rows(name, codec, images, snr_db, kn, seed, vias, channel, progress)
        except PrivsemError as e:  # e.g. an image too small for the code's metadata at this k/n
            rows.append({"codec": name, "channel": channel, "snr_db": snr_db, "kn": kn, "psnr": None,
                         "cannot_serve": str(e)})
    return rows


def _code_rows(name, codec, images, snr_db, kn, seed, vias, channel, progress) -> list[dict]:
    """:func:`phy_rows` for one code."""
    from ..codec.link import send_jscc, send_zf
    from ..metrics import psnr

    rows = []
    ideal = float(np.mean([psnr(img, (send_jscc if name == "jscc" else send_zf)(codec, img, channel, snr_db,
                                                                               seed + i))
                           for i, img in enumerate(images)]))
    for via, multipath in [(v, m) for v in vias for m in ((False, True) if v == "software" else (True,))]:
        got = [through_phy(codec, img, channel, snr_db, seed + i, via, multipath) for i, img in enumerate(images)]
        q = [psnr(img, g) for img, g in zip(images, got) if g is not None]
        mean = float(np.mean(q)) if q else None
        rows.append({"codec": name, "channel": channel, "snr_db": snr_db, "kn": kn, "via": via,
                     "impairments": "radio+multipath" if multipath else "radio",
                     "psnr": None if mean is None else round(mean, 2),
                     "psnr_ideal": round(ideal, 2), "lost": f"{len(images) - len(q)}/{len(images)}",
                     "loss_db": None if mean is None else round(ideal - mean, 2)})
        r = rows[-1]
        progress(f"phy {via} {r['impairments']}: {name} {r['psnr']} dB (ideal {r['psnr_ideal']}, "
                 f"loss {r['loss_db']}, lost {r['lost']})")
    return rows
