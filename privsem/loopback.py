"""``run_loopback``: one image from the transmitter to Bob and Eve, over the radio PHY
and either a software channel or the GNU Radio ``sim_channel`` flowgraph; writes the
images and ``report.json``.

Outputs in ``out_dir``: ``guarded.png`` (A), ``mask.png`` (M), ``bob.png`` / ``eve.png``
(Ŝ), ``bob_mask.png`` / ``eve_mask.png`` (M̂), ``report.json``.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from .errors import PrivsemError
from .imageio import load_image, save_image
from .metrics.image import mask_iou

from .view.events import NullPublisher


def run_loopback(image_path: str | Path, db_dir: str | Path, snr_db: float, channel: str,
                 out_dir: str | Path, seed: int = 0, eve_snr_db: float | None = None,
                 codec_path: str | Path | None = None, via: str = "software",
                 impairments: bool = False, design_snr_db: float | None = None,
                 timeout_s: float = 60.0, kn: str | None = None, recovery=None, pub=None,
                 gui: bool = False, gui_hold: float | None = 0, seal_mask: bool = True, device=None,
                 margin_db: float | None = None) -> dict:
    """One image through guard → codec → OFDM → channel → Bob and Eve; returns the report.
    ``codec_path``: a codec name (``softcast``, ``jscc``, ``digital``; default
    :data:`~privsem.codec.registry.DEFAULT_CODEC`) or a JSCC weights file.

    ``recovery``: :class:`~privsem.recovery.RecoveryOptions` (default: diffusion, Bob's
    model fine-tuned on the DB, Eve's the base model). ``pub``: a
    :class:`~privsem.view.events.Publisher` for ``privsem view``. ``gui``: run
    ``sim_channel_gui`` (needs ``via="gnuradio"`` and a display) and keep its window up
    ``gui_hold`` seconds after the run (None: until it is closed). ``seal_mask``: see
    :func:`~privsem.pipeline.transmit_image`. ``device``: where the networks run (guard
    encoder, a JSCC, the recovery U-Nets; default CPU); the PHY, channel and softcast
    stay numpy on the CPU, so only images and symbols cross to the device and back.
    ``margin_db``: hda's and auto's base-layer margin (default 5 dB, docs/codec.md)."""
    from .view.gui import gui_flowgraph, hold
    from .view.tap import ConstellationFeed

    if via not in ("software", "gnuradio"):
        raise PrivsemError(f"unknown transport {via!r} (known: software, gnuradio)")
    if gui:
        if via != "gnuradio":
            raise PrivsemError("--gui shows the GNU Radio flowgraph: use it with --via gnuradio")
        gui_flowgraph("sim_channel")
    pub = pub or NullPublisher()
    image = load_image(image_path)  # a mistyped path fails here, before torch and Sionna load
    from .channel import CHANNELS
    from .transport.links import sim_channel, through_software

    if channel not in CHANNELS:
        raise PrivsemError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    pub.image("original", image, caption=Path(image_path).name)
    from .codec.registry import resolve_codec
    from .database import PrivacyDB
    from .guard import Guard
    from .pipeline import transmit_image
    from .text import default_text_encoder

    eve_snr_db = snr_db if eve_snr_db is None else eve_snr_db
    db = PrivacyDB.open(db_dir)
    guard = Guard(db, device=device)
    codec = resolve_codec(codec_path, kn, device, fading=channel == "rayleigh", margin_db=margin_db)  # the sim link fades slowly
    text = default_text_encoder()
    t0 = time.perf_counter()
    tx = transmit_image(image, guard, codec, db.key, snr_db if design_snr_db is None else design_snr_db,
                        seal_mask=seal_mask)
    pub.guard(tx.guard)
    pub.image("guarded", tx.guarded, caption=f"sent: {tx.guard.entity or 'nothing'} removed")
    t1 = time.perf_counter()
    with ExitStack() as stack:
        feed = stack.enter_context(ConstellationFeed()) if gui else None
        if via == "software":
            rx_samples = through_software(tx.samples, channel, snr_db, eve_snr_db, seed, impairments)
        else:
            ch = stack.enter_context(sim_channel(channel, snr_db, eve_snr_db, seed, impairments,
                                                 feed.endpoints if feed else None))
            rx_samples = ch.send(tx.samples, timeout_s)
        t2 = time.perf_counter()
        report, results, timings = _receive_both(image, image_path, tx, rx_samples, guard, codec, db, text, seed,
                                                 recovery, pub, feed, t2 - t1, device)
        report = {"snr_db": float(snr_db), "channel": channel, "eve_snr_db": float(eve_snr_db), "via": via,
                  "impairments": impairments, "codec": codec.name, **report}  # auto: the code it chose
        timings["total"] = time.perf_counter() - t0
        report["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
        _write_outputs(Path(out_dir), report, tx, results)
        if gui:  # the outputs are on disk while the window stays up
            hold(ch.flowgraph, gui_hold)
    return report


def _write_outputs(out: Path, report: dict, tx, results: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    save_image(out / "guarded.png", tx.guarded)
    save_image(out / "mask.png", tx.guard.mask)
    for role, (recovered, mask_hat) in results.items():
        save_image(out / f"{role}.png", recovered)
        save_image(out / f"{role}_mask.png", mask_hat)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")


def _receive_both(image, image_path, tx, rx_samples, guard, codec, db, text, seed, recovery, pub, feed,
                  t_channel: float, device=None) -> tuple[dict, dict, dict]:
    """Bob's and Eve's receivers on their streams: the report's receiver part, the
    recovered images and masks, and the timings."""
    from .metrics.report import role_metrics
    from .pipeline import StreamReceiver, frame_report, receive_image
    from .recovery import RecoveryOptions, build_recovery
    from .transport.links import SAMPLE_RATE
    from .view.tap import FrameTap, feed_live

    opts = recovery or RecoveryOptions()
    recoveries = {r: build_recovery(r, opts, db if r == "bob" else None, text, device=device)
                  for r in ("bob", "eve")}
    results, timings = {}, {**tx.timings, "channel": t_channel}
    report = {
        "image": str(image_path), "recovery": {r: v.name for r, v in recoveries.items()}, "shape": list(image.shape[:2]),
        "n_samples": int(tx.samples.size),
        "guard": {"entity": tx.guard.entity, "prompt": tx.guard.prompt, "score": round(float(tx.guard.score), 4),
                  "mask_fraction": round(float(tx.guard.mask.mean()), 4)},
    }
    n_frames = tx.header.n_frames
    for role in ("bob", "eve"):
        t_r = time.perf_counter()
        rx = StreamReceiver()
        tap = FrameTap(pub, role, SAMPLE_RATE, feed)
        feed_live(rx, rx_samples[role], tap)
        msg = rx.reassembler.message(tx.header.msg_id)
        if msg is None:  # every frame lost (e.g. a deep fade): report it, show nothing
            res = None
            recovered = np.zeros_like(image)
            mask_hat = np.zeros(image.shape[:2], bool)
            timings["decode" if role == "bob" else "decode_eve"] = time.perf_counter() - t_r
            timings[f"recover_{role}"] = 0.0
        else:
            res = receive_image(msg, codec, recoveries[role], role, db=db if role == "bob" else None,
                                text_encoder=text, seed=seed, device=device)
            recovered, mask_hat = res.recovered, res.mask_hat
            timings["decode" if role == "bob" else "decode_eve"] = (time.perf_counter() - t_r
                                                                    - res.timings["recover"])
            timings[f"recover_{role}"] = res.timings["recover"]
        results[role] = (recovered, mask_hat)
        m = role_metrics(image, recovered, tx.guard.mask, guard.identify(recovered), tx.guard.entity)
        m["mask_iou"] = round(mask_iou(mask_hat, tx.guard.mask), 4) if (mask_hat | tx.guard.mask).any() else None
        m["entity_resolved"] = res.entity if res else None
        m["link"] = {"snr_est_db": round(res.snr_db, 2) if res else None, "frames_sent": n_frames,
                     "frames_received": len(msg.frames) if msg else 0,
                     "frames_lost": msg.lost if msg else list(range(n_frames)),
                     "lost_units": [list(u) for u in msg.lost_units] if msg else [[0, tx.header.total]],
                     "crc_failures": rx.reassembler.crc_failures,
                     "frames": frame_report(rx.frames, SAMPLE_RATE)}
        report[role] = m
        tap.summary(n_frames, m["link"]["frames_received"], len(m["link"]["frames_lost"]),
                    rx.reassembler.crc_failures, rx.reassembler.damaged, m["link"]["snr_est_db"])
        pub.image(role, recovered, caption="every frame lost" if res is None else
                  f"restored as {res.entity}" if res.entity else "recovered without the DB")
        pub.result(role, m, label=Path(image_path).name, entity=tx.guard.entity)
    return report, results, timings
