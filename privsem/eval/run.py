"""``run_eval``: every (image, channel, SNR, seed) of a config through the whole link
to Bob and Eve, each ablation beside the main run; resumable, deterministic, parallel.

One *unit* is one image at one channel, SNR (or TX gain, over radios) and seed. It is
sent once per codec (the JSCC; the digital baseline if asked) over the configured
transport; both receivers decode what they got and recover with each variant:

* ``full`` — the system as shipped: guard, JSCC, Bob's fine-tuned diffusion with the
  prompt embedding (from the DB exemplar), Eve's base model without DB or prompt;
* ``notext`` — Bob without the text embedding (zero token, from noise): the paper's
  "+10 % with text" claim;
* ``noguard`` — nothing removed: the leakage the guard prevents (the "> 50 % less
  leakage" claim);
* ``classical`` — OpenCV Telea inpainting at both receivers instead of diffusion;
* ``digital`` — JPEG + 5G LDPC + QAM (MCS chosen for the SNR, known to both ends)
  instead of the JSCC, same channel uses, guard and recovery.

Units finished are appended to ``units.jsonl`` in the output folder; a rerun with the
same config skips them. Seeds of channel and recovery derive from (seed, image,
channel, SNR), so results do not depend on the order or the number of workers.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import PrivsemError
from .config import EvalConfig

ROW_KEYS = ("image", "snr_db", "channel", "role", "variant", "psnr", "ssim", "psnr_region", "ssim_region",
            "identity_recognized", "seed", "point", "transport", "entity", "snr_est_db", "frames_lost",
            "mask_iou")


@dataclass(frozen=True)
class Unit:
    image: int
    channel: str
    point: float  # SNR (dB), or the TX gain (dB) over radios
    seed: int

    @property
    def key(self) -> str:
        return f"{self.image}|{self.channel}|{self.point:g}|{self.seed}"

    def stream_seed(self, channels: tuple[str, ...]) -> int:
        """Channel and recovery seed, a function of the unit alone."""
        ss = np.random.SeedSequence([self.seed, self.image, channels.index(self.channel),
                                     int(round(self.point * 100)) + 10_000])
        return int(ss.generate_state(1)[0] & 0x7FFFFFFF)


def units(cfg: EvalConfig, n_images: int) -> list[Unit]:
    points = cfg.radio.tx_gains if cfg.transport == "radio" else cfg.snrs
    return [Unit(i, c, p, s) for s in cfg.seeds for c in cfg.channels for p in points for i in range(n_images)]


class _Worker:
    """Everything a process loads once: DB, guard, codecs, text encoder, recoveries (their
    networks on ``device``, default CPU)."""

    def __init__(self, cfg: EvalConfig, db_dir: str, out: str, view: tuple[str, str] | None = None,
                 device: str | None = None) -> None:
        from ..codec import load_codec
        from ..codec.registry import resolve_codec
        from ..database import PrivacyDB
        from ..guard import Guard
        from ..recovery import OpenCVRecovery, RecoveryOptions, build_recovery
        from ..recovery.diffusion import load_recovery_model
        from ..recovery.generative import DiffusionRecovery
        from ..text import default_text_encoder
        from .images import images_of

        self.cfg, self.out = cfg, Path(out)
        self.device = device
        self.images = images_of(cfg)
        self.db = PrivacyDB.open(db_dir)
        self.guard = Guard(self.db, device=device)
        # per channel: auto chooses its code for slow fading on the Rayleigh link
        self.codecs = {ch: resolve_codec(cfg.codec or None, cfg.kn, device=device, fading=ch == "rayleigh",
                                         margin_db=cfg.margin_db)
                       for ch in cfg.channels}
        self.text = default_text_encoder()
        opts = RecoveryOptions(steps=cfg.steps)
        self.rec = {"bob": build_recovery("bob", opts, self.db, self.text, device=device),
                    "eve": build_recovery("eve", opts, None, self.text, device=device)}
        if cfg.recovery_model:  # a user's U-Net for Bob
            self.rec["bob"].model = load_recovery_model(cfg.recovery_model, device=device)
        self.joint = None
        if cfg.joint:  # Algorithm 3's guard margins, JSCC and Bob's U-Net, beside the separate parts
            from ..joint import FILES

            d = Path(cfg.joint)
            margins = json.loads((d / FILES["guard"]).read_text())["margin_tile_px"]
            rec_bob = build_recovery("bob", opts, self.db, self.text, device=device)
            rec_bob.model = load_recovery_model(d / FILES["bob"], device=device)
            self.joint = {"margins": margins, "codec": load_codec(d / FILES["codec"], cfg.kn, device=device),
                          "bob": rec_bob}
        self.notext = DiffusionRecovery(self.rec["bob"].model, cfg.steps, name="diffusion-bob-notext")
        self.classical = OpenCVRecovery("telea")
        self._guarded: dict[int, object] = {}
        from ..view.events import publisher

        # the parent announces and ends the run; workers only add to it
        endpoint, run = view or (None, None)
        self.pub = publisher(endpoint, "eval", run=run, announce=False)

    def _guard_result(self, i: int):
        if i not in self._guarded:
            self._guarded[i] = self.guard(self.images[i].image)
        return self._guarded[i]

    def _joint_guard(self, g):
        """The guard's result with Algorithm 3's learned margins."""
        from dataclasses import replace

        from ..joint import grow_mask

        masks = {n: grow_mask(m, self.joint["margins"].get(n, 0.0)) for n, m in g.masks.items()}
        mask = np.logical_or.reduce(list(masks.values())) if masks else g.mask
        return replace(g, mask=mask, masks=masks)

    def _send(self, image, g, codec, design_snr: float, unit: Unit, seed: int) -> tuple[dict, object]:
        from ..pipeline import transmit_image
        from ..transport import links

        tx = transmit_image(image, lambda _: g, codec, self.db.key, design_snr, msg_id=unit.image % 65536,
                            db=self.db)
        cfg = self.cfg
        if cfg.transport == "software":
            ys = links.through_software(tx.samples, unit.channel, unit.point, unit.point + cfg.eve_snr_offset_db, seed)
        elif cfg.transport == "gnuradio":
            ys = links.through_gnuradio(tx.samples, unit.channel, unit.point, unit.point + cfg.eve_snr_offset_db,
                                        seed, timeout_s=cfg.timeout_s)
        else:
            r = cfg.radio
            ys = links.through_radios(tx.samples, r.tx, {"bob": r.bob, "eve": r.eve}, r.freq, r.sample_rate,
                                      unit.point, r.rx_gain, timeout_s=cfg.timeout_s)
        return ys, tx

    def _receive(self, y, tx, codec, recovery, role: str, seed: int, tap=None):
        from ..pipeline import StreamReceiver, receive_image

        rx = StreamReceiver()
        frames = rx.feed(y) + rx.finish()
        msg = rx.reassembler.message(tx.header.msg_id)
        res = None if msg is None else receive_image(msg, codec, recovery, role, db=self.db if role == "bob" else None,
                                                     text_encoder=self.text, seed=seed, device=self.device)
        lost = tx.header.n_frames if msg is None else len(msg.lost)
        if tap is not None:
            tap(frames, rx.reassembler)
            tap.summary(tx.header.n_frames, tx.header.n_frames - lost, lost, rx.reassembler.crc_failures,
                        rx.reassembler.damaged, round(res.snr_db, 2) if res else None)
        return res, lost

    def run(self, unit: Unit) -> list[dict]:
        from ..codec.separated import SeparatedCodec, link_adaptation
        from ..guard.guard import GuardResult
        from ..metrics.image import mask_iou
        from ..metrics.report import role_metrics

        cfg, item = self.cfg, self.images[unit.image]
        seed = unit.stream_seed(cfg.channels)
        g = self._guard_result(unit.image)
        truth = item.entity if item.entity is not None else g.entity
        if cfg.design_snr_db is not None:
            design = cfg.design_snr_db
        else:
            design = unit.point if cfg.transport != "radio" else 10.0
        rows: list[dict] = []

        def row(variant: str, role: str, out: np.ndarray | None, res, lost: int) -> None:
            out = np.full_like(item.image, 0.5) if out is None else out
            found = self.guard.identify(out)
            m = role_metrics(item.image, out, g.mask, found, truth)
            # the receiver's estimate before the codec's clipping to its trained range
            snr_est = (round(float(np.mean([f.snr_db for f in res.message.frames.values()])), 2)
                       if res is not None else None)
            link_snr = float(unit.point) + (cfg.eve_snr_offset_db if role == "eve" else 0.0)
            rows.append({
                "image": item.name, "snr_db": link_snr if cfg.transport != "radio" else snr_est,
                "channel": unit.channel, "role": role, "variant": variant,
                **{k: m[k] for k in ("psnr", "ssim", "psnr_region", "ssim_region")},
                "identity_recognized": m["identity_recognized"] if truth is not None else None,
                "seed": unit.seed, "point": float(unit.point), "transport": cfg.transport, "entity": truth,
                "snr_est_db": snr_est, "frames_lost": int(lost),
                "mask_iou": (round(mask_iou(res.mask_hat, g.mask), 4)
                             if res is not None and (res.mask_hat | g.mask).any() else None)})

        from ..guard import apply_guard
        from ..transport.links import SAMPLE_RATE
        from ..view.tap import FrameTap

        where = f"{item.name}, {unit.channel} {unit.point:g} dB"
        watched = self.pub.run is not None
        if watched:
            self.pub.image("original", item.image, caption=where)
            self.pub.guard(g)
            self.pub.image("guarded", apply_guard(item.image, g.mask), caption=f"{g.entity or 'nothing'} removed")
        codec = self.codecs[unit.channel]
        ys, tx = self._send(item.image, g, codec, design, unit, seed)
        for role in ("bob", "eve"):
            tap = FrameTap(self.pub, role, SAMPLE_RATE)
            res, lost = self._receive(ys[role], tx, codec, self.rec[role], role, seed, tap)
            row("full", role, res.recovered if res else None, res, lost)
            if watched:
                self.pub.image(role, res.recovered if res else np.full_like(item.image, 0.5), caption=where)
            if unit.image < cfg.fig4_images and unit.seed == cfg.seeds[0]:
                self._save_example(unit, role, item.image, tx.guarded, res)
            if res is None:
                for v in ("notext", "classical"):
                    if v in cfg.variants and (v != "notext" or role == "bob"):
                        row(v, role, None, None, lost)
                continue
            if "notext" in cfg.variants and role == "bob":
                row("notext", role, self.notext(res.a_hat, res.mask_hat, None, seed=seed), res, lost)
            if "classical" in cfg.variants:
                row("classical", role, self.classical(res.a_hat, res.mask_hat, None), res, lost)
        if "noguard" in cfg.variants:
            nothing = GuardResult(mask=np.zeros(item.image.shape[:2], bool), entity=None, prompt=None, score=0.0)
            ys, tx = self._send(item.image, nothing, codec, design, unit, seed)
            for role in ("bob", "eve"):
                res, lost = self._receive(ys[role], tx, codec, self.rec[role], role, seed)
                row("noguard", role, res.recovered if res else None, res, lost)
        if self.joint is not None:
            gj = self._joint_guard(g)
            ys, tx = self._send(item.image, gj, self.joint["codec"], design, unit, seed)
            for role in ("bob", "eve"):
                rec = self.joint["bob"] if role == "bob" else self.rec["eve"]
                res, lost = self._receive(ys[role], tx, self.joint["codec"], rec, role, seed)
                row("joint", role, res.recovered if res else None, res, lost)
        if "digital" in cfg.variants:
            sep = SeparatedCodec("jpeg", cfg.kn, mcs=link_adaptation(design).name)
            ys, tx = self._send(item.image, g, sep, design, unit, seed)
            for role in ("bob", "eve"):
                res, lost = self._receive(ys[role], tx, sep, self.rec[role], role, seed)
                row("digital", role, res.recovered if res else None, res, lost)
        return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]

    def _save_example(self, unit: Unit, role: str, original, guarded, res) -> None:
        from ..imageio import save_image

        d = self.out / "images"
        d.mkdir(parents=True, exist_ok=True)
        stem = f"{unit.image:03d}_{unit.channel}_{unit.point:g}"
        save_image(d / f"{unit.image:03d}_original.png", original)
        save_image(d / f"{unit.image:03d}_guarded.png", guarded)
        save_image(d / f"{stem}_{role}.png", res.recovered if res is not None else np.full_like(original, 0.5))


_WORKER: _Worker | None = None


def _init(cfg: EvalConfig, db_dir: str, out: str, threads: int, view: tuple[str, str] | None = None,
          device: str | None = None) -> None:
    import warnings

    import torch

    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore", message=".*outside the range it was trained for.*")
    global _WORKER
    _WORKER = _Worker(cfg, db_dir, out, view, device)


def _run(unit: Unit) -> tuple[str, list[dict] | None, str | None]:
    try:
        return unit.key, _WORKER.run(unit), None
    except PrivsemError as e:  # e.g. a flowgraph that died: the unit is reported, the run goes on
        return unit.key, None, str(e)


def _load_done(path: Path) -> dict[str, list[dict]]:
    done = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
                done[rec["unit"]] = rec["rows"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut off by an interrupted run: that unit runs again
    return done


def _prepare(cfg: EvalConfig, out: Path, restart: bool) -> Path | None:
    """The output folder and its config stamp (refuses a folder of another config); the
    configured DB, or None for the example DB."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "config.json"
    if stamp.is_file() and not restart:
        try:
            old = json.loads(stamp.read_text()).get("digest")
        except (json.JSONDecodeError, AttributeError):
            old = None
        if old != cfg.digest():
            raise PrivsemError(f"{out} holds a run of another configuration; use another --out or --restart")
    if restart:
        (out / "units.jsonl").unlink(missing_ok=True)
    stamp.write_text(json.dumps({"digest": cfg.digest(), "config": asdict(cfg)}, indent=2) + "\n")
    return Path(cfg.db) if cfg.db else None


