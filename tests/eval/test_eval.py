"""privsem eval: the quick configuration end to end, resume, determinism, bad configs."""

import csv
import json
import math
from pathlib import Path

import pytest

from privsem.cli import main
from privsem.eval import parse_config
from privsem.eval.config import VARIANTS
from privsem.eval.report import claims
from privsem.eval.run import ROW_KEYS
from privsem.eval.stats import mean_ci, wilson

SPEC_KEYS = {"image", "snr_db", "channel", "role", "variant", "psnr", "ssim", "psnr_region", "ssim_region",
             "identity_recognized"}


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory, example_db):
    """The built-in quick config with the session's example DB (a run without ``db``
    builds its own, as tests/view/test_runs_publish.py checks)."""
    from privsem.eval.config import CONFIG_DIR

    cfg = tmp_path_factory.mktemp("cfg") / "quick.toml"
    cfg.write_text((CONFIG_DIR / "quick.toml").read_text() + f"db = '{example_db[0]}'\n")
    return str(cfg)


@pytest.fixture(scope="module")
def quick(tmp_path_factory, quick_config):
    out = tmp_path_factory.mktemp("eval") / "quick"
    assert main(["eval", "--config", quick_config, "--out", str(out)]) == 0
    return out


def test_quick_run_writes_rows_csv_figures_and_report(quick):
    res = json.loads((quick / "results.json").read_text())
    rows = res["rows"]
    # 2 images × 2 SNRs × AWGN; per unit: full/classical/noguard/digital for both roles, notext for Bob
    assert len(rows) == 2 * 2 * (4 * 2 + 1)
    assert {r["variant"] for r in rows} == set(VARIANTS)
    assert {r["snr_db"] for r in rows} == {5.0, 15.0} and {r["channel"] for r in rows} == {"awgn"}
    assert {r["role"] for r in rows} == {"bob", "eve"}
    for r in rows:
        assert SPEC_KEYS <= set(r)
        assert 5 < r["psnr"] < 60 and -1 <= r["ssim"] <= 1
        assert 0 < r["psnr_region"] < 60 and -1 <= r["ssim_region"] <= 1
        assert isinstance(r["identity_recognized"], bool)
        assert r["frames_lost"] == 0
    full = [r for r in rows if r["variant"] == "full"]
    bob = [r["identity_recognized"] for r in full if r["role"] == "bob"]
    eve = [r["identity_recognized"] for r in full if r["role"] == "eve"]
    # Bob restores the entity, Eve does not. The judge is the guard, which since issue 19
    # tells individuals apart (bench recovery: Bob 36–41 %, Eve 0 % on held-out views)
    assert sum(bob) >= 2 and sum(eve) == 0
    assert res["ceiling_identity"] == 1.0 and res["chance_identity"] == 0.0
    # sent without the guard, the entity arrives: Eve's region is far better than with it
    ng = [r["psnr_region"] for r in rows if r["variant"] == "noguard" and r["role"] == "eve"]
    g = [r["psnr_region"] for r in full if r["role"] == "eve"]
    assert min(ng) > max(g) + 3
    # Bob opens the mask sealed with the DB key (softcast, the default codec); Eve has no
    # outline to go on
    assert min(r["mask_iou"] for r in full if r["role"] == "bob") > 0.8
    assert max(r["mask_iou"] for r in full if r["role"] == "eve") < 0.3
    with (quick / "results.csv").open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows) and list(table[0]) == list(ROW_KEYS)
    assert float(table[0]["psnr"]) == pytest.approx(rows[0]["psnr"])
    for fig in ("fig4.png", "fig5.png", "fig6.png"):
        assert (quick / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (quick / fig).stat().st_size > 10_000
    md = (quick / "results.md").read_text()
    assert "**Ceiling of identity recognition**" in md and "before any channel" in md
    assert "## Claims" in md and md.count("| **m") == sum(c["met"] is not None for c in res["claims"])
    ids = {c["id"] for c in res["claims"]}
    assert {"text", "leakage", "psnr_gap", "region_psnr_gap", "bob_identity", "eve_identity"} <= ids
    assert res["summary"] and all(e["psnr"]["n"] == 2 for e in res["summary"])


def test_without_a_db_the_run_builds_the_example_db(tmp_path, example_db, monkeypatch):
    """No ``db`` in the config: the run builds the example DB outside --out, in a folder
    removed afterwards (here a copy of the session's, to save the 18 s of building it)."""
    import shutil

    from privsem.database import example

    built = []

    def build(root, scenes_dir=None, calibrate=True):
        built.append(Path(root))
        shutil.copytree(example_db[0], root)

    monkeypatch.setattr(example, "build_example_db", build)
    cfg = tmp_path / "c.toml"
    cfg.write_text("snrs = [20]\nchannels = ['awgn']\nn_images = 1\nsteps = 2\nvariants = ['full']\n"
                   "fig4_images = 0\n")
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 0
    rows = json.loads((tmp_path / "o" / "results.json").read_text())["rows"]
    assert len(rows) == 2 and len(built) == 1
    assert not built[0].exists() and tmp_path / "o" not in built[0].parents


def test_rerun_resumes_without_recomputing(quick, quick_config):
    before = (quick / "units.jsonl").read_text()
    rows = json.loads((quick / "results.json").read_text())["rows"]
    assert main(["eval", "--config", quick_config, "--out", str(quick)]) == 0
    assert (quick / "units.jsonl").read_text() == before  # nothing re-run
    assert json.loads((quick / "results.json").read_text())["rows"] == rows


def test_other_config_in_same_folder_refused(quick, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("snrs = [10]\nchannels = ['awgn']\nn_images = 1\n")
    assert main(["eval", "--config", str(cfg), "--out", str(quick)]) == 1
    assert "another configuration" in capsys.readouterr().err


def test_workers_and_folder_images_deterministic(tmp_path, example_db):
    db, scenes = example_db
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "cat.png").write_bytes((scenes / "chelsea.png").read_bytes())
    text = (f"snrs = [10, 20]\nchannels = ['rayleigh']\nimages = '{folder}'\nn_images = 1\nsteps = 2\n"
            f"variants = ['full']\ndb = '{db}'\nfig4_images = 0\n")
    results = []
    for workers in (1, 2):
        cfg = tmp_path / f"w{workers}.toml"
        cfg.write_text(text + f"workers = {workers}\n")
        assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / f"o{workers}")]) == 0
        results.append(json.loads((tmp_path / f"o{workers}" / "results.json").read_text())["rows"])
    assert len(results[0]) == len(results[1]) == 4
    for a, b in zip(*results):  # the same units and verdicts; metrics equal up to the last rounded digit
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float):
                assert abs(a[k] - b[k]) <= 2e-4, (k, a[k], b[k])
            else:
                assert a[k] == b[k], (k, a[k], b[k])
    assert {r["image"] for r in results[0]} == {"cat"} and results[0][0]["entity"] == "chelsea"


