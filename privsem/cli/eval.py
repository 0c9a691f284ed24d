"""``privsem eval``."""

from __future__ import annotations

from pathlib import Path

import click

from ..codec.registry import CODEC_CHOICES, DEFAULT_CODEC
from . import cli
from .options import device_option, view_option


@cli.command("eval")
@click.option("--config", "config", default=None,
              help="TOML file, or a bundled name (quick, paper, gnuradio, ota_example); default: built-in defaults.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Output folder (resumable).")
@click.option("--workers", type=int, default=None, help="Worker processes (overrides the config).")
@click.option("--transport", default=None, help="software | gnuradio | radio (overrides the config).")
@click.option("--codec", default=None,
              help=f"{CODEC_CHOICES}, or a JSCC weights file (overrides the config) [{DEFAULT_CODEC}].")
@click.option("--joint", "joint", default=None,
              help="A `privsem train joint` folder: adds the 'joint' variant (Algorithm 3's parts).")
@click.option("--dataset", "dataset", default=None, type=click.Path(path_type=Path),
              help="One folder per individual (the cat-individuals layout): DB from each one's first photos, "
                   "test on the rest.")
@click.option("--db-photos", "db_photos", type=int, default=None,
              help="With --dataset: photos per individual that go into the DB [4].")
@click.option("--restart", is_flag=True, help="Discard finished units of an earlier run in --out.")
@click.option("--report", "report", type=click.Path(path_type=Path), default=None,
              help="Markdown report path (default: OUT/results.md).")
@device_option
@view_option("eval")
def eval_cmd(config, out_dir, workers, transport, codec, joint, dataset, db_photos, restart, report, device,
             pub) -> None:
    """Bob and Eve over an SNR grid with ablations: results.json/.csv, Figs. 4–6, claims."""
    import shlex

    from ..eval import load_config, run_eval
    from ..eval.report import markdown

    cfg = load_config(config, {"workers": workers, "transport": transport, "joint": joint, "codec": codec,
                               "dataset": None if dataset is None else str(dataset), "dataset_db_photos": db_photos})
    result = run_eval(cfg, out_dir, restart=restart, pub=pub, device=device)
    md = report or out_dir / "results.md"
    command = " ".join(["privsem eval"] + [f"{k} {shlex.quote(str(v))}" for k, v in
                        (("--config", config), ("--codec", codec), ("--joint", joint), ("--dataset", dataset),
                         ("--db-photos", db_photos), ("--out", out_dir), ("--report", report)) if v is not None])
    markdown(result, out_dir, md, command)
    for c in result["claims"]:
        verdict = {True: "met", False: "MISSED", None: "-"}[c["met"]]
        click.echo(f"{verdict:>6}  {c['claim']}: paper {c['paper']}, ours {c['ours']}")
    click.echo(f"{len(result['rows'])} rows → {out_dir}/results.json, results.csv, fig4–6.png; report {md}")
