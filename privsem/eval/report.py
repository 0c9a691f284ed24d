"""What an evaluation writes: ``results.json`` / ``results.csv`` (the rows), the claims
of the paper against our numbers, Figs. 4–6 and a Markdown report."""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .config import EvalConfig
from .stats import mean_ci, select, summarize, wilson

PAPER = "Privacy-preserving semantic communication with VLMs (../shared/papers/001), Figs. 4–6 and Sec. IV"


def _mean(rows, metric, **match) -> float:
    return mean_ci([r[metric] for r in select(rows, **match)])[0]


def _rate(rows, **match) -> float:
    return wilson([r["identity_recognized"] for r in select(rows, **match)])[0]


def _pct(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.1f} %"


def _db(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:+.2f} dB"


def _gap(rows, metric, a="bob", b="eve") -> tuple[float, float]:
    """Mean and minimum over (channel, SNR) of Bob's mean minus Eve's, ``full`` run."""
    gaps = []
    for ch in dict.fromkeys(r["channel"] for r in rows):
        for p in sorted({r["point"] for r in rows}):
            x = _mean(rows, metric, variant="full", role=a, channel=ch, point=p)
            y = _mean(rows, metric, variant="full", role=b, channel=ch, point=p)
            if not (math.isnan(x) or math.isnan(y)):
                gaps.append(x - y)
    return (float(np.mean(gaps)), float(np.min(gaps))) if gaps else (math.nan, math.nan)


def _trend(rows, metric, role) -> float:
    """Mean over channels of the metric at the highest SNR minus at the lowest (``full``)."""
    pts = sorted({r["point"] for r in rows})
    d = [_mean(rows, metric, variant="full", role=role, channel=ch, point=pts[-1])
         - _mean(rows, metric, variant="full", role=role, channel=ch, point=pts[0])
         for ch in dict.fromkeys(r["channel"] for r in rows)]
    return float(np.nanmean(d)) if d and len(pts) > 1 else math.nan


def _rel(a: float, b: float) -> float:
    return (a - b) / abs(b) if b and not math.isnan(a) and not math.isnan(b) else math.nan


