"""``privsem bench recovery`` on one scene with two steps: structure and value ranges
(the figures themselves come from the command, never from a test)."""

import json

from privsem.cli import main


def test_bench_recovery_structure(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["bench", "recovery", "--scenes", "1", "--snrs", "20", "--steps", "2",
                 "--variants", "bob,bob_notext,eve,telea", "--json", str(out),
                 "--plot", str(tmp_path / "r.png"), "--examples", str(tmp_path / "e.png")]) == 0
    r = json.loads(out.read_text())
    assert r["n_scenes"] == 1 and r["steps"] == 2 and 0 <= r["chance_identity"] <= 1
    assert r["hint_received"] == 1.0  # Bob opened the sealed mask and the sender's placement hint
    for k in ("face_judge_chance", "face_judge_on_originals"):  # {"recognized": share or None, "n": count}
        v = r[k]
        assert (v["recognized"] is None) == (v["n"] == 0) and (v["n"] == 0 or 0 <= v["recognized"] <= 1)
    assert r["face_judge_on_originals"]["n"] <= 1
    assert set(r["summary"]) == {"bob@20", "bob_notext@20", "eve@20", "telea@20"}
    rows = r["rows"]
    assert {row["variant"] for row in rows} == {"bob", "bob_notext", "eve", "telea"}
    for row in rows:
        assert 5 < row["psnr"] < 60 and 0 <= row["ssim"] <= 1 and row["identity_recognized"] in (0.0, 1.0)
        assert 0 < row["psnr_region"] < 60
    assert r["mask_estimate_iou"]["20"]["iou_true"] > 0.8
    assert r["recover_256_s_bob"] > 0 and r["recover_256_s_eve"] > 0
    assert (tmp_path / "r.png").stat().st_size > 1000 and (tmp_path / "e.png").stat().st_size > 1000


def test_bench_recovery_bad_input(capsys):
    assert main(["bench", "recovery", "--variants", "bob,wizard"]) != 0
    assert "unknown variant 'wizard'" in capsys.readouterr().err
    assert main(["bench", "recovery", "--scheduler", "euler"]) != 0
    assert "unknown scheduler" in capsys.readouterr().err
