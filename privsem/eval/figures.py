"""Figs. 4–6 of the paper from evaluation rows (matplotlib, Agg), with 95 % intervals."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from .stats import interval, mean_ci, select

STYLE = {"bob": ("tab:blue", "o", "Bob"), "eve": ("tab:red", "s", "Eve")}
LINES = {"awgn": "-", "rayleigh": "--"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _curve(ax, rows: list[dict], metric: str, xlabel: str) -> None:
    """Bob and Eve of the ``full`` run, one line per channel, error bars = 95 % CI."""
    for channel in dict.fromkeys(r["channel"] for r in rows):
        for role, (color, marker, label) in STYLE.items():
            rs = select(rows, variant="full", role=role, channel=channel)
            points = sorted({r["point"] for r in rs})
            xs, ys, lo, hi = [], [], [], []
            for p in points:
                group = select(rs, point=p)
                x = mean_ci([r["snr_db"] for r in select(rows, variant="full", role="bob", channel=channel,
                                                            point=p)])[0]
                if np.isnan(x):  # no Bob row at this point: the group's own SNR
                    x = mean_ci([r["snr_db"] for r in group])[0]
                proportion = metric == "identity_recognized"
                m, a, b, n = interval([r.get(metric) for r in group], proportion=proportion)
                if n == 0 or np.isnan(x):  # no data for this group: no point, not a crash
                    continue
                scale = 100.0 if proportion else 1.0
                xs.append(x + (-0.15 if role == "bob" else 0.15))  # side by side, not on top
                ys.append(scale * m)
                lo.append(max(0.0, scale * (m - a)))
                hi.append(max(0.0, scale * (b - m)))
            if xs:
                ax.errorbar(xs, ys, yerr=[lo, hi], color=color, marker=marker, ls=LINES.get(channel, ":"),
                            capsize=3, label=f"{label}, {channel}")
    if not ax.has_data():
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="0.5")
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)


def _xlabel(rows: list[dict]) -> str:
    return ("SNR measured at Bob (dB)" if rows and rows[0].get("transport") == "radio" else "SNR (dB)")


def fig5(rows: list[dict], path: Path, note: str = "") -> None:
    """(a) whole-image PSNR, (b) privacy-region PSNR vs SNR."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric, title in zip(axes, ("psnr", "psnr_region"), ("(a) PSNR, whole image", "(b) PSNR, privacy region")):
        _curve(ax, rows, metric, _xlabel(rows))
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(title)
    _legend(axes[0])
    _finish(fig, path, note)


def fig6(rows: list[dict], path: Path, note: str = "") -> None:
    """(a) whole-image SSIM, (b) privacy-region SSIM, (c) identity recognition vs SNR."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    spec = (("ssim", "(a) SSIM, whole image", "SSIM"), ("ssim_region", "(b) SSIM, privacy region", "SSIM"),
            ("identity_recognized", "(c) identity recognized", "probability (%)"))
    for ax, (metric, title, ylabel) in zip(axes, spec):
        _curve(ax, rows, metric, _xlabel(rows))
        ax.set_title(title)
        ax.set_ylabel(ylabel)
    axes[2].set_ylim(-5, 105)
    _legend(axes[0])
    _finish(fig, path, note)


def fig4(out: Path, rows: list[dict], path: Path, image: int = 0) -> bool:
    """Original and guarded image, then Bob's (top) and Eve's (bottom) reconstruction per
    SNR, one pair of rows per channel; from the PNGs the run saved. False if none."""
    from ..imageio import load_image

    d = out / "images"
    orig = d / f"{image:03d}_original.png"
    if not orig.is_file():
        return False
    plt = _plt()
    channels = list(dict.fromkeys(r["channel"] for r in rows))
    points = sorted({r["point"] for r in rows})
    unit = "dB TX gain" if rows and rows[0].get("transport") == "radio" else "dB"
    ncol = 2 + len(points)
    fig, axes = plt.subplots(2 * len(channels), ncol, figsize=(1.9 * ncol, 1.6 * 2 * len(channels)), squeeze=False)
    for a in axes.flat:
        a.axis("off")
    for c, channel in enumerate(channels):
        for k, role in enumerate(("bob", "eve")):
            r = 2 * c + k
            if k == 0:
                axes[r, 0].imshow(load_image(orig))
                axes[r, 0].set_title("original", fontsize=8)
                axes[r, 1].imshow(load_image(d / f"{image:03d}_guarded.png"))
                axes[r, 1].set_title("guarded A", fontsize=8)
            for j, p in enumerate(points):
                f = d / f"{image:03d}_{channel}_{p:g}_{role}.png"
                if f.is_file():
                    axes[r, 2 + j].imshow(load_image(f))
                    axes[r, 2 + j].set_title(f"{STYLE[role][2]}, {channel}, {p:g} {unit}", fontsize=7)
    _finish(fig, path, "")
    return True


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _finish(fig, path: Path, note: str) -> None:
    """Lays out ``fig`` with ``note`` (7 pt, wrapped to the figure's width) under it, and
    saves it to ``path``."""
    if note:
        width_in, height_in = fig.get_size_inches()
        # 7 pt characters average under 0.6 em wide; lines are 1.25 em apart
        lines = textwrap.wrap(note, width=max(40, int(width_in * 72 / (7 * 0.6))))
        fig.text(0.01, 0.005, "\n".join(lines), fontsize=7, color="0.35", va="bottom")
        fig.tight_layout(rect=(0, min(0.5, (len(lines) * 7 * 1.25 + 4) / (height_in * 72)), 1, 1))
    else:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
