"""A short soak through one long-running sim_channel flowgraph: every frame accounted
for per role, memory and fd samples present, the report written also on a bad stop."""

import json

import pytest

from privsem.bench.soak import SoakConfig, memory_summary, run_soak
from privsem.cli import main


def test_short_soak_accounts_every_frame(gr_python, tmp_path, example_db):
    # Eve at -4 dB loses some frames; Bob at 12 dB none. Either way sent = received + lost.
    cfg = SoakConfig(images=6, distinct=3, snr_db=12.0, eve_snr_db=-4.0, sample_every=2, warmup=2,
                     db=str(example_db[0]))
    report = run_soak(cfg, tmp_path / "soak.json", progress=False)
    assert report["status"] == "ok" and report["images_done"] == 6
    assert json.loads((tmp_path / "soak.json").read_text())["frames_sent"] == report["frames_sent"]
    for role, rec in report["roles"].items():
        assert rec["frames_received"] + rec["frames_lost"] == report["frames_sent"], role
        assert len(rec["lost"]) == rec["frames_lost"]
        assert rec["messages_complete"] + rec["messages_partial"] + rec["messages_missing"] == 6
        assert all(0 <= m < 6 for m, _ in rec["lost"])
    assert report["roles"]["bob"]["frames_lost"] == 0 and report["roles"]["bob"]["messages_complete"] == 6
    assert report["roles"]["bob"]["mean_psnr_a_hat_db"] > 20
    assert report["roles"]["eve"]["frames_lost"] > 0
    assert [s["image"] for s in report["samples"]] == [0, 2, 4, 6]
    mem = report["memory"]
    assert mem["from_image"] == 2 and mem["privsem"]["rss_end_mb"] > 100 and mem["flowgraph"]["fds_end"] > 0


def test_memory_summary_measures_from_warmup():
    s = [{"image": i, "privsem": {"rss_mb": 100.0 + i, "fds": 10}, "flowgraph": {"rss_mb": None, "fds": None}}
         for i in (0, 5, 10, 15)]
    m = memory_summary(s, warmup=5)
    assert m["from_image"] == 5 and m["privsem"]["rss_growth_mb"] == 10.0 and m["privsem"]["rss_peak_mb"] == 115.0
    assert "flowgraph" not in m


@pytest.mark.parametrize("args, msg", [
    (["--images", "0"], "--images must be ≥ 1"),
    (["--recovery", "magic"], "unknown recovery 'magic'"),
    (["--snr", "99"], "--snr 99 is outside"),
    (["--db", "NOPE"], "not a privacy database: NOPE"),
])
def test_soak_bad_input_one_line(args, msg, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "soak", *args]) == 1
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1