@pytest.mark.parametrize("text, key", [
    ("colour = 1\n", "colour: unknown key"),
    ("snrs = 'ten'\n", "snrs: must be a non-empty list"),
    ("snrs = []\n", "snrs: must be a non-empty list"),
    ("snrs = [0, 100]\n", "snrs: 100 is outside"),
    ("snrs = [5, 5]\n", "snrs: has duplicates"),
    ("snrs = [5, 'x']\n", "snrs: 'x' is not a number"),
    ("channels = ['rician']\n", "channels: unknown 'rician'"),
    ("transport = 'carrier pigeon'\n", "transport: unknown"),
    ("images = 'no/such/folder'\n", "images: no such folder"),
    ("variants = ['notext']\n", "variants: must include 'full'"),
    ("variants = ['full', 'joint']\n", "variants: 'joint' needs joint = DIR"),
    ("workers = 0\n", "workers: 0 is outside"),
    ("kn = '7/6'\n", "kn: not a bandwidth ratio"),
    ("margin_db = -1\n", "margin_db: -1 is outside"),
    ("transport = 'radio'\n", "radio.tx: transport = \"radio\" needs"),
    ("[radio]\nantenna = 1\n", "radio.antenna: unknown key"),
    ("snrs = [\n", "not valid TOML"),
])
def test_bad_config_one_line_naming_the_key(tmp_path, capsys, text, key):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("privsem: error: config") and key in err
    assert not (tmp_path / "o").exists()  # nothing started


def test_missing_config_and_empty_image_folder(tmp_path, capsys):
    assert main(["eval", "--config", "nonesuch", "--out", str(tmp_path / "o")]) == 1
    assert "config not found: nonesuch" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"images = '{tmp_path / 'empty'}'\n")
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 1
    assert "no PNG or JPEG images" in capsys.readouterr().err


def test_wilson_and_t_intervals():
    p, lo, hi, n = wilson([True] * 8 + [False] * 2)
    assert (p, n) == (0.8, 10) and lo == pytest.approx(0.490, abs=1e-3) and hi == pytest.approx(0.943, abs=1e-3)
    m, half, n = mean_ci([1.0, 2.0, 3.0, None])
    assert (m, n) == (2.0, 3) and half == pytest.approx(4.303 * 1 / math.sqrt(3), rel=1e-3)
    assert wilson([None])[3] == 0


def _rows(bob_region, eve_region, bob_id, eve_id):
    out = []
    for snr, bonus in ((0.0, 0.0), (20.0, 3.0)):
        for role, region, ident in (("bob", bob_region, bob_id), ("eve", eve_region, eve_id)):
            out.append({"variant": "full", "role": role, "channel": "awgn", "point": snr, "snr_db": snr,
                        "psnr": 20 + bonus + (3 if role == "bob" else 0), "ssim": 0.5 + bonus / 10,
                        "psnr_region": region, "ssim_region": 0.3, "identity_recognized": ident})
    return out


