"""Means with 95 % confidence intervals over evaluation rows."""

from __future__ import annotations

import math

import numpy as np

METRICS = ("psnr", "ssim", "psnr_region", "ssim_region", "identity_recognized")


def mean_ci(values) -> tuple[float, float, int]:
    """Mean and the half-width of its 95 % Student-t interval (NaN when n < 2); None and
    NaN skipped. The half-width is never negative (0 when every value is equal)."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None], np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, 0
    if v.size < 2:
        return float(v.mean()), math.nan, 1
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), max(0.0, float(half)), int(v.size)


def wilson(values) -> tuple[float, float, float, int]:
    """A proportion and its 95 % Wilson interval ``(p, lo, hi, n)`` from booleans (None skipped)."""
    v = [bool(x) for x in values if x is not None]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    p, z = sum(v) / n, 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # In exact arithmetic lo ≤ p ≤ hi; in floating point the bound at p = 0 or 1 can land
    # an ulp on the wrong side (hi = 0.9999999999999999 for 4 of 4), so clamp here.
    return p, min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half)), n


def interval(values, proportion: bool = False) -> tuple[float, float, float, int]:
    """``(point, lo, hi, n)`` with ``lo ≤ point ≤ hi`` whenever n > 0: the Wilson interval
    for booleans (``proportion``), else the mean ± its Student-t half-width (lo = hi =
    mean when n = 1). All NaN when n = 0. Units are those of ``values``."""
    if proportion:
        return wilson(values)
    m, h, n = mean_ci(values)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    h = 0.0 if math.isnan(h) else h
    return m, m - h, m + h, n


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
