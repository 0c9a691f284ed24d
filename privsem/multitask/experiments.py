"""The second paper's experiments in one resumable command: links for a sweep of
latent dimensions d (task-only), min-max links for a sweep of the trade-off weight λ,
the defence × SNR grid, a sweep of the perturbation's power, a check of the same over
the OFDM PHY, figures and a markdown section for docs/results.md.

Trained links are kept under ``OUT/links/<dataset>_d<d>_none/`` and
``OUT/links/<dataset>_d<d>_minmax_l<λ>/`` and reused on a second run, so an interrupted
run resumes at the next link.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import PrivsemError
from .data import CLASSES, describe
from .evaluate import MultitaskEvalConfig, evaluate
from .perturb import PerturbationConfig
from .train import FILES, TrainConfig, train_and_save

BEGIN, END = "<!-- multitask:begin -->", "<!-- multitask:end -->"


@dataclass
class ExperimentPlan:
    datasets: tuple = ("mnist", "fashion")
    dims: tuple = (2, 4, 8, 16, 32)
    defence_dim: int = 16
    snrs: tuple = (0.0, 5.0, 10.0, 15.0, 20.0)
    epochs: dict | None = None  # per dataset; default below
    tradeoff: float = 0.1  # λ of the min-max link in the defence grid
    tradeoffs: tuple = (0.1, 0.3, 1.0)  # the λ sweep (10 dB)
    eve_offset_db: float = -10.0
    psr_db: float = 0.0
    psrs: tuple = (-10.0, -5.0, 0.0, 3.0, 6.0)  # the perturbation power sweep (10 dB)
    perturb_steps: int = 150  # optimization steps per codebook entry
    limit: int = 0  # training images (0: all)
    test_limit: int = 0
    phy_check: tuple = ("model", "software", "gnuradio")
    phy_channel: str = "awgn"  # one message of all test images: one fade would decide it all
    phy_test_limit: int = 2000

    def epochs_for(self, dataset: str) -> int:
        return (self.epochs or {"mnist": 30, "fashion": 8, "cifar10": 8}).get(dataset, 8)


def _link(out: Path, dataset: str, d: int, defence: str, plan: ExperimentPlan, progress: bool,
          tradeoff: float | None = None, device=None) -> Path:
    tradeoff = plan.tradeoff if tradeoff is None else tradeoff
    name = f"{dataset}_d{d}_{defence}" + (f"_l{tradeoff:g}" if defence == "minmax" else "")
    path = out / "links" / name
    if not (path / FILES["link"]).is_file() or not (path / FILES["surrogate"]).is_file():
        cfg = TrainConfig(dataset=dataset, latent_dim=d, defence=defence, tradeoff=tradeoff,
                          epochs=plan.epochs_for(dataset), eve_offset_db=plan.eve_offset_db, limit=plan.limit)
        train_and_save(cfg, path, progress, device)
    return path


def _gnuradio_available() -> bool:
    from ..transport.gnuradio import find_gnuradio_python

    return find_gnuradio_python() is not None


EXPERIMENTS = ("latent_dim", "defences", "tradeoff", "psr", "random_noise_baseline", "phy")


def run_experiments(out: str | Path, plan: ExperimentPlan, progress: bool = True,
                    redo: tuple[str, ...] | None = None, device=None) -> dict:
    """Run everything; writes ``OUT/results.json`` and figures, returns the result.
    ``redo``: recompute only these experiments (of :data:`EXPERIMENTS`) and keep the
    other rows of the previous ``OUT/results.json``. ``device``: where the networks
    train and run (default CPU)."""
    import functools

    ev = functools.partial(evaluate, device=device)
    link_of = functools.partial(_link, device=device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    rows: list[dict] = []
    spent = 0.0
    if redo:
        bad = [e for e in redo if e not in EXPERIMENTS]
        if bad:
            raise PrivsemError(f"unknown experiment {bad[0]!r} (known: {', '.join(EXPERIMENTS)})")
        prev = out / "results.json"
        if not prev.is_file():
            raise PrivsemError(f"--redo needs a previous run: {prev} not found")
        old = json.loads(prev.read_text())
        rows = [r for r in old["rows"] if r.get("experiment") not in redo]
        spent = float(old.get("seconds", 0.0))
    want = lambda e: not redo or e in redo  # noqa: E731
    pert = PerturbationConfig(psr_db=plan.psr_db, steps=plan.perturb_steps)
    for ds in plan.datasets:
        base = MultitaskEvalConfig(dataset=ds, eve_offset_db=plan.eve_offset_db, limit=plan.test_limit,
                                   perturbation=pert)
        for d in plan.dims if want("latent_dim") else ():
            none = link_of(out, ds, d, "none", plan, progress)
            for r in ev(replace(base, links={"none": str(none)}, snrs=(10.0,), defences=("none",),
                                adapted=False), progress=False):
                rows.append(r | {"experiment": "latent_dim"})
        links = {"none": str(link_of(out, ds, plan.defence_dim, "none", plan, progress)),
                 "minmax": str(link_of(out, ds, plan.defence_dim, "minmax", plan, progress))}
        for r in ev(replace(base, links=links, snrs=plan.snrs), progress=progress) if want("defences") else ():
            rows.append(r | {"experiment": "defences"})
        for lam in plan.tradeoffs if want("tradeoff") else ():
            lam_links = {"none": links["none"],
                         "minmax": str(link_of(out, ds, plan.defence_dim, "minmax", plan, progress, lam))}
            for r in ev(replace(base, links=lam_links, snrs=(10.0,), defences=("minmax", "both"),
                                adapted=False), progress=False):
                rows.append(r | {"experiment": "tradeoff"})
        for psr in plan.psrs if want("psr") else ():
            for r in ev(replace(base, links=links, snrs=(10.0,), defences=("perturbation", "both"),
                                perturbation=replace(pert, psr_db=psr)), progress=False):
                rows.append(r | {"experiment": "psr"})
        random = replace(pert, adversarial=False)
        for r in ev(replace(base, links=links, snrs=(10.0,), defences=("perturbation", "both"), adapted=False,
                            perturbation=random), progress=False) if want("random_noise_baseline") else ():
            rows.append(r | {"experiment": "random_noise_baseline"})
        if ds == plan.datasets[-1] and want("phy"):
            for transport in plan.phy_check:
                if transport == "gnuradio" and not _gnuradio_available():
                    continue
                cfg = replace(base, links=links, snrs=(10.0,), transport=transport, adapted=False,
                              limit=plan.phy_test_limit, channel=plan.phy_channel)
                for r in ev(cfg, progress=progress):
                    rows.append(r | {"experiment": "phy"})
    result = {"rows": rows, "data": {ds: describe(ds, None) for ds in plan.datasets},
              "plan": {k: v for k, v in vars(plan).items()}, "seconds": round(spent + time.time() - t0, 1)}
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    from .figures import plot_defences, plot_latent_dim, plot_psr

    plot_latent_dim(rows, out / "fig_latent_dim.png", result["data"])
    for ds in plan.datasets:
        plot_defences(rows, ds, out / f"fig_defences_{ds}.png", plan.eve_offset_db, result["data"][ds])
        plot_psr(rows, ds, out / f"fig_psr_{ds}.png", result["data"][ds])
    return result


def _pick(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def targets(rows: list[dict], dataset: str = "fashion", snr: float = 10.0) -> list[dict]:
    """The issue's three targets with our numbers."""
    out = []
    for ds in sorted({r["dataset"] for r in rows}):
        dim = _pick(rows, dataset=ds, experiment="latent_dim")
        dim.sort(key=lambda r: r["latent_dim"])
        acc = [r["bob_accuracy"] for r in dim]
        ps = [r["bob_psnr"] for r in dim]
        rising = lambda v: all(b >= a - 0.005 for a, b in zip(v, v[1:])) and len(v) > 1  # noqa: E731
        out.append({"target": f"{ds}: Bob's accuracy and PSNR rise with d",
                    "ours": f"accuracy {' → '.join(f'{a:.3f}' for a in acc)}; PSNR {' → '.join(f'{p:.1f}' for p in ps)} dB",
                    "met": rising(acc) and rising([p / 100 for p in ps])})
    g = {r["defence"]: r for r in _pick(rows, dataset=dataset, experiment="defences", snr_db=snr)}
    if {"none", "both"} <= g.keys():
        chance = 1 / len(CLASSES[dataset])
        drop = g["none"]["bob_accuracy"] - g["both"]["bob_accuracy"]
        out.append({"target": f"{dataset} {snr:g} dB, min-max + perturbation: Eve ≤ chance + 10 pts, Bob drop ≤ 2 pts",
                    "ours": f"Eve {100 * g['both']['eve_accuracy']:.1f} % (chance {100 * chance:.0f} %), "
                            f"Bob {100 * g['both']['bob_accuracy']:.1f} % vs {100 * g['none']['bob_accuracy']:.1f} % "
                            f"(drop {100 * drop:.1f} pts)",
                    "met": g["both"]["eve_accuracy"] <= chance + 0.10 and drop <= 0.02})
    if {"none", "perturbation"} <= g.keys():
        rel = 1 - g["perturbation"]["eve_accuracy"] / max(g["none"]["eve_accuracy"], 1e-9)
        out.append({"target": f"{dataset} {snr:g} dB, perturbation alone on a task-only link: Eve drops ≥ 30 % relative",
                    "ours": f"Eve {100 * g['none']['eve_accuracy']:.1f} % → {100 * g['perturbation']['eve_accuracy']:.1f} % "
                            f"({100 * rel:.0f} % relative; Bob {100 * g['none']['bob_accuracy']:.1f} % → "
                            f"{100 * g['perturbation']['bob_accuracy']:.1f} %)",
                    "met": rel >= 0.30})
    return out


