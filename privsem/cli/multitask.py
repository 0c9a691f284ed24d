"""``privsem multitask train|eval|experiments`` — the second scheme."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import PrivsemError
from . import cli
from .options import device_option

_DATA = [click.option("--dataset", default="fashion", show_default=True, help="mnist | fashion | cifar10"),
         click.option("--data-dir", default="", help="Folder with the dataset's files (MNIST IDX, CIFAR-10 python batches).")]


def _data_options(f):
    for opt in reversed(_DATA):
        f = opt(f)
    return f


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise PrivsemError(f"{what}: expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise PrivsemError(f"{what}: empty list")
    return vals


@cli.group("multitask")
def multitask() -> None:
    """Second scheme: multi-task receiver, min-max training, cooperative perturbation."""


@multitask.command("train")
@_data_options
@click.option("--latent-dim", type=int, default=16, show_default=True, help="d: complex channel uses per image.")
@click.option("--defence", default="none", show_default=True, help="none (task only) | minmax.")
@click.option("--tradeoff", type=float, default=1.0, show_default=True, help="λ: weight of Eve's confusion in min-max.")
@click.option("--epochs", type=int, default=8, show_default=True)
@click.option("--channel", default="rayleigh", show_default=True, help="awgn | rayleigh.")
@click.option("--eve-offset-db", type=float, default=-10.0, show_default=True, help="Eve's SNR minus Bob's.")
@click.option("--limit", type=int, default=0, help="Use the first N training images (0: all).")
@click.option("--seed", type=int, default=0)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@device_option
def train_cmd(dataset, data_dir, latent_dim, defence, tradeoff, epochs, channel, eve_offset_db, limit, seed, out,
              device) -> None:
    """Train a legitimate link (+ the transmitter's surrogate Eve) into OUT."""
    from ..multitask.train import TrainConfig, train_and_save

    cfg = TrainConfig(dataset=dataset, data_dir=data_dir, latent_dim=latent_dim, defence=defence, tradeoff=tradeoff,
                      epochs=epochs, channel=channel, eve_offset_db=eve_offset_db, limit=limit, seed=seed)
    info = train_and_save(cfg, out, device=device)
    m = info["metrics"]
    click.echo(f"{info['data']}; {m['steps']} steps in {m['train_s']} s; held out at 10 dB: "
               f"accuracy {m['bob_accuracy_10db']:.3f}, PSNR {m['bob_psnr_10db']:.2f} dB → {out}")


@multitask.command("eval")
@_data_options
@click.option("--none-link", default="", help="Link trained for its own task (defences none, perturbation).")
@click.option("--minmax-link", default="", help="Min-max link (defences minmax, both).")
@click.option("--defences", default="", help="Comma list of none, minmax, perturbation, both (default: those the links allow).")
@click.option("--snr", default="0,5,10,15,20", show_default=True, help="Bob's SNRs (dB), comma-separated.")
@click.option("--eve-offset-db", type=float, default=-10.0, show_default=True)
@click.option("--psr-db", type=float, default=0.0, show_default=True, help="Perturbation-to-signal ratio (dB).")
@click.option("--channel", default="rayleigh", show_default=True)
@click.option("--transport", default="model", show_default=True,
              help="model (the training channel) | software | gnuradio | radio (the OFDM PHY).")
@click.option("--limit", type=int, default=0, help="Test images (0: all).")
@click.option("--eve-train-limit", type=int, default=0, help="Images Eve trains on (0: all).")
@click.option("--no-adapted", is_flag=True, help="Skip the Eve retrained on perturbed transmissions.")
@click.option("--tx-radio", default="", help="Radio profiles (sdr/*.yaml names or paths), transport radio.")
@click.option("--bob-radio", default="")
@click.option("--eve-radio", default="")
@click.option("--freq", type=float, default=0.0, help="Centre frequency (Hz), transport radio.")
@click.option("--sample-rate", type=float, default=0.0, help="S/s, transport radio.")
@click.option("--seed", type=int, default=0)
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, help="Write {\"rows\": [...]} here.")
@click.option("--figure", type=click.Path(path_type=Path), default=None, help="Eve/Bob accuracy vs SNR plot (PNG).")
@device_option
def eval_cmd(dataset, data_dir, none_link, minmax_link, defences, snr, eve_offset_db, psr_db, channel, transport,
             limit, eve_train_limit, no_adapted, tx_radio, bob_radio, eve_radio, freq, sample_rate, seed, json_path,
             figure, device) -> None:
    """Bob's accuracy and PSNR, an adaptive Eve's accuracy, per defence and SNR."""
    from ..multitask.data import describe
    from ..multitask.evaluate import LINK_OF, MultitaskEvalConfig, evaluate
    from ..multitask.figures import plot_defences
    from ..multitask.perturb import PerturbationConfig

    links = {k: v for k, v in (("none", none_link), ("minmax", minmax_link)) if v}
    if not links:
        raise PrivsemError("give --none-link and/or --minmax-link (folders from `privsem multitask train`)")
    chosen = tuple(d.strip() for d in defences.split(",") if d.strip()) or tuple(
        d for d in ("none", "minmax", "perturbation", "both") if LINK_OF[d] in links)
    radio = {"tx": tx_radio, "bob": bob_radio, "eve": eve_radio, "freq": freq, "sample_rate": sample_rate}
    cfg = MultitaskEvalConfig(dataset=dataset, data_dir=data_dir, links=links, snrs=_floats(snr, "--snr"),
                              defences=chosen, eve_offset_db=eve_offset_db, channel=channel, transport=transport,
                              limit=limit, eve_train_limit=eve_train_limit, adapted=not no_adapted,
                              perturbation=PerturbationConfig(psr_db=psr_db), radio=radio, seed=seed)
    rows = evaluate(cfg, device=device)
    click.echo(f"{'defence':<13}{'SNR':>5}{'Bob acc':>9}{'Bob PSNR':>10}{'Eve acc':>9}{'Eve adapted':>13}")
    for r in rows:
        ad = "-" if r["eve_accuracy_adapted"] is None else f"{r['eve_accuracy_adapted']:.3f}"
        click.echo(f"{r['defence']:<13}{r['snr_db']:>5g}{r['bob_accuracy']:>9.3f}{r['bob_psnr']:>10.2f}"
                   f"{r['eve_accuracy']:>9.3f}{ad:>13}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"rows": rows, "data": describe(dataset, data_dir or None)}, indent=1) + "\n")
        click.echo(f"{len(rows)} rows → {json_path}")
    if figure:
        figure.parent.mkdir(parents=True, exist_ok=True)
        plot_defences([r | {"experiment": "defences"} for r in rows], dataset, figure, eve_offset_db,
                      describe(dataset, data_dir or None))
        click.echo(f"figure → {figure}")


@multitask.command("experiments")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output folder (resumable).")
@click.option("--report", type=click.Path(path_type=Path), default=None,
              help="Markdown file to put the section into (e.g. docs/results.md).")
@click.option("--quick", is_flag=True, help="A small run (MNIST, 1 000 training images, d ∈ {4, 16}, one SNR, λ and PSR).")
@click.option("--redo", default="", help="Comma list of experiments to recompute, keeping the other rows of "
              "OUT/results.json: latent_dim, defences, tradeoff, psr, random_noise_baseline, phy.")
@device_option
def experiments_cmd(out, report, quick, redo, device) -> None:
    """Everything behind the second scheme's section of docs/results.md."""
    from ..multitask.experiments import ExperimentPlan, markdown, run_experiments, targets, write_section

    plan = ExperimentPlan()
    if quick:
        plan = ExperimentPlan(datasets=("mnist",), dims=(4, 16), snrs=(10.0,), epochs={"mnist": 3}, limit=1000,
                              tradeoffs=(0.1,), psrs=(0.0,),
                              test_limit=500, phy_check=("model", "software"), phy_test_limit=300)
    result = run_experiments(out, plan, redo=tuple(e.strip() for e in redo.split(",") if e.strip()) or None,
                             device=device)
    for t in targets(result["rows"]):
        click.echo(f"{'met' if t['met'] else 'MISSED':>6}  {t['target']}: {t['ours']}")
    md = report or out / "results.md"
    cmd = f"privsem multitask experiments --out {out}" + (f" --report {report}" if report else "") + \
        (" --quick" if quick else "")
    write_section(md, markdown(result, out, cmd, md.parent))
    click.echo(f"{len(result['rows'])} rows → {out}/results.json, figures; report {md}")
