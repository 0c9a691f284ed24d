"""``privsem tx`` / ``privsem rx``: an image to a ZMQ stream or a SigMF file, and back.

The transmitter binds a ZMQ PUSH socket (a GNU Radio flowgraph's ZMQ PULL source
connects to it); the receiver connects a ZMQ PULL socket to a flowgraph's ZMQ PUSH
sink (gr-zeromq sinks bind). Samples are raw complex64.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .errors import PrivsemError
from .imageio import load_image, save_image


def _radio_params(radio: str, role: str, center_freq: float, sample_rate: float, gain: float | None) -> tuple:
    """Validate a radio profile and settings before anything is started."""
    from .radio import load_profile

    profile = load_profile(radio)
    profile.flowgraph_params(role, center_freq, sample_rate, gain, zmq_addr="tcp://127.0.0.1:0")
    return profile


def send(image_path, db_dir, zmq_endpoint: str | None = None, iq_path=None, design_snr_db: float = 10.0,
         msg_id: int = 0, sample_rate: float = 2e6, center_freq: float = 0.0, send_embedding: bool = False,
         timeout_s: float = 30.0, repeat: int = 1, on_bound=None, radio: str | None = None,
         gain: float | None = None, kn: str | None = None, codec: str | None = None,
         seal_mask: bool = True, device=None, fading: bool = False, margin_db: float | None = None) -> dict:
    """Guard, encode and frame an image (``codec``, a name or JSCC weights, default
    :data:`~privsem.codec.registry.DEFAULT_CODEC`, at bandwidth ratio ``kn``; ``fading``:
    auto chooses its code for a slowly fading link; ``margin_db``: hda's and auto's
    base-layer margin below ``design_snr_db``); send it over ZMQ (to a flowgraph,
    or through the radio of profile ``radio``) or write it as SigMF. ``device``: where
    the guard's encoder and a JSCC run (default CPU); framing and samples are numpy on
    the CPU."""
    if sum(x is not None for x in (zmq_endpoint, iq_path, radio)) != 1:
        raise PrivsemError("give exactly one of --zmq ENDPOINT, --iq FILE.sigmf-data or --radio PROFILE")
    profile = _radio_params(radio, "tx", center_freq, sample_rate, gain) if radio else None
    image = load_image(image_path)
    from .codec.registry import resolve_codec
    from .database import PrivacyDB
    from .guard import Guard
    from .pipeline import transmit_image
    from .text import default_text_encoder

    db = PrivacyDB.open(db_dir)
    code = resolve_codec(codec, kn, device, fading, margin_db)
    tx = transmit_image(image, Guard(db, device=device), code, db.key, design_snr_db, msg_id=msg_id,
                        text_encoder=default_text_encoder() if send_embedding else None,
                        send_embedding=send_embedding, seal_mask=seal_mask)
    gap = np.zeros(4096, np.complex64)
    stream = np.concatenate([np.concatenate([tx.samples, gap]) for _ in range(max(1, repeat))])
    info = {"frames": tx.header.n_frames, "samples": int(stream.size), "entity_removed": tx.guard.entity is not None,
            "codec": code.name,  # auto: the code it chose
            "mask_fraction": round(float(tx.guard.mask.mean()), 4), "msg_id": msg_id}
    if iq_path is not None:
        from .transport.sigmf_io import write_sigmf

        info["iq"] = str(write_sigmf(iq_path, stream, sample_rate, center_freq,
                                     description=f"privsem image message {msg_id}",
                                     extra={"msg_id": msg_id, "frames": tx.header.n_frames}))
        return info
    from contextlib import ExitStack

    from .transport import ZmqPush
    from .transport.gnuradio import Flowgraph

    with ExitStack() as stack:
        push = stack.enter_context(ZmqPush(zmq_endpoint or "tcp://127.0.0.1:*", bind=True, timeout_s=timeout_s))
        info["zmq"] = push.endpoint
        fg = None
        if profile is not None:
            params = profile.flowgraph_params("tx", center_freq, sample_rate, gain, zmq_addr=push.endpoint)
            fg = stack.enter_context(Flowgraph(profile.flowgraph_name("tx"), **params))
            info["radio"] = profile.name
        if on_bound is not None:
            on_bound(push.endpoint)
        push.send(stream)
        # let ZMQ hand over the last message; a radio needs the air time of the stream
        time.sleep(0.2 if fg is None else stream.size / sample_rate + 1.0)
        if fg is not None:
            fg.check()
    return info


def _collect_zmq(endpoint: str, timeout_s: float, idle_s: float, receiver, want_messages: int, record,
                 tap=None):
    from .transport import ZmqPull

    parts = []
    with ZmqPull(endpoint, bind=False) as pull:
        start = time.monotonic()
        last_data = None
        while True:
            if time.monotonic() - start > timeout_s:
                break
            chunk = pull.recv_some(timeout_s=0.25)
            if chunk.size == 0:
                if last_data is not None and time.monotonic() - last_data > idle_s:
                    break
                continue
            last_data = time.monotonic()
            if record is not None:
                parts.append(chunk)
            frames = receiver.feed(chunk)
            if tap is not None:
                tap(frames, receiver.reassembler)
            done = [m for i in receiver.reassembler.msg_ids()
                    if (m := receiver.reassembler.message(i)) is not None and m.complete]
            if len(done) >= want_messages:
                break
        if last_data is None:
            raise PrivsemError(f"no samples arrived from {endpoint} within {timeout_s:g} s")
    return np.concatenate(parts) if parts else None


class _Scorer:
    """Scores of a received image against the ``--reference`` the transmitter sent: PSNR
    and SSIM whole and, with a DB to find the privacy region (the guard's M on the
    reference), inside it, and the identity decision. The DB only scores; Eve's
    decoding never sees it."""

    def __init__(self, reference_path, score_db, pub, device=None) -> None:
        from .database import PrivacyDB
        from .guard import Guard, apply_guard

        self.reference = load_image(reference_path)
        pub.image("original", self.reference, caption=f"reference: {Path(reference_path).name}")
        self.guard = Guard(PrivacyDB.open(score_db), device=device) if score_db is not None else None
        if self.guard is not None:
            self.g = self.guard(self.reference)
            pub.guard(self.g)
            pub.image("guarded", apply_guard(self.reference, self.g.mask),
                      caption=f"what the guard sends: {self.g.entity or 'nothing'} removed")

    def __call__(self, recovered: np.ndarray) -> dict:
        from .metrics.report import role_metrics

        if recovered.shape != self.reference.shape:
            raise PrivsemError(f"--reference is {self.reference.shape[0]}×{self.reference.shape[1]} but the "
                               f"message is {recovered.shape[0]}×{recovered.shape[1]}")
        if self.guard is None:
            m = role_metrics(self.reference, recovered, np.zeros(recovered.shape[:2], bool), (None, float("nan")), None)
            m["identity_recognized"] = None
        else:
            m = role_metrics(self.reference, recovered, self.g.mask, self.guard.identify(recovered), self.g.entity)
            if self.g.entity is None:
                m["identity_recognized"] = None
        return m  # role_metrics already gives None for an empty region (JSON has no NaN)


def receive(role: str, out_dir, db_dir=None, zmq_endpoint: str | None = None, iq_path=None,
            timeout_s: float = 30.0, idle_s: float = 2.0, messages: int = 1, record=None,
            sample_rate: float = 2e6, radio: str | None = None, center_freq: float = 0.0,
            gain: float | None = None, recovery_opts=None, reference=None, score_db=None, pub=None,
            gui: bool = False, gui_hold: float | None = 0, device=None) -> dict:
    """Receive, decode and recover every message found; write images and report.json.

    ``recovery_opts``: :class:`~privsem.recovery.RecoveryOptions` (default: diffusion).
    ``reference``: the image the transmitter sent, to score each message against (its
    privacy region and the identity decision need a DB: Bob's ``db_dir``, or
    ``score_db`` for Eve). ``pub``: a :class:`~privsem.view.events.Publisher`. ``gui``:
    the radio's GUI flowgraph (``--radio`` only), up ``gui_hold`` s after the run.
    ``device``: where a JSCC decoder, the recovery's networks and the scorer's guard
    run (default CPU); the receiver's sample processing is numpy on the CPU."""
    from contextlib import ExitStack

    from .view.events import NullPublisher
    from .view.gui import gui_flowgraph, hold
    from .view.tap import ConstellationFeed, FrameTap

    if role not in ("bob", "eve"):
        raise PrivsemError(f"unknown role {role!r} (bob or eve)")
    if sum(x is not None for x in (zmq_endpoint, iq_path, radio)) != 1:
        raise PrivsemError("give exactly one of --zmq ENDPOINT, --iq FILE.sigmf-data or --radio PROFILE")
    profile = _radio_params(radio, "rx", center_freq, sample_rate, gain) if radio else None
    if gui and profile is None:
        raise PrivsemError("--gui shows the radio's GUI flowgraph: use it with --radio")
    if profile is not None:
        rx_flowgraph = gui_flowgraph(profile.flowgraph_name("rx")) if gui else profile.flowgraph_name("rx")
    from .pipeline import StreamReceiver

    pub = pub or NullPublisher()
    db = None
    if role == "bob":
        if db_dir is None:
            raise PrivsemError("Bob needs the privacy database (--db DIR)")
        from .database import PrivacyDB

        db = PrivacyDB.open(db_dir)
    if score_db is None and role == "bob":
        score_db = db_dir
    scorer = _Scorer(reference, score_db, pub, device) if reference is not None else None
    with ExitStack() as stack:
        rx = StreamReceiver()
        fg = None
        if iq_path is not None:
            from .transport.sigmf_io import read_sigmf
            from .view.tap import feed_live

            samples, meta = read_sigmf(iq_path)
            sample_rate = meta["sample_rate"]
            source = {"iq": str(iq_path), "center_freq": meta["center_freq"]}
            tap = FrameTap(pub, role, sample_rate)
            feed_live(rx, samples, tap)
        else:
            feed = stack.enter_context(ConstellationFeed((role,))) if gui else None
            tap = FrameTap(pub, role, sample_rate, feed)
            if profile is not None:
                from .transport import free_tcp_endpoint
                from .transport.gnuradio import Flowgraph

                ep = free_tcp_endpoint()
                params = profile.flowgraph_params("rx", center_freq, sample_rate, gain, zmq_addr=ep)
                if gui:
                    params["const_addr"] = feed.endpoints[role]
                fg = stack.enter_context(Flowgraph(rx_flowgraph, **params))
                recorded = _collect_zmq(ep, timeout_s, idle_s, rx, messages, record, tap)
                source = {"radio": profile.name, "center_freq": center_freq}
            else:
                recorded = _collect_zmq(zmq_endpoint, timeout_s, idle_s, rx, messages, record, tap)
                source = {"zmq": zmq_endpoint}
            if record is not None and recorded is not None:
                from .transport.sigmf_io import write_sigmf

                source["recorded"] = str(write_sigmf(record, recorded, sample_rate, center_freq,
                                                     description="privsem rx capture"))
            tap(rx.finish(), rx.reassembler)
        report = _decode_all(role, rx, db, recovery_opts, out_dir, source, sample_rate, scorer, tap, device)
        if fg is not None and gui:
            hold(fg, gui_hold)
    return report


