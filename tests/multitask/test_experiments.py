"""The experiments runner: a tiny plan end to end (links, sweeps, figures, report section)."""

import json

import pytest

from privsem.errors import PrivsemError
from privsem.multitask.experiments import BEGIN, END, ExperimentPlan, markdown, run_experiments, targets, write_section


def test_tiny_plan_end_to_end_and_resumes(tmp_path):
    plan = ExperimentPlan(datasets=("mnist",), dims=(2, 4), defence_dim=4, snrs=(10.0,), epochs={"mnist": 2},
                          tradeoffs=(0.1, 1.0), psrs=(-10.0, 3.0), perturb_steps=40, limit=600, test_limit=200, phy_check=("model", "software"),
                          phy_test_limit=100)
    out = tmp_path / "mt"
    result = run_experiments(out, plan, progress=False)
    rows = result["rows"]
    assert json.loads((out / "results.json").read_text())["rows"] == rows
    names = sorted(p.name for p in (out / "links").iterdir())
    assert names == ["mnist_d2_none", "mnist_d4_minmax_l0.1", "mnist_d4_minmax_l1", "mnist_d4_none"]
    by = {}
    for r in rows:
        by.setdefault(r["experiment"], []).append(r)
    assert sorted(r["latent_dim"] for r in by["latent_dim"]) == [2, 4]
    assert {(r["defence"], r["tradeoff"]) for r in by["tradeoff"]} == {
        ("minmax", 0.1), ("both", 0.1), ("minmax", 1.0), ("both", 1.0)}
    assert sorted((r["defence"], r["psr_db"]) for r in by["psr"]) == [
        ("both", -10.0), ("both", 3.0), ("perturbation", -10.0), ("perturbation", 3.0)]
    assert all(r["eve_accuracy_adapted"] is not None for r in by["psr"])
    assert {r["defence"] for r in by["random_noise_baseline"]} == {"perturbation", "both"}
    assert {(r["transport"], r["channel"], r["lost_bob"]) for r in by["phy"]} == {("model", "awgn", 0),
                                                                                   ("software", "awgn", 0)}
    # A stronger perturbation misleads the Eve of the clean link more; Bob cancels it either way
    psr = {(r["defence"], r["psr_db"]): r for r in by["psr"]}
    assert psr[("perturbation", 3.0)]["eve_accuracy"] < psr[("perturbation", -10.0)]["eve_accuracy"]
    assert psr[("perturbation", 3.0)]["bob_accuracy"] > psr[("perturbation", -10.0)]["bob_accuracy"] - 0.05
    for f in ("fig_latent_dim.png", "fig_defences_mnist.png", "fig_psr_mnist.png"):
        assert (out / f).stat().st_size > 10_000
    assert [t["target"].split(":")[0] for t in targets(rows, dataset="mnist")][0] == "mnist"

    # The section replaces its own block and keeps the rest of the report
    report = tmp_path / "results.md"
    report.write_text(f"# Results\n\nkeep me\n\n{BEGIN}\nOLD-SECTION\n{END}\n\ntail\n")
    write_section(report, markdown(result, out, "privsem multitask experiments", tmp_path))
    text = report.read_text()
    assert "keep me" in text and text.endswith("tail\n") and "OLD-SECTION" not in text
    assert "fig_psr_mnist.png" in text and "| mnist | 1 | minmax |" in text

    # --redo phy: every link reused (files untouched), the other rows kept as they were
    stamp = {p: p.stat().st_mtime_ns for p in (out / "links").rglob("*.safetensors")}
    again = run_experiments(out, plan, progress=False, redo=("phy",))
    assert {p: p.stat().st_mtime_ns for p in (out / "links").rglob("*.safetensors")} == stamp
    assert [r for r in again["rows"] if r["experiment"] != "phy"] == [r for r in rows if r["experiment"] != "phy"]
    assert len([r for r in again["rows"] if r["experiment"] == "phy"]) == len(by["phy"])
    with pytest.raises(PrivsemError, match="unknown experiment 'nope'"):
        run_experiments(out, plan, progress=False, redo=("nope",))
