import json

import numpy as np
from PIL import Image

from privsem.bench.codec import plot, run
from privsem.cli import main
from privsem.codec.data import named_image


def _folder(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    img = named_image("chelsea")[60:156, 150:278]  # 96×128
    Image.fromarray((img * 255).astype(np.uint8)).save(d / "cat.png")
    return d


def test_bench_rows_on_a_user_folder(tmp_path):
    res = run(_folder(tmp_path), snrs=(12.0,), kns=("1/12",), channels=("awgn",), image_codecs=("jpeg",),
              progress=lambda s: None, design_snr=10.0, mismatch_snrs=(0.0, 10.0))
    assert res["n_images"] == 1 and "imgs" in res["data"]
    rows = {r["codec"]: r for r in res["rows"]}
    assert set(rows) == {"jscc", "auto", "softcast", "hda", "superposed", "digital", "capacity"}
    assert res["default_codec"] in {"jscc", "auto", "softcast", "hda", "superposed", "digital"}
    assert rows["auto"]["psnr"] in (rows["softcast"]["psnr"], rows["hda"]["psnr"], rows["superposed"]["psnr"])
    assert [rows["auto"][f"chose_{h}"] for h in ("hda", "superposed")] in (["0/1", "0/1"], ["1/1", "0/1"], ["0/1", "1/1"])
    for r in rows.values():
        assert r["channel"] == "awgn" and r["snr_db"] == 12.0 and r["kn"] == "1/12"
        assert 10.0 < r["psnr"] < 60.0 and 0.0 < r["ssim"] <= 1.0
    assert rows["digital"]["outages"] == "0/1" and rows["digital"]["image_codec"] == "jpeg"
    assert rows["capacity"]["psnr"] >= rows["digital"]["psnr"]
    assert rows["jscc"]["psnr"] > 22.0
    assert set(res["jscc_encode_decode_s_256"]) == {"1/12"} and res["jscc_encode_decode_s_256"]["1/12"] > 0
    mm = {(r["codec"], r["snr_db"]): r for r in res["mismatch"]}
    assert mm["digital", 10.0]["outages"] == "0/1" and mm["digital", 0.0]["outages"] == "1/1"
    assert mm["jscc", 0.0]["psnr"] > mm["digital", 0.0]["psnr"] + 5  # the cliff
    assert mm["softcast", 10.0]["psnr"] > mm["softcast", 0.0]["psnr"]
    # through the OFDM PHY at 10 dB: the receiver undoes delay, CFO, clock offset and gain
    phy = {(r["codec"], r["impairments"]): r for r in res["phy"]}
    assert set(phy) == {(c, i) for c in ("auto", "softcast", "hda", "superposed", "jscc", "digital")
                        for i in ("radio", "radio+multipath")}
    assert all(r["via"] == "software" and r["snr_db"] == 10.0 and r["lost"] == "0/1" for r in phy.values())
    assert abs(phy["softcast", "radio"]["loss_db"]) < 1.0 and abs(phy["jscc", "radio"]["loss_db"]) < 1.0
    assert phy["softcast", "radio+multipath"]["psnr"] > 20.0
    png = tmp_path / "fig.png"
    plot(res, png)
    assert png.stat().st_size > 10_000 and (tmp_path / "fig_mismatch.png").stat().st_size > 10_000


def test_bench_codec_cli_writes_json_and_refuses_bad_options(tmp_path, capsys):
    out = tmp_path / "b.json"
    rc = main(["bench", "codec", "--images", str(_folder(tmp_path)), "--snrs", "20", "--kn", "1/24",
               "--channels", "rayleigh", "--image-codecs", "avif", "--no-mismatch", "--phy", "none",
               "--json", str(out), "--plot", str(tmp_path / "p.png")])
    assert rc == 0
    res = json.loads(out.read_text())
    rows = res["rows"]
    assert res["phy"] == [] and (tmp_path / "p.png").stat().st_size > 10_000
    # auto, hda and superposed at the default margin, then again at the second of --margins (5,2)
    assert [r["codec"] for r in rows] == ["jscc", "auto", "softcast", "hda", "superposed", "auto", "hda", "superposed",
                                          "digital", "capacity"]
    assert [r.get("margin_db") for r in rows[1:8]] == [5.0, None, 5.0, 5.0, 2.0, 2.0, 2.0]
    assert res["margins_db"] == [5.0, 2.0]
    assert rows[8]["image_codec"] == "avif" and rows[8]["channel"] == "rayleigh"
    # 96×128 at 1/24 is 1 536 symbols: hda's analog quarter cannot hold its metadata; a row says so
    assert rows[3]["psnr"] is None and "too few for softcast's metadata" in rows[3]["cannot_serve"]
    assert rows[1]["chose_hda"] == "0/1" and rows[1]["psnr"] in (rows[2]["psnr"], rows[4]["psnr"])
    capsys.readouterr()
    for bad in (["--channels", "rician"], ["--image-codecs", "bpg"], ["--kn", "x"], ["--snrs", "a"], ["--phy", "usrp"],
                ["--margins", "5,5"], ["--margins", "-1"]):
        assert main(["bench", "codec", *bad]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("privsem: error:")


def test_the_default_is_judged_where_the_default_margin_promises_service():
    """Built for 10 dB with a 5 dB margin, a point at 2.5 dB is beyond what any code with
    a digital part is built to serve: the rule leaves it out for every code (the same
    points for all), unless asked to count the whole mismatch run."""
    from privsem.bench.codec import default_codec

    def row(codec, snr, psnr, **kw):
        return {"codec": codec, "channel": "awgn", "snr_db": snr, "kn": "1/6", "psnr": psnr, **kw}

    rows = [row("auto", 10.0, 33.0, margin_db=5.0), row("softcast", 10.0, 32.0),
            row("auto", 10.0, 33.5, margin_db=2.0)]  # another margin: not counted
    for snr, a, s in ((2.5, 11.5, 27.0), (5.0, 31.0, 28.7), (20.0, 36.9, 36.5)):
        rows += [row("auto", snr, a, margin_db=5.0, design_snr_db=10.0), row("softcast", snr, s, design_snr_db=10.0)]
    name, means = default_codec(rows, 5.0)
    assert name == "auto" and means == {"auto": round((33.0 + 31.0 + 36.9) / 3, 2), "softcast": round((32 + 28.7 + 36.5) / 3, 2)}
    name, means = default_codec(rows, 5.0, whole_mismatch=True)
    assert name == "softcast" and means["auto"] == round((33.0 + 11.5 + 31.0 + 36.9) / 4, 2)
    assert default_codec(rows, 2.0)[1]["auto"] == 33.5  # judged at margin 2: only that margin's auto rows


def test_the_default_mismatch_run_spans_minus_5_to_25_db():
    """Issue 21: every code built for 10 dB, run from −5 to 25 dB (the design SNR among
    the points, so the loss against it is read off the same run)."""
    import inspect

    snrs = inspect.signature(run).parameters["mismatch_snrs"].default
    assert min(snrs) == -5.0 and max(snrs) == 25.0 and 10.0 in snrs
    assert list(snrs) == sorted(snrs) and inspect.signature(run).parameters["design_snr"].default == 10.0