def run_eval(cfg: EvalConfig, out: str | Path, restart: bool = False, progress: bool = True, pub=None,
             device=None) -> dict:
    """Run (or finish) the evaluation in ``out``; returns ``{"rows": [...], ...}`` as
    written to ``results.json`` (also ``results.csv`` and the figures). ``pub``: a
    :class:`~privsem.view.events.Publisher`; the workers publish each unit's images and
    frames into its run, and the scores go out from here as each unit's rows arrive.
    ``device``: where every worker runs the networks (default CPU; not part of the
    config's digest, so a run may be finished on another device)."""
    from .images import build_dataset_db, images_of

    out = Path(out)
    images = images_of(cfg)  # refuses a bad folder before anything runs
    db_dir = _prepare(cfg, out, restart)
    if cfg.dataset:
        db_dir = out / "db"
        if not (db_dir / "manifest.json").is_file():
            build_dataset_db(cfg, db_dir)
    with tempfile.TemporaryDirectory(prefix="privsem-eval-") as tmp:
        if db_dir is None:  # built per run, outside --out (it holds Bob's 12 MB model)
            from ..database.example import build_example_db

            db_dir = Path(tmp) / "db"
            build_example_db(db_dir)
        return _run_all(cfg, out, images, db_dir, progress, pub, None if device is None else str(device))