def test_claim_verdicts_follow_the_numbers():
    good = {c["id"]: c["met"] for c in claims(_rows(20.0, 12.0, True, False))}
    assert good["region_psnr_gap"] and good["psnr_gap"] and good["bob_identity"] and good["eve_identity"]
    assert good["psnr_snr"] and good["region_snr"]
    bad = {c["id"]: c["met"] for c in claims(_rows(12.0, 12.0, False, True))}
    assert not bad["region_psnr_gap"] and not bad["bob_identity"] and not bad["eve_identity"]
    assert "text" not in bad and "leakage" not in bad  # ablations not run: no verdict invented
    # the judge's ceiling is shown beside Bob's rate and leaves the verdict alone
    capped = {c["id"]: c for c in claims(_rows(12.0, 12.0, False, True), ceiling=0.9)}
    assert "unmodified images: 90.0 %" in capped["bob_identity"]["ours"] and capped["bob_identity"]["met"] is False


def test_parse_config_defaults_are_the_issue_grid():
    cfg = parse_config({})
    assert cfg.snrs == (0.0, 5.0, 10.0, 15.0, 20.0) and cfg.channels == ("awgn", "rayleigh")
    assert cfg.transport == "software" and cfg.variants == VARIANTS


def test_joint_folder_must_hold_the_parts(tmp_path, capsys):
    (tmp_path / "j").mkdir()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"joint = '{tmp_path / 'j'}'\n")
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 1
    assert "joint:" in capsys.readouterr().err


def _write_dataset(root):
    """Two individuals in the cat-individuals layout: three photos each, new views of
    one photo (the first two go into the DB, the third is the test)."""
    import numpy as np

    from privsem.database.scenes import make_scene
    from privsem.database.silhouettes import silhouette
    from privsem.database.views import make_view
    from privsem.imageio import save_image

    rng = np.random.default_rng(7)
    for folder, entity in (("Vicky", "chelsea"), ("Eileen Collins", "astronaut")):
        (root / folder).mkdir(parents=True)
        for j in range(2):
            save_image(root / folder / f"{j}.png", make_view(*silhouette(entity), "db", rng).image)
        save_image(root / folder / "2.png", make_scene(entity, "coffee", rng).image)
    (root / "Empty").mkdir()  # an individual without photos is skipped


def test_dataset_db_from_some_photos_test_on_the_others(tmp_path):
    root = tmp_path / "cats"
    _write_dataset(root)
    cfg = tmp_path / "c.toml"
    cfg.write_text("snrs = [20]\nchannels = ['awgn']\nn_images = 4\nsteps = 2\nvariants = ['full']\nfig4_images = 0\n"
                   "dataset_calibration_scenes = 16\n")
    out = tmp_path / "o"
    assert main(["eval", "--config", str(cfg), "--dataset", str(root), "--db-photos", "2", "--out", str(out)]) == 0
    manifest = json.loads((out / "db" / "manifest.json").read_text())
    names = manifest["entities"]
    assert set(names) == {"vicky", "eileen_collins"} and names["vicky"]["prompt"] == "the cat Vicky"
    assert all(len(e["samples"]) == 2 and e["threshold_method"].startswith("roc(") for e in names.values())
    res = json.loads((out / "results.json").read_text())
    rows = res["rows"]
    assert {r["image"] for r in rows} == {"vicky_2", "eileen_collins_2"}
    assert {r["entity"] for r in rows} == {"vicky", "eileen_collins"}
    assert "test photos of the individuals in" in res["data"]
    # the judge's ceiling: it names Vicky in her unmodified test photo, not Eileen Collins
    # (below); a dataset has no entity-free scenes to measure chance on
    assert res["ceiling_identity"] == 0.5 and res["chance_identity"] is None
    # with a DB of two other views of each and 16 calibration scenes, the guard finds Vicky
    # along her outline (Eileen Collins, on the coffee table, it misses: no region row)
    found = {r["entity"]: r["mask_iou"] for r in rows if r["role"] == "bob" and r["mask_iou"] is not None}
    assert found.get("vicky", 0) > 0.9


def test_dataset_without_test_photos_is_one_line(tmp_path, capsys):
    root = tmp_path / "cats"
    _write_dataset(root)
    assert main(["eval", "--dataset", str(root), "--db-photos", "3", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no individual's folder has more than 3 photos" in err
    assert main(["eval", "--dataset", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 1
    assert "dataset: no such folder" in capsys.readouterr().err


def test_codec_key_takes_a_name_or_a_weights_file(tmp_path):
    from pathlib import Path

    from privsem.errors import PrivsemError

    for name in ("softcast", "hda", "jscc", "digital"):
        assert parse_config({"codec": name}, "t", Path.cwd()).codec == name
    assert parse_config({}).margin_db == 5.0 and parse_config({"margin_db": 2}).margin_db == 2.0
    with pytest.raises(PrivsemError, match="codec: no such file"):
        parse_config({"codec": "nonesuch.safetensors"}, "t", tmp_path)