def claims(rows: list[dict], ceiling: float | None = None) -> list[dict]:
    """Each claim of the paper, our number and whether it holds (None: not measured).
    ``ceiling``: the judge's identity rate on the unmodified test images, shown beside
    Bob's (it does not change the verdict)."""
    out = []

    def add(cid, claim, paper, ours, met, criterion):
        out.append({"id": cid, "claim": claim, "paper": paper, "ours": ours, "criterion": criterion,
                    "met": None if met is None else bool(met)})

    variants = {r["variant"] for r in rows}
    if "notext" in variants:
        gains = {m: _rel(_mean(rows, m, variant="full", role="bob"), _mean(rows, m, variant="notext", role="bob"))
                 for m in ("psnr", "ssim", "psnr_region", "ssim_region")}
        best = max(gains["psnr_region"], gains["ssim_region"])
        add("text", "Text embedding improves the authorized receiver's reconstruction (abstract)", "> +10 %",
            ", ".join(f"{k} {100 * v:+.1f} %" for k, v in gains.items()),
            None if math.isnan(best) else best >= 0.10, "region PSNR or region SSIM of Bob ≥ +10 % vs no text")
        add("text_identity", "Text embedding lets Bob restore the identity (ours, no paper number)", "—",
            f"Bob identity {_pct(_rate(rows, variant='full', role='bob'))} with, "
            f"{_pct(_rate(rows, variant='notext', role='bob'))} without", None,
            "reported only")
    if "noguard" in variants:
        with_g, without = _rate(rows, variant="full", role="eve"), _rate(rows, variant="noguard", role="eve")
        red = 1 - with_g / without if without else math.nan
        add("leakage", "The guard reduces identity leakage to the eavesdropper (abstract)", "> 50 % less",
            f"{_pct(red)} less (Eve identifies {_pct(with_g)} with the guard, {_pct(without)} without)",
            None if math.isnan(red) else red > 0.5, "1 − leakage(guard) / leakage(no guard) > 50 %")
    m, lo = _gap(rows, "psnr")
    add("psnr_gap", "Bob's whole-image PSNR is higher than Eve's (Fig. 5a)", "≥ 2 dB at every SNR",
        f"{_db(m)} mean, {_db(lo)} at worst", None if math.isnan(lo) else lo >= 2, "minimum over SNR and channel ≥ 2 dB")
    m, lo = _gap(rows, "psnr_region")
    add("region_psnr_gap", "Bob's privacy-region PSNR is higher than Eve's (Fig. 5b)", "> 5 dB",
        f"{_db(m)} mean, {_db(lo)} at worst", None if math.isnan(lo) else lo > 5, "minimum over SNR and channel > 5 dB")
    tb, te = _trend(rows, "psnr", "bob"), _trend(rows, "psnr", "eve")
    add("psnr_snr", "Whole-image PSNR rises with SNR for both receivers (Fig. 5a)", "rises",
        f"Bob {_db(tb)}, Eve {_db(te)} from lowest to highest SNR",
        None if math.isnan(tb) else tb > 0 and te > 0, "both differences > 0")
    rb, re_ = _trend(rows, "psnr_region", "bob"), _trend(rows, "psnr_region", "eve")
    add("region_snr", "Privacy-region PSNR changes only marginally with SNR (Fig. 5b)", "marginal",
        f"Bob {_db(rb)}, Eve {_db(re_)}", None if math.isnan(rb) else abs(rb) < 2 and abs(re_) < 2,
        "|difference| < 2 dB for both")
    sb, se = _trend(rows, "ssim", "bob"), _trend(rows, "ssim", "eve")
    add("ssim_snr", "SSIM improves with SNR for both receivers (Fig. 6a)", "improves",
        f"Bob {sb:+.3f}, Eve {se:+.3f}", None if math.isnan(sb) else sb > 0 and se > 0, "both differences > 0")
    for metric, paper, fig, name in (("ssim", 0.10, "6a", "whole image"), ("ssim_region", 0.25, "6b", "privacy region")):
        r = _rel(_mean(rows, metric, variant="full", role="bob"), _mean(rows, metric, variant="full", role="eve"))
        add(f"{metric}_gap", f"Bob's SSIM is higher than Eve's, {name} (Fig. {fig})", f"≈ +{100 * paper:.0f} %",
            f"{100 * r:+.1f} %" if not math.isnan(r) else "n/a", None if math.isnan(r) else r >= paper,
            f"≥ +{100 * paper:.0f} %")
    pb, pe = _rate(rows, variant="full", role="bob"), _rate(rows, variant="full", role="eve")
    bob = _pct(pb) + (f" (the judge on the unmodified images: {_pct(ceiling)})" if ceiling is not None else "")
    add("bob_identity", "The authorized receiver re-identifies the entity (Fig. 6c)", "≈ 100 %", bob,
        None if math.isnan(pb) else pb >= 0.95, "≥ 95 %")
    add("eve_identity", "The eavesdropper re-identifies it in less than half the cases (Fig. 6c)", "< 50 %",
        _pct(pe), None if math.isnan(pe) else pe < 0.5, "< 50 %")
    return out


