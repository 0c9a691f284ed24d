"""``run_loopback``: build both ends from a DB and a channel name, run, write outputs.

Outputs in ``out_dir``: ``guarded.png`` (A), ``mask.png`` (M), ``bob.png`` / ``eve.png``
(Ŝ), ``bob_mask.png`` / ``eve_mask.png`` (M̂), ``report.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .channel import CHANNELS, build_channel
from .errors import PrivsemError
from .imageio import load_image, save_image


def build_bob_recovery(db, text_encoder):
    """Bob's recovery from the privacy DB (samples and prompts of every entity)."""
    from .recovery import ExemplarRecovery

    prompts = [e.prompt for e in db.entities]
    emb = text_encoder.encode(prompts) if prompts else np.zeros((0, text_encoder.dim), np.float32)
    return ExemplarRecovery([list(e.samples) for e in db.entities], emb)


def run_loopback(image_path: str | Path, db_dir: str | Path, snr_db: float, channel: str,
                 out_dir: str | Path, seed: int = 0, eve_snr_db: float | None = None,
                 codec_path: str | Path | None = None) -> dict:
    """One image through guard → JSCC → channel → Bob and Eve; returns the report dict."""
    if channel not in CHANNELS:
        raise PrivsemError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    image = load_image(image_path)
    from .codec import load_codec
    from .database import PrivacyDB
    from .guard import Guard
    from .metrics.report import role_metrics
    from .pipeline import Loopback, Receiver, Transmitter
    from .recovery import PushPullRecovery
    from .text import default_text_encoder

    db = PrivacyDB.open(db_dir)
    guard = Guard(db)
    codec = load_codec(codec_path)
    text = default_text_encoder()
    loop = Loopback(Transmitter(guard, codec, text),
                    bob=Receiver("bob", codec, build_bob_recovery(db, text), seed=seed),
                    eve=Receiver("eve", codec, PushPullRecovery(), seed=seed),
                    channel_factory=lambda s: build_channel(channel, seed=s), seed=seed)
    res = loop(image, snr_db, eve_snr_db)

    g = res.tx.guard
    mask = g.mask
    report = {
        "snr_db": float(snr_db), "channel": channel,
        "eve_snr_db": float(snr_db if eve_snr_db is None else eve_snr_db),
        "image": str(image_path), "shape": list(image.shape[:2]),
        "n_symbols": int(res.tx.samples.size), "bandwidth_ratio": round(res.tx.samples.size / image.size, 5),
        "guard": {"entity": g.entity, "prompt": g.prompt, "score": round(float(g.score), 4),
                  "mask_fraction": round(float(mask.mean()), 4)},
    }
    for role, rec in (("bob", res.bob), ("eve", res.eve)):
        report[role] = role_metrics(image, rec.recovered, mask, guard.identify(rec.recovered), g.entity)
        inter = np.logical_and(rec.mask_hat, mask).sum()
        union = np.logical_or(rec.mask_hat, mask).sum()
        report[role]["mask_iou"] = round(float(inter / union), 4) if union else None
    report["timings_s"] = {k: round(v, 4) for k, v in res.timings.items()}

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_image(out / "guarded.png", res.tx.guarded)
    save_image(out / "mask.png", mask)
    for role, rec in (("bob", res.bob), ("eve", res.eve)):
        save_image(out / f"{role}.png", rec.recovered)
        save_image(out / f"{role}_mask.png", rec.mask_hat)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
