"""What loopback, rx and eval publish with --view reaches the view and equals what
they write to their own reports; bad --view / --gui arguments are one clear line."""

import json
import os
import subprocess
import sys

import pytest

from privsem.cli import main


def privsem(*args, timeout=600):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "privsem", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish(p, timeout=600):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err[-2000:]
    return out, err


@pytest.fixture(scope="module")
def iq(scene, tmp_path_factory):
    db, image = scene
    path = tmp_path_factory.mktemp("iq") / "chelsea.sigmf-data"
    finish(privsem("tx", image, "--db", db, "--iq", path))
    return path


def test_bob_and_eve_rx_at_once_with_a_reference(view, scene, iq, tmp_path):
    db, image = scene
    bob = privsem("rx", "--role", "bob", "--db", db, "--iq", iq, "--out", tmp_path / "bob", "--reference", image,
                  "--steps", "3", f"--view={view.events}")
    eve = privsem("rx", "--role", "eve", "--iq", iq, "--out", tmp_path / "eve", "--reference", image,
                  "--score-db", db, "--steps", "3", f"--view={view.events}")
    out_b, _ = finish(bob)
    finish(eve)
    assert "vs --reference" in out_b
    s = view.wait(lambda s: len(s["runs"]) == 2 and all(r["status"] == "ok" for r in s["runs"]), what="both runs")
    assert {r["command"] for r in s["runs"]} == {"rx"}
    assert {i["name"] for i in s["images"]} == {"original", "guarded", "bob", "eve"}
    reports = {r: json.loads((tmp_path / r / "report.json").read_text()) for r in ("bob", "eve")}
    results = {r["role"]: r for r in s["results"]}
    for role, rep in reports.items():
        m = rep["messages"][0]["metrics"]
        assert results[role]["psnr"] == pytest.approx(m["psnr"]) and results[role]["psnr_region"] == pytest.approx(m["psnr_region"])
        assert results[role]["identity_recognized"] == m["identity_recognized"]
        link = s["links"][role]
        assert link["frames_received"] == rep["messages"][0]["frames_received"] == 4
        assert link["crc_failures"] == rep["crc_failures"] == 0
        assert len(s["frames"][role]) == rep["frames_detected"] == 4
        assert [f["snr_db"] for f in s["frames"][role]] == [f["snr_db"] for f in rep["frames"]]
    assert reports["bob"]["messages"][0]["metrics"]["identity_recognized"] is True
    assert reports["eve"]["messages"][0]["metrics"]["identity_recognized"] is False
    assert reports["bob"]["messages"][0]["metrics"]["psnr_region"] > 10


def test_a_reference_of_another_size_keeps_the_message(iq, tmp_path):
    import numpy as np

    from privsem.imageio import save_image

    small = tmp_path / "small.png"
    save_image(small, np.zeros((10, 12, 3), np.float32))
    _, err = finish(privsem("rx", "--role", "eve", "--iq", iq, "--out", tmp_path / "eve", "--reference", small,
                            "--steps", "2"))
    assert "not scored" in err and "10×12" in err
    rep = json.loads((tmp_path / "eve" / "report.json").read_text())
    assert "error" in rep["messages"][0]["metrics"] and (tmp_path / "eve" / "eve.png").is_file()


def test_eval_with_workers_publishes_each_unit(view, scene, tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text('snrs = [5, 20]\nchannels = ["awgn"]\nn_images = 1\nsteps = 2\nvariants = ["full"]\n'
                   f'workers = 2\nfig4_images = 0\ndb = "{scene[0]}"\n')
    finish(privsem("eval", "--config", cfg, "--out", tmp_path / "ev", f"--view={view.events}"), timeout=900)
    s = view.wait(lambda s: s["runs"] and s["runs"][0]["status"] == "ok", what="the eval run")
    rows = json.loads((tmp_path / "ev" / "results.json").read_text())["rows"]
    full = sorted((r["role"], r["snr_db"], round(r["psnr"], 4)) for r in rows if r["variant"] == "full")
    seen = sorted((r["role"], float(r["label"].split()[-2]), round(r["psnr"], 4)) for r in s["results"])
    assert seen == full and len(full) == 4
    assert {i["name"] for i in s["images"]} == {"original", "guarded", "bob", "eve"}
    assert len(s["runs"]) == 1 and s["bad_events"] == 0


@pytest.mark.parametrize("args,words", [
    (["--via", "software", "--gui"], "--via gnuradio"),
    (["--view", "nowhere"], "events endpoint"),
])
def test_bad_view_and_gui_arguments(scene, tmp_path, capsys, args, words):
    db, image = scene
    code = main(["loopback", str(image), "--db", str(db), "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert code == 1 and words in err and len(err.strip().splitlines()) == 1


def test_gui_without_a_display(scene, tmp_path, capsys, monkeypatch):
    for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(v, raising=False)
    db, image = scene
    code = main(["loopback", str(image), "--db", str(db), "--out", str(tmp_path / "o"), "--via", "gnuradio", "--gui"])
    err = capsys.readouterr().err
    assert code == 1 and "needs a display" in err and len(err.strip().splitlines()) == 1
    code = main(["rx", "--role", "eve", "--zmq", "tcp://127.0.0.1:9", "--out", str(tmp_path / "r"), "--gui"])
    assert code == 1 and "--radio" in capsys.readouterr().err