def _judge_levels(cfg: EvalConfig, images, db_dir: Path) -> tuple[float | None, float | None]:
    """The identity judge's two reference levels, both before any channel:

    - chance: its 'entity present' rate on entity-free scenes of the same split
      (None for a folder or a dataset, which has no such scenes);
    - ceiling: its rate of naming the right entity in the unmodified test images (those
      with a known entity), the most any receiver can score by it.
    """
    from ..database import PrivacyDB
    from ..database.scenes import SCENE_SETS_WITH_ENTITY, scene_set
    from ..guard import Guard

    known = [im for im in images if getattr(im, "entity", None)]
    scenes = not cfg.dataset and cfg.images in SCENE_SETS_WITH_ENTITY
    if not known and not scenes:
        return None, None
    guard = Guard(PrivacyDB.open(db_dir))
    chance = ceiling = None
    if scenes:
        empty = [s for s in scene_set(cfg.images, 2 * max(cfg.n_images, 12), 1) if s.entity is None]
        chance = round(float(np.mean([guard.identify(s.image)[0] is not None for s in empty])), 4)
    if known:
        ceiling = round(float(np.mean([guard.identify(im.image)[0] == im.entity for im in known])), 4)
    return chance, ceiling


def data_note(cfg: EvalConfig) -> str:
    db = "example DB"
    if cfg.dataset:
        what = (f"up to {cfg.n_images} test photos of the individuals in {cfg.dataset} (each one's first "
                f"{cfg.dataset_db_photos} photos made the DB, the rest are the test)")
        db = "DB from the dataset"
    elif cfg.images in ("heldout", "calibration"):
        what = (f"{cfg.n_images} {cfg.images} scenes of privsem.database.scenes (the example DB's entities, "
                "chelsea and astronaut, pasted on scikit-image pictures"
                + (" the DB and the recovery models never saw)" if cfg.images == "heldout" else ")"))
    else:
        what = f"{cfg.n_images} images of {cfg.images}"
    how = {"software": "software channel", "gnuradio": "GNU Radio sim_channel flowgraph over ZMQ",
           "radio": f"radios {cfg.radio.tx} → {cfg.radio.bob} / {cfg.radio.eve}"}[cfg.transport]
    from ..codec.registry import CODECS, DEFAULT_CODEC

    code = cfg.codec if cfg.codec in CODECS else ("jscc" if cfg.codec else DEFAULT_CODEC)
    return (f"{what}; {db}; {code} k/n {cfg.kn}; OFDM PHY; {how}; {cfg.steps} DDPM steps; "
            f"seeds {', '.join(map(str, cfg.seeds))}")


