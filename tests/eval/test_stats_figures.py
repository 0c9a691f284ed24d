"""Intervals at the edges (p = 0 and 1, n = 1…64), figures drawn from rows that hit those
edges, and a run whose figures fail keeping its rows (issue 23)."""

import json
import math

import numpy as np
import pytest

from privsem.eval import figures
from privsem.eval.config import EvalConfig
from privsem.eval.report import write_outputs
from privsem.eval.stats import interval, mean_ci, wilson

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("n", range(1, 65))
def test_wilson_contains_its_point_at_p0_and_p1(n):
    for k in (0, n):
        p, lo, hi, m = wilson([True] * k + [False] * (n - k))
        assert m == n and p == k / n
        assert 0.0 <= lo <= p <= hi <= 1.0
        assert (lo == 0.0) if k == 0 else (hi == 1.0)  # the interval reaches the edge it sits on
        assert hi - lo > 0  # and is not degenerate: n is finite


@pytest.mark.parametrize("n", range(1, 65))
def test_t_interval_contains_its_point(n):
    rng = np.random.default_rng(n)
    for values in ([7.25] * n, list(rng.normal(20, 3, n)), [0.0] * n, [1.0] * n):
        m, lo, hi, k = interval(values)
        assert k == n and lo <= m <= hi
        _, half, _ = mean_ci(values)
        assert (math.isnan(half) and n == 1) or half >= 0.0
    for k in (0, n):  # a proportion through the same door
        p, lo, hi, _ = interval([True] * k + [False] * (n - k), proportion=True)
        assert lo <= p <= hi


def test_empty_groups_and_nan_values():
    assert math.isnan(interval([])[0]) and interval([None, None])[3] == 0
    m, lo, hi, n = interval([1.0, float("nan"), 3.0])  # a NaN metric does not poison the mean
    assert (m, n) == (2.0, 2) and lo < 2.0 < hi
    assert wilson([])[3] == 0


def _edge_rows() -> list[dict]:
    """Rows built to hit every edge: identity 4 of 4 and 0 of 4 (the crash of issue 23),
    one-row groups (no t interval), equal values (zero width), a metric that is None
    everywhere for Eve over Rayleigh, and a channel where Bob has no rows at all."""
    rows = []
    for channel, roles in (("awgn", ("bob", "eve")), ("rayleigh", ("bob", "eve")), ("tdl", ("eve",))):
        for point in (0.0, 10.0, 15.0, 20.0):
            n = 1 if point == 0.0 else 4
            for role in roles:
                for i in range(n):
                    region = None if (channel == "rayleigh" and role == "eve") else 12.0 + (role == "bob") * 5
                    rows.append({"variant": "full", "role": role, "channel": channel, "point": point,
                                 "snr_db": point, "image": i, "psnr": 25.0 + i * (point == 20.0),
                                 "ssim": 0.5, "psnr_region": region, "ssim_region": region and 0.3,
                                 "identity_recognized": role == "bob"})
    return rows


def test_figures_draw_from_edge_rows(tmp_path):
    rows = _edge_rows()
    figures.fig5(rows, tmp_path / "fig5.png", "data: built to hit the edges")
    figures.fig6(rows, tmp_path / "fig6.png")
    for f in ("fig5.png", "fig6.png"):
        assert (tmp_path / f).read_bytes()[:8] == PNG and (tmp_path / f).stat().st_size > 10_000
    assert figures.fig4(tmp_path, rows, tmp_path / "fig4.png") is False  # no saved images: skipped, no crash
    # a metric with no data in any group: a marked empty panel, not an exception
    empty = [dict(r, psnr_region=None, ssim_region=None) for r in rows]
    figures.fig5(empty, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes()[:8] == PNG


def test_failed_figure_keeps_rows_and_names_itself(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise ValueError("'yerr' must not contain negative values")

    monkeypatch.setattr(figures, "fig6", boom)
    rows = _edge_rows()
    cfg = EvalConfig(images=str(tmp_path))  # a folder: no chance level to compute, no DB needed
    with pytest.warns(UserWarning, match=r"fig6\.png not drawn \(ValueError: 'yerr'"):
        result = write_outputs(cfg, tmp_path, rows, [], tmp_path, {})
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["rows"] == rows and saved["failed_figures"] == {"fig6": result["failed_figures"]["fig6"]}
    assert (tmp_path / "results.csv").read_text().count("\n") == len(rows) + 1
    assert (tmp_path / "fig5.png").is_file() and not (tmp_path / "fig6.png").exists()


@pytest.mark.parametrize("width_in", [4.0, 11.0, 16.5])
def test_a_long_data_note_stays_inside_the_figure(tmp_path, width_in):
    """The data note under Figs. 5 and 6 names the whole test set: wrapped, every line of it
    is drawn inside the saved figure (it ran off the right edge before)."""
    plt = figures._plt()
    fig, ax = plt.subplots(figsize=(width_in, 3.2))
    ax.plot([0, 20], [20, 30])
    note = "data: " + "16 heldout scenes of privsem.database.scenes (the example DB's entities) " * 4
    figures._finish(fig, tmp_path / "f.png", note)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()  # _finish closed the figure's own canvas
    (text,) = fig.texts
    box, frame = text.get_window_extent(renderer), fig.bbox
    assert text.get_text().count("\n") >= 1
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 < frame.y1 / 2
    assert ax.get_window_extent(renderer).y0 > box.y1  # the axes sit above the note
