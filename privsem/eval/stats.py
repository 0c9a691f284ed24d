"""Means with 95 % confidence intervals over evaluation rows."""

from __future__ import annotations

import math

import numpy as np

METRICS = ("psnr", "ssim", "psnr_region", "ssim_region", "identity_recognized")


def mean_ci(values) -> tuple[float, float, int]:
    """Mean and the half-width of its 95 % Student-t interval (NaN when n < 2); None skipped."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None], np.float64)
    if v.size == 0:
        return math.nan, math.nan, 0
    if v.size < 2:
        return float(v.mean()), math.nan, 1
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), float(half), int(v.size)


def wilson(values) -> tuple[float, float, float, int]:
    """A proportion and its 95 % Wilson interval ``(p, lo, hi, n)`` from booleans (None skipped)."""
    v = [bool(x) for x in values if x is not None]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    p, z = sum(v) / n, 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, max(0.0, centre - half), min(1.0, centre + half), n


def select(rows: list[dict], **match) -> list[dict]:
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def summarize(rows: list[dict]) -> list[dict]:
    """One entry per (variant, role, channel, point): every metric's mean, CI and n."""
    keys = sorted({(r["variant"], r["role"], r["channel"], r["point"]) for r in rows},
                  key=lambda k: (k[0], k[1], k[2], k[3]))
    out = []
    for variant, role, channel, point in keys:
        rs = select(rows, variant=variant, role=role, channel=channel, point=point)
        e = {"variant": variant, "role": role, "channel": channel, "point": point,
             "snr_db": mean_ci([r["snr_db"] for r in rs])[0]}
        for m in METRICS[:-1]:
            mean, half, n = mean_ci([r[m] for r in rs])
            e[m] = {"mean": _r(mean), "ci95": _r(half), "n": n}
        p, lo, hi, n = wilson([r["identity_recognized"] for r in rs])
        e["identity_recognized"] = {"mean": _r(p), "ci95_low": _r(lo), "ci95_high": _r(hi), "n": n}
        out.append(e)
    return out


def _r(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 4)