def write_outputs(cfg: EvalConfig, out: Path, rows: list[dict], images, db_dir: Path,
                  failed: dict[str, str]) -> dict:
    from . import figures
    from .run import ROW_KEYS

    note = "data: " + data_note(cfg)
    chance, ceiling = _judge_levels(cfg, images, db_dir)
    result = {"config": asdict(cfg), "data": data_note(cfg), "paper": PAPER,
              "chance_identity": chance, "ceiling_identity": ceiling, "failed_units": failed,
              "claims": claims(rows, ceiling) if rows else [], "summary": summarize(rows), "rows": rows}
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(ROW_KEYS))
        w.writeheader()
        w.writerows({k: ("" if r.get(k) is None else r.get(k)) for k in ROW_KEYS} for r in rows)
    if rows:
        failed_figs = {}
        for name, draw in (("fig5", lambda: figures.fig5(rows, out / "fig5.png", note)),
                           ("fig6", lambda: figures.fig6(rows, out / "fig6.png", note)),
                           ("fig4", lambda: figures.fig4(out, rows, out / "fig4.png"))):
            try:
                draw()
            except Exception as e:  # noqa: BLE001 — a figure must never cost the run its rows
                failed_figs[name] = f"{type(e).__name__}: {e}".splitlines()[0]
                warnings.warn(f"{name}.png not drawn ({failed_figs[name]}); the rows are in "
                              f"{out / 'results.json'} and results.csv", stacklevel=2)
        if failed_figs:
            result["failed_figures"] = failed_figs
            (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def _joint_section(result: dict) -> list[str]:
    """Algorithm 3's own report (L_a and f on its tiles, learned margins) next to the
    eval's full-vs-joint numbers."""
    from ..joint import FILES

    d = result["config"].get("joint")
    if not d or not (Path(d) / FILES["report"]).is_file():
        return []
    rep = json.loads((Path(d) / FILES["report"]).read_text())
    c = rep["config"]
    lines = ["## Algorithm 3 — joint training against the separately trained parts", "",
             f"`privsem train joint`: {c['steps']} steps of batch {c['batch']} on {rep['tiles']['train']} "
             f"calibration tiles, τ = {c['tau_db']:g} dB, P_max = {c['p_max']:g}, L_a + {c['leak_weight']:g}·f, "
             f"{rep['seconds'] / 60:.0f} min on the CPU. On its own 96×96 tiles (one differentiable RePaint step, "
             "soft f):", "",
             "| tiles | L_a before | L_a after | f (soft) before | after | f (hard) before | after |",
             "|---|---|---|---|---|---|---|"]
    for split in ("train", "heldout"):
        b, a = (rep.get("before") or {}).get(split, {}), rep["after"][split]
        lines.append(f"| {split} | {b.get('l_a', 'n/a')} | {a['l_a']} | {b.get('f_soft', 'n/a')} | {a['f_soft']} | "
                     f"{b.get('f_hard', 'n/a')} | {a['f_hard']} |")
    lines += ["", "Learned guard margins (tile pixels, at most "
              f"{c['margin_px']}): " + ", ".join(f"{k} {v:.2f}" for k, v in rep["margin_tile_px"].items()) + ".", ""]
    rows = result["rows"]
    lines += ["Through the whole link (this run, mean over SNRs and channels):", "",
              "| parts | Bob PSNR | Bob region PSNR | Bob identity | Eve region PSNR | Eve identity |",
              "|---|---|---|---|---|---|"]
    for v, name in (("full", "separately trained"), ("joint", "Algorithm 3")):
        lines.append(f"| {name} | {_mean(rows, 'psnr', variant=v, role='bob'):.2f} | "
                     f"{_mean(rows, 'psnr_region', variant=v, role='bob'):.2f} | {_pct(_rate(rows, variant=v, role='bob'))} | "
                     f"{_mean(rows, 'psnr_region', variant=v, role='eve'):.2f} | {_pct(_rate(rows, variant=v, role='eve'))} |")
    return lines + [""]


def markdown(result: dict, out: Path, md_path: Path, command: str) -> str:
    """The report: claims next to our numbers, the figures, ablations, per-SNR table."""
    rows, rel = result["rows"], os.path.relpath(out, md_path.parent)
    yes = {True: "**met**", False: "**missed**", None: "—"}
    lines = ["# Results: the paper's claims against privsem's numbers", "",
             f"Generated by `{command}` (do not edit by hand; rerun it).", "",
             f"- **Data:** {result['data']}.",
             f"- **Paper:** {result['paper']}. The paper used 13 536 images of 518 cats (Kaggle "
             "\"cat individuals\"), SAM, and Stable Diffusion fine-tuned on the privacy dataset; none of these "
             "is available here, so privsem's own small models (README, models/MANIFEST.toml) and the "
             "substitute scenes above are used.",
             f"- **Chance level of identity recognition** (the guard's false-positive rate on entity-free "
             f"scenes of the same split): {_pct(result['chance_identity']) if result['chance_identity'] is not None else 'n/a'}.",
             ("- **Ceiling of identity recognition** (the guard names the right entity in the unmodified test "
              "images, before any channel: the most a receiver can score by this judge): "
              f"{_pct(result.get('ceiling_identity')) if result.get('ceiling_identity') is not None else 'n/a'}."),
             f"- Rows: {len(rows)} ({len({r['image'] for r in rows})} images); 95 % intervals are Student-t for "
             "means and Wilson for proportions.", ""]
    if result["failed_units"]:
        lines += [f"- **Failed units** ({len(result['failed_units'])}): "
                  + "; ".join(f"{k}: {v}" for k, v in result["failed_units"].items()), ""]
    if result.get("failed_figures"):
        lines += ["- **Figures not drawn**: "
                  + "; ".join(f"{k}: {v}" for k, v in result["failed_figures"].items()), ""]
    lines += ["## Claims", "", "| claim | paper | ours | criterion | verdict |", "|---|---|---|---|---|"]
    lines += [f"| {c['claim']} | {c['paper']} | {c['ours']} | {c['criterion']} | {yes[c['met']]} |"
              for c in result["claims"]]
    lines += ["", "## Figures", "",
              f"![Fig. 4]({rel}/fig4.png)", "",
              "Fig. 4 — original, guarded image A, and Bob's (upper) and Eve's (lower) reconstruction per SNR.", "",
              f"![Fig. 5]({rel}/fig5.png)", "", "Fig. 5 — PSNR of (a) the whole image and (b) the privacy region.",
              "", f"![Fig. 6]({rel}/fig6.png)", "",
              "Fig. 6 — SSIM of (a) the whole image and (b) the privacy region; (c) identity-recognition "
              "probability. Error bars: 95 % intervals.", "",
              "## Ablations (mean over SNRs and channels)", "",
              "| variant | role | PSNR (dB) | region PSNR (dB) | SSIM | region SSIM | identity | n |",
              "|---|---|---|---|---|---|---|---|"]
    for v in dict.fromkeys(r["variant"] for r in rows):
        for role in ("bob", "eve"):
            rs = select(rows, variant=v, role=role)
            if rs:
                f = {m: mean_ci([r[m] for r in rs])[0] for m in ("psnr", "psnr_region", "ssim", "ssim_region")}
                lines.append(f"| {v} | {role} | {f['psnr']:.2f} | {f['psnr_region']:.2f} | {f['ssim']:.3f} | "
                             f"{f['ssim_region']:.3f} | {_pct(_rate(rows, variant=v, role=role))} | {len(rs)} |")
    lines += ["", "Variants: `full` the system as shipped; `notext` Bob without the prompt embedding; "
              "`noguard` nothing removed; `classical` Telea inpainting at both receivers; `digital` JPEG + "
              "5G LDPC + QAM instead of the link's codec (same channel uses); `joint` the guard margin, JSCC and "
              "Bob's U-Net from Algorithm 3 (`privsem train joint`), Eve with the base U-Net and the same "
              "(public) JSCC.", ""]
    lines += _joint_section(result)
    lines += [
              "## Main run per SNR", "",
              "| channel | SNR (dB) | role | PSNR | region PSNR | SSIM | region SSIM | identity (95 % CI) |",
              "|---|---|---|---|---|---|---|---|"]
    for e in result["summary"]:
        if e["variant"] != "full":
            continue
        idr = e["identity_recognized"]
        ci = (f"{_pct(idr['mean'])} ({_pct(idr['ci95_low'])}–{_pct(idr['ci95_high'])})"
              if idr["mean"] is not None else "n/a")
        cell = {m: (f"{e[m]['mean']:.3f} ± {e[m]['ci95']:.3f}" if e[m]["ci95"] is not None
                    else f"{e[m]['mean']}") for m in ("psnr", "psnr_region", "ssim", "ssim_region")}
        lines.append(f"| {e['channel']} | {e['point']:g} | {e['role']} | {cell['psnr']} | {cell['psnr_region']} | "
                     f"{cell['ssim']} | {cell['ssim_region']} | {ci} |")
    text = "\n".join(lines) + "\n"
    md_path.write_text(_keep_other_sections(md_path, text))
    return text


def _keep_other_sections(md_path: Path, text: str) -> str:
    """``text`` plus the second scheme's section already in ``md_path`` (written by
    ``privsem multitask experiments``), which this report does not own."""
    from ..multitask.experiments import BEGIN, END

    old = md_path.read_text() if md_path.is_file() else ""
    if BEGIN in old and END in old:
        text = text.rstrip("\n") + "\n\n" + BEGIN + old.split(BEGIN, 1)[1].split(END, 1)[0] + END + "\n"
    return text