def _run_all(cfg: EvalConfig, out: Path, images: list, db_dir: Path, progress: bool, pub=None,
             device: str | None = None) -> dict:
    from tqdm import tqdm

    from .report import write_outputs

    log = out / "units.jsonl"
    done = _load_done(log)
    todo = [u for u in units(cfg, len(images)) if u.key not in done]
    failed: dict[str, str] = {}
    threads = max(1, (os.cpu_count() or 1) // cfg.workers)
    # workers publish each unit's images and frames into the run; its scores come from here
    view = (pub.endpoint, pub.run) if getattr(pub, "run", None) else None
    bar = tqdm(total=len(done) + len(todo), initial=len(done), desc="eval", unit="unit", disable=not progress)
    if todo:
        with log.open("a") as f:
            if cfg.workers == 1:
                _init(cfg, str(db_dir), str(out), threads, view, device)
                list(_stream(map(_run, todo), f, done, failed, bar, pub))
            else:
                import multiprocessing as mp

                ctx = mp.get_context("spawn")
                with ctx.Pool(cfg.workers, _init, (cfg, str(db_dir), str(out), threads, view, device)) as pool:
                    list(_stream(pool.imap_unordered(_run, todo), f, done, failed, bar, pub))
    bar.close()
    order = {u.key: n for n, u in enumerate(units(cfg, len(images)))}
    rows = [r for k in sorted(done, key=lambda k: order.get(k, 1 << 30)) if k in order for r in done[k]]
    return write_outputs(cfg, out, rows, images, db_dir, failed)


def _stream(results, f, done: dict, failed: dict, bar, pub=None):
    for key, rows, error in results:
        if rows is None:
            failed[key] = error
            bar.write(f"privsem: warning: unit {key} failed: {error}")
        else:
            done[key] = rows
            f.write(json.dumps({"unit": key, "rows": rows}) + "\n")
            f.flush()
            if pub is not None:
                for r in rows:
                    if r["variant"] == "full":
                        pub.result(r["role"], r, label=f"{r['image']}, {r['channel']} {r['point']:g} dB",
                                   entity=r["entity"])
        bar.update()
        yield key
