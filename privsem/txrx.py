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
         gain: float | None = None, kn: str | None = None) -> dict:
    """Guard, encode and frame an image (JSCC at bandwidth ratio ``kn``); send it over ZMQ (to a flowgraph, or through
    the radio of profile ``radio``) or write it as SigMF."""
    if sum(x is not None for x in (zmq_endpoint, iq_path, radio)) != 1:
        raise PrivsemError("give exactly one of --zmq ENDPOINT, --iq FILE.sigmf-data or --radio PROFILE")
    profile = _radio_params(radio, "tx", center_freq, sample_rate, gain) if radio else None
    image = load_image(image_path)
    from .codec import load_codec
    from .database import PrivacyDB
    from .guard import Guard
    from .pipeline import transmit_image
    from .text import default_text_encoder

    db = PrivacyDB.open(db_dir)
    tx = transmit_image(image, Guard(db), load_codec(kn=kn), db.key, design_snr_db, msg_id=msg_id,
                        text_encoder=default_text_encoder() if send_embedding else None,
                        send_embedding=send_embedding)
    gap = np.zeros(4096, np.complex64)
    stream = np.concatenate([np.concatenate([tx.samples, gap]) for _ in range(max(1, repeat))])
    info = {"frames": tx.header.n_frames, "samples": int(stream.size), "entity_removed": tx.guard.entity is not None,
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


def _collect_zmq(endpoint: str, timeout_s: float, idle_s: float, receiver, want_messages: int, record):
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
            receiver.feed(chunk)
            done = [m for i in receiver.reassembler.msg_ids()
                    if (m := receiver.reassembler.message(i)) is not None and m.complete]
            if len(done) >= want_messages:
                break
        if last_data is None:
            raise PrivsemError(f"no samples arrived from {endpoint} within {timeout_s:g} s")
    return np.concatenate(parts) if parts else None


def receive(role: str, out_dir, db_dir=None, zmq_endpoint: str | None = None, iq_path=None,
            timeout_s: float = 30.0, idle_s: float = 2.0, messages: int = 1, record=None,
            sample_rate: float = 2e6, radio: str | None = None, center_freq: float = 0.0,
            gain: float | None = None, recovery_opts=None) -> dict:
    """Receive, decode and recover every message found; write images and report.json.
    ``recovery_opts``: :class:`~privsem.recovery.RecoveryOptions` (default: diffusion)."""
    if role not in ("bob", "eve"):
        raise PrivsemError(f"unknown role {role!r} (bob or eve)")
    if sum(x is not None for x in (zmq_endpoint, iq_path, radio)) != 1:
        raise PrivsemError("give exactly one of --zmq ENDPOINT, --iq FILE.sigmf-data or --radio PROFILE")
    profile = _radio_params(radio, "rx", center_freq, sample_rate, gain) if radio else None
    from .pipeline import StreamReceiver, frame_report, receive_image

    db = None
    if role == "bob":
        if db_dir is None:
            raise PrivsemError("Bob needs the privacy database (--db DIR)")
        from .database import PrivacyDB

        db = PrivacyDB.open(db_dir)
    rx = StreamReceiver()
    source = {}
    if iq_path is not None:
        from .transport.sigmf_io import read_sigmf

        samples, meta = read_sigmf(iq_path)
        sample_rate = meta["sample_rate"]
        source = {"iq": str(iq_path), "center_freq": meta["center_freq"]}
        rx.feed(samples)
    elif profile is not None:
        from .transport import free_tcp_endpoint
        from .transport.gnuradio import Flowgraph

        ep = free_tcp_endpoint()
        params = profile.flowgraph_params("rx", center_freq, sample_rate, gain, zmq_addr=ep)
        with Flowgraph(profile.flowgraph_name("rx"), **params):
            recorded = _collect_zmq(ep, timeout_s, idle_s, rx, messages, record)
        source = {"radio": profile.name, "center_freq": center_freq}
    else:
        recorded = _collect_zmq(zmq_endpoint, timeout_s, idle_s, rx, messages, record)
        source = {"zmq": zmq_endpoint}
    if iq_path is None and record is not None and recorded is not None:
        from .transport.sigmf_io import write_sigmf

        source["recorded"] = str(write_sigmf(record, recorded, sample_rate, center_freq,
                                             description="privsem rx capture"))
    rx.finish()
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
    from .codec import load_codec
    from .recovery import RecoveryOptions, build_recovery
    from .text import default_text_encoder

    codec = load_codec()
    text = default_text_encoder() if db is not None else None
    recovery = build_recovery(role, recovery_opts or RecoveryOptions(), db, text)
    for i in ids:
        msg = rx.reassembler.message(i)
        res = receive_image(msg, codec, recovery, role, db=db, text_encoder=text)
        name = f"{role}.png" if len(ids) == 1 else f"{role}_{i}.png"
        save_image(out / name, res.recovered)
        save_image(out / name.replace(".png", "_received.png"), res.a_hat)
        report["messages"].append({
            "msg_id": i, "image": name, "shape": [msg.header.height, msg.header.width],
            "frames_sent": msg.header.n_frames, "frames_received": len(msg.frames),
            "frames_lost": msg.lost, "lost_units": [list(u) for u in msg.lost_units], "snr_est_db": round(res.snr_db, 2),
            "entity": res.entity, "prompt": res.prompt})
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
