"""``privsem bench soak``: many images through one long-running GNU Radio ``sim_channel``
flowgraph to Bob and Eve, with this process's and the flowgraph's resident memory and
open file descriptors sampled along the way.

One flowgraph and one set of ZMQ sockets serve the whole run, as in a bench test that
runs for hours: image i is guarded, encoded and framed (msg_id = i mod 2¹⁶), pushed into
the flowgraph followed by :data:`GAP` zeros (they push the frames out of the flowgraph's
buffers), and both receive branches are drained continuously into a
:class:`~privsem.pipeline.StreamReceiver` each. Once every sample of image i has come
back (the flowgraph keeps the sample count), each receiver decodes what arrived and then
forgets the message, so a run of any length holds one message at a time.

Accounting per role: frames sent = frames received + frames lost, with every lost
frame named as (msg_id, seq). Memory is sampled every ``sample_every`` images; growth
is measured from the first sample after ``warmup`` images (model loading and the
allocator's first pools are not growth).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import PrivsemError

GAP = 1 << 15  # zeros after each image: more than the flowgraph holds in its buffers
ROLES = ("bob", "eve")


@dataclass
class SoakConfig:
    """Options of ``privsem bench soak``. SNRs in dB; ``recovery`` a kind of
    :data:`~privsem.recovery.build.RECOVERIES` (``telea`` keeps a long run fast)."""

    images: int = 100
    db: str = ""
    image_set: str = "heldout"
    distinct: int = 8
    snr_db: float = 10.0
    eve_snr_db: float = 10.0
    recovery: str = "telea"
    sample_every: int = 25
    warmup: int = 10
    timeout_s: float = 60.0
    seed: int = 0

    def check(self) -> None:
        from ..recovery.build import RECOVERIES

        if self.images < 1:
            raise PrivsemError("--images must be ≥ 1")
        if self.distinct < 1:
            raise PrivsemError("--distinct must be ≥ 1")
        if self.sample_every < 1:
            raise PrivsemError("--sample-every must be ≥ 1")
        if self.recovery not in RECOVERIES:
            raise PrivsemError(f"unknown recovery {self.recovery!r} (known: {', '.join(RECOVERIES)})")
        for name, v in (("--snr", self.snr_db), ("--eve-snr", self.eve_snr_db)):
            if not -10 <= v <= 40:
                raise PrivsemError(f"{name} {v:g} is outside -10…40 dB")


def _proc_status(pid: int | str = "self") -> dict:
    """Resident memory (MB) and open file descriptors of a process (Linux /proc)."""
    rss = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError):
        return {"rss_mb": None, "fds": None}
    return {"rss_mb": round(rss, 1), "fds": fds}


def run_soak(cfg: SoakConfig, out: str | Path | None = None, progress: bool = True) -> dict:
    """Run the soak; returns the report (also written to ``out`` as JSON, also when the
    run stops early, with what was measured until then and the reason)."""
    from tqdm import tqdm

    from ..codec import load_codec
    from ..database import PrivacyDB
    from ..eval.images import image_set
    from ..guard import Guard
    from ..metrics.image import psnr
    from ..pipeline import StreamReceiver, receive_image, transmit_image
    from ..recovery import RecoveryOptions, build_recovery
    from ..text import default_text_encoder
    from ..transport import ZmqPull, ZmqPush, free_tcp_endpoint
    from ..transport.gnuradio import Flowgraph, find_gnuradio_python
    from ..transport.links import SAMPLE_RATE
    from ..transport.zmq import Drain

    cfg.check()
    if find_gnuradio_python() is None:
        raise PrivsemError("bench soak needs GNU Radio (Debian's gnuradio, or set PRIVSEM_GR_PYTHON)")
    import tempfile

    tmp = None
    if cfg.db:
        db = PrivacyDB.open(cfg.db)
    else:
        from ..database.example import build_example_db

        tmp = tempfile.TemporaryDirectory(prefix="privsem-soak-db-")
        db = build_example_db(Path(tmp.name) / "db")
    images = image_set(cfg.image_set, cfg.distinct, cfg.seed)
    guard, codec, text = Guard(db), load_codec(), default_text_encoder()
    opts = RecoveryOptions(kind=cfg.recovery)
    recovery = {r: build_recovery(r, opts, db if r == "bob" else None, text) for r in ROLES}
    report: dict = {"config": asdict(cfg), "images_done": 0, "frames_sent": 0,
                    "roles": {r: {"frames_received": 0, "frames_lost": 0, "lost": [], "crc_failures": 0,
                                  "messages_complete": 0, "messages_partial": 0, "messages_missing": 0,
                                  "psnr_sum": 0.0} for r in ROLES},
                    "samples": [], "status": "running"}
    t0 = time.monotonic()

    def sample(i: int, fg_pid: int) -> None:
        report["samples"].append({"image": i, "t_s": round(time.monotonic() - t0, 1),
                                  "privsem": _proc_status(), "flowgraph": _proc_status(fg_pid)})

    def save() -> None:
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(json.dumps(report, indent=1) + "\n")

    addrs = {r: free_tcp_endpoint() for r in ROLES}
    drains: dict[str, Drain] = {}
    try:
        with ZmqPush("tcp://127.0.0.1:*", bind=True, timeout_s=cfg.timeout_s) as push, \
                Flowgraph("sim_channel", tx_addr=push.endpoint, bob_addr=addrs["bob"], eve_addr=addrs["eve"],
                          samp_rate=SAMPLE_RATE, seed=cfg.seed, bob_snr_db=cfg.snr_db, eve_snr_db=cfg.eve_snr_db,
                          bob_delay=0, eve_delay=0) as fg:
            pulls = {r: ZmqPull(addrs[r]) for r in ROLES}
            drains = {r: Drain(pulls[r]) for r in ROLES}
            receivers = {r: StreamReceiver(keep_frames=False) for r in ROLES}
            fed = {r: 0 for r in ROLES}
            sent = 0
            bar = tqdm(total=cfg.images, desc="soak", unit="image", disable=not progress)
            for i in range(cfg.images):
                if i % cfg.sample_every == 0:
                    sample(i, fg.proc.pid)
                item = images[i % len(images)]
                msg_id = i & 0xFFFF
                tx = transmit_image(item.image, guard, codec, db.key, cfg.snr_db, msg_id=msg_id)
                n_frames = tx.header.n_frames
                push.send(np.concatenate([tx.samples, np.zeros(GAP, np.complex64)]))
                sent += tx.samples.size + GAP
                report["frames_sent"] += n_frames
                deadline = time.monotonic() + cfg.timeout_s
                # The frames are out once every sample before the gap (and a little of it) is back.
                need = sent - GAP + 4096
                while any(fed[r] < need for r in ROLES):
                    fg.check()
                    for r in ROLES:
                        if drains[r].error is not None:
                            raise PrivsemError(f"{r}'s receive socket failed: {drains[r].error}")
                        chunk = drains[r].take()
                        if chunk.size:
                            receivers[r].feed(chunk)
                            fed[r] += chunk.size
                    if time.monotonic() > deadline:
                        got = ", ".join(f"{r} {fed[r]} of {need}" for r in ROLES)
                        raise PrivsemError(f"soak stalled at image {i}: samples back after {cfg.timeout_s:g} s: {got}")
                    time.sleep(0.01)
                for r in ROLES:
                    rec, rx = report["roles"][r], receivers[r]
                    msg = rx.reassembler.message(msg_id)
                    got = 0 if msg is None else len(msg.frames)
                    rec["frames_received"] += got
                    rec["frames_lost"] += n_frames - got
                    lost = list(range(n_frames)) if msg is None else msg.lost
                    rec["lost"] += [[msg_id, s] for s in lost]
                    if msg is None:
                        rec["messages_missing"] += 1
                    else:
                        rec["messages_complete" if msg.complete else "messages_partial"] += 1
                        res = receive_image(msg, codec, recovery[r], r, db=db if r == "bob" else None,
                                            text_encoder=text if r == "bob" else None, seed=i)
                        rec["psnr_sum"] += float(psnr(tx.guarded, res.a_hat))
                    rec["crc_failures"] = rx.reassembler.crc_failures
                    rx.forget(msg_id)
                report["images_done"] = i + 1
                bar.update()
            bar.close()
            sample(cfg.images, fg.proc.pid)
            report["status"] = "ok"
    except PrivsemError as e:
        report["status"] = f"stopped: {e}"
        raise
    finally:
        for d in drains.values():
            d.close()
        for r in ROLES:
            rec = report["roles"][r]
            done = rec["messages_complete"] + rec["messages_partial"]
            rec["mean_psnr_a_hat_db"] = round(rec.pop("psnr_sum") / done, 2) if done else None
        report["seconds"] = round(time.monotonic() - t0, 1)
        report["memory"] = memory_summary(report["samples"], cfg.warmup)
        save()
        if tmp is not None:
            tmp.cleanup()
    return report


def memory_summary(samples: list[dict], warmup: int) -> dict:
    """Growth of resident memory (MB) and open fds from the first sample at or after
    ``warmup`` images to the last, for privsem and the flowgraph."""
    if not samples:
        return {}
    base = next((s for s in samples if s["image"] >= warmup), samples[0])
    last = samples[-1]
    out = {"from_image": base["image"], "to_image": last["image"]}
    for who in ("privsem", "flowgraph"):
        a, b = base[who], last[who]
        if a["rss_mb"] is None or b["rss_mb"] is None:
            continue
        out[who] = {"rss_start_mb": a["rss_mb"], "rss_end_mb": b["rss_mb"],
                    "rss_peak_mb": max(s[who]["rss_mb"] or 0 for s in samples),
                    "rss_growth_mb": round(b["rss_mb"] - a["rss_mb"], 1),
                    "fds_start": a["fds"], "fds_end": b["fds"]}
    return out