def markdown(result: dict, out: Path, command: str, rel_to: Path) -> str:
    """The section for docs/results.md (between the multitask markers)."""
    import os

    rows = result["rows"]
    link = lambda p: os.path.relpath(p, rel_to)  # noqa: E731
    lines = [BEGIN, "## Second scheme: multi-task receiver, min-max and cooperative perturbation", "",
             f"Generated by `{command}` in {result['seconds'] / 60:.0f} min on 2 CPU cores. "
             f"Eve's SNR is Bob's {result['plan']['eve_offset_db']:+g} dB; perturbation-to-signal ratio "
             f"{result['plan']['psr_db']:g} dB; Rayleigh block fading (one gain per image) with AWGN, "
             "LS channel estimates and MMSE as the PHY does. Eve is retrained from scratch for every link and SNR.", "",
             "Data: " + "; ".join(f"{k}: {v}" for k, v in result["data"].items()) + ". CIFAR-10 is supported from a "
             "user's folder but was not available here, so no CIFAR-10 numbers are reported.", "",
             "| target | ours | met |", "|---|---|---|"]
    for t in targets(rows):
        lines.append(f"| {t['target']} | {t['ours']} | {'yes' if t['met'] else '**no**'} |")
    lines += ["", f"![Bob vs latent dimension]({link(out / 'fig_latent_dim.png')})", "",
              "| dataset | d | Bob accuracy | Bob PSNR (dB) | Eve accuracy |", "|---|---|---|---|---|"]
    for r in sorted(_pick(rows, experiment="latent_dim"), key=lambda r: (r["dataset"], r["latent_dim"])):
        lines.append(f"| {r['dataset']} | {r['latent_dim']} | {r['bob_accuracy']:.3f} | {r['bob_psnr']:.2f} | "
                     f"{r['eve_accuracy']:.3f} |")
    lines += ["", "Bob at 10 dB, Eve at 10 dB − offset, no defence.", ""]
    for ds in result["data"]:
        lines += [f"![Eve vs SNR, {ds}]({link(out / f'fig_defences_{ds}.png')})", ""]
    lines += ["| dataset | defence | SNR (dB) | Bob accuracy | Bob PSNR | Eve accuracy | Eve retrained on perturbed |",
              "|---|---|---|---|---|---|---|"]
    for r in _pick(rows, experiment="defences"):
        ad = "" if r["eve_accuracy_adapted"] is None else f"{r['eve_accuracy_adapted']:.3f}"
        lines.append(f"| {r['dataset']} | {r['defence']} | {r['snr_db']:g} | {r['bob_accuracy']:.3f} | "
                     f"{r['bob_psnr']:.2f} | {r['eve_accuracy']:.3f} | {ad} |")
    lam = sorted(_pick(rows, experiment="tradeoff"), key=lambda r: (r["dataset"], r["tradeoff"], r["defence"]))
    if lam:
        lines += ["", "Min-max trade-off weight λ (d = 16, 10 dB; the defence grid above uses "
                  f"λ = {result['plan']['tradeoff']:g}); the task-only link is the `none` row above:", "",
                  "| dataset | λ | defence | Bob accuracy | Bob PSNR | Eve accuracy |", "|---|---|---|---|---|---|"]
        for r in lam:
            lines.append(f"| {r['dataset']} | {r['tradeoff']:g} | {r['defence']} | {r['bob_accuracy']:.3f} | "
                         f"{r['bob_psnr']:.2f} | {r['eve_accuracy']:.3f} |")
    psr = sorted(_pick(rows, experiment="psr"), key=lambda r: (r["dataset"], r["defence"], r["psr_db"]))
    if psr:
        lines += ["", "Perturbation power (perturbation-to-signal ratio, 10 dB). The transmitter radiates "
                  "(1 + 10^(PSR/10)) × the signal's power; Bob cancels δ with the key. \"Eve retrained\" knows the "
                  "scheme and trains on perturbed transmissions of other messages, but not the key:", ""]
        lines += [f"![Eve vs perturbation power, {ds}]({link(out / f'fig_psr_{ds}.png')})" for ds in result["data"]]
        lines += ["", "| dataset | defence | PSR (dB) | Bob accuracy | Eve accuracy | Eve retrained on perturbed |",
                  "|---|---|---|---|---|---|"]
        for r in psr:
            lines.append(f"| {r['dataset']} | {r['defence']} | {r['psr_db']:g} | {r['bob_accuracy']:.3f} | "
                         f"{r['eve_accuracy']:.3f} | {r['eve_accuracy_adapted']:.3f} |")
    base = _pick(rows, experiment="random_noise_baseline")
    if base:
        lines += ["", "Baseline: the same keyed codebook left random (artificial noise of the same power, also "
                  "cancelled by Bob), 10 dB — what the adversarial crafting adds:", "",
                  "| dataset | defence | Bob accuracy | Eve accuracy (random) | Eve accuracy (adversarial) |",
                  "|---|---|---|---|---|"]
        for r in base:
            adv = _pick(rows, experiment="defences", dataset=r["dataset"], defence=r["defence"], snr_db=10.0)
            lines.append(f"| {r['dataset']} | {r['defence']} | {r['bob_accuracy']:.3f} | {r['eve_accuracy']:.3f} | "
                         f"{adv[0]['eve_accuracy']:.3f} |" if adv else "")
    phy = _pick(rows, experiment="phy")
    if phy:
        lines += ["", f"The same links over the OFDM PHY (frames, sync, CFO, equalization), the perturbation added "
                  f"in the sample domain: {phy[0]['dataset']}, Bob at 10 dB, {phy[0]['channel']} "
                  f"({phy[0]['n_test']} test images in one message, so one Rayleigh draw would decide the whole "
                  "run; `model` is the training channel model at the same SNRs, for comparison):", "",
                  "| transport | defence | Bob accuracy | Bob PSNR | Eve accuracy | symbols lost (Bob/Eve) |",
                  "|---|---|---|---|---|---|"]
        for r in phy:
            lines.append(f"| {r['transport']} | {r['defence']} | {r['bob_accuracy']:.3f} | {r['bob_psnr']:.2f} | "
                         f"{r['eve_accuracy']:.3f} | {r['lost_bob']}/{r['lost_eve']} |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Put ``section`` into ``path`` between the markers (appended if absent)."""
    text = path.read_text() if path.is_file() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    path.write_text(text)
