"""Figures of the second scheme (matplotlib, Agg). Accuracy error bars are 95 % Wilson
intervals over the test images."""

from __future__ import annotations

from pathlib import Path

from ..eval.figures import _plt
from ..eval.stats import wilson

COLORS = {"none": "tab:gray", "minmax": "tab:blue", "perturbation": "tab:orange", "both": "tab:green"}
LABELS = {"none": "no defence", "minmax": "min-max", "perturbation": "perturbation", "both": "min-max + perturbation"}


def _ci(acc: float, n: int) -> tuple[float, float]:
    k = round(acc * n)
    _, lo, hi, _ = wilson([True] * k + [False] * (n - k))
    return 100 * (acc - lo), 100 * (hi - acc)


def plot_latent_dim(rows: list[dict], path: Path, data: dict) -> None:
    """Bob's accuracy (a) and reconstruction PSNR (b) vs d, one line per dataset."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
    for ds in data:
        rs = sorted((r for r in rows if r["dataset"] == ds and r.get("experiment") == "latent_dim"),
                    key=lambda r: r["latent_dim"])
        if not rs:
            continue
        d = [r["latent_dim"] for r in rs]
        err = list(zip(*[_ci(r["bob_accuracy"], r["n_test"]) for r in rs]))
        a.errorbar(d, [100 * r["bob_accuracy"] for r in rs], yerr=err, marker="o", capsize=3, label=ds)
        b.plot(d, [r["bob_psnr"] for r in rs], marker="o", label=ds)
    for ax, yl, t in ((a, "Bob's accuracy (%)", "(a) classification"), (b, "Bob's PSNR (dB)", "(b) reconstruction")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("latent dimension d (complex channel uses per image)")
        ax.set_ylabel(yl)
        ax.set_title(t)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Bob at 10 dB, Rayleigh + AWGN. Data: " + "; ".join(data.values()), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _accuracy_plot(rs: list[dict], defences: tuple, x_key: str, series: tuple, path: Path, xlabel: str,
                   title: str, data: str) -> None:
    """Accuracy (%) with 95 % Wilson intervals vs ``x_key``, one line per defence and
    ``(row key, line style, marker, who)`` in ``series``; chance level dotted."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for defence in defences:
        cur = sorted((r for r in rs if r["defence"] == defence), key=lambda r: r[x_key])
        if not cur:
            continue
        x = [r[x_key] for r in cur]
        for key, style, marker, who in series:
            err = list(zip(*[_ci(r[key], r["n_test"]) for r in cur]))
            ax.errorbar(x, [100 * r[key] for r in cur], yerr=err, ls=style, marker=marker,
                        color=COLORS[defence], capsize=2, label=f"{who}, {LABELS[defence]}")
    ax.axhline(10, color="k", lw=0.8, ls=":", label="chance")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.text(0.01, 0.01, "Data: " + data, fontsize=6)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_defences(rows: list[dict], dataset: str, path: Path, eve_offset_db: float, data: str) -> None:
    """Eve's accuracy vs SNR per defence (solid) and Bob's (dashed)."""
    rs = [r for r in rows if r["dataset"] == dataset and r.get("experiment") == "defences"]
    _accuracy_plot(rs, tuple(LABELS), "snr_db", (("eve_accuracy", "-", "o", "Eve"), ("bob_accuracy", "--", "^", "Bob")),
                   path, f"Bob's SNR (dB); Eve's SNR = Bob's {eve_offset_db:+g} dB",
                   f"{dataset}: semantic leakage to Eve vs SNR", data)


def plot_psr(rows: list[dict], dataset: str, path: Path, data: str) -> None:
    """Eve's accuracy (fixed and retrained) and Bob's vs the perturbation-to-signal ratio."""
    rs = [r for r in rows if r["dataset"] == dataset and r.get("experiment") == "psr"]
    _accuracy_plot(rs, ("perturbation", "both"), "psr_db",
                   (("eve_accuracy", "-", "o", "Eve"), ("eve_accuracy_adapted", ":", "s", "Eve retrained on perturbed"),
                    ("bob_accuracy", "--", "^", "Bob")),
                   path, "perturbation-to-signal power ratio (dB)",
                   f"{dataset}: the perturbation's power, Bob at 10 dB", data)