def _decode_all(role: str, rx, db, recovery_opts, out_dir, source: dict, sample_rate: float, scorer, tap,
                device=None) -> dict:
    """Every message the receiver reassembled: decode, recover, score (and show them
    through ``tap``'s publisher); write the images and report.json."""
    from .pipeline import frame_report, receive_image

    pub = tap.pub
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # e.g. a file of that name is in the way
        raise PrivsemError(f"cannot create the output folder {out}: {e.strerror or e}") from None
    report = {"role": role, "sample_rate": sample_rate, **source,
              "frames_detected": len(rx.frames), "crc_failures": rx.reassembler.crc_failures,
              "frames": frame_report(rx.frames, sample_rate), "messages": []}
    ids = rx.reassembler.msg_ids()
    if not ids:
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        raise PrivsemError(f"no frame found ({len(rx.frames)} detected, "
                           f"{rx.reassembler.crc_failures} header CRC failures); report in {out / 'report.json'}")
    from .recovery import RecoveryOptions, build_recovery
    from .text import default_text_encoder

    codec = None  # each message is decoded by the codec its header names
    text = default_text_encoder() if db is not None else None
    recovery = build_recovery(role, recovery_opts or RecoveryOptions(), db, text, device=device)
    for i in ids:
        msg = rx.reassembler.message(i)
        res = receive_image(msg, codec, recovery, role, db=db, text_encoder=text, device=device)
        name = f"{role}.png" if len(ids) == 1 else f"{role}_{i}.png"
        save_image(out / name, res.recovered)
        save_image(out / name.replace(".png", "_received.png"), res.a_hat)
        entry = {"msg_id": i, "image": name, "shape": [msg.header.height, msg.header.width],
                 "frames_sent": msg.header.n_frames, "frames_received": len(msg.frames),
                 "frames_lost": msg.lost, "lost_units": [list(u) for u in msg.lost_units],
                 "snr_est_db": round(res.snr_db, 2), "entity": res.entity, "prompt": res.prompt}
        tap.summary(msg.header.n_frames, len(msg.frames), len(msg.lost), rx.reassembler.crc_failures,
                    rx.reassembler.damaged, entry["snr_est_db"])
        pub.image(role, res.recovered, caption=f"message {i}" + (f", restored as {res.entity}" if res.entity else ""))
        if scorer is not None:
            try:
                entry["metrics"] = scorer(res.recovered)
            except PrivsemError as e:  # keep the message; say why it has no scores
                import warnings

                warnings.warn(f"message {i} not scored: {e}", stacklevel=1)
                entry["metrics"] = {"error": str(e)}
            else:
                pub.result(role, entry["metrics"], label=f"message {i}",
                           entity=scorer.g.entity if scorer.guard else None)
        report["messages"].append(entry)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
