"""``privsem loopback --via gnuradio --gui`` under Xvfb: the run goes through
sim_channel_gui and decodes exactly what the headless sim_channel gives (same seed, no
CFO: the flowgraphs are sample-identical), writes its outputs before the window closes,
and the window shows the spectrum, the waterfalls and the equalized constellation that
privsem fed back. The screenshot is docs/view.md's (``PRIVSEM_SCREENSHOT_DIR=docs/view``)."""

import json
import os
import subprocess
import sys
import time

import numpy as np

from privsem.loopback import run_loopback
from privsem.recovery import RecoveryOptions


def test_loopback_gui_matches_headless_and_shows_the_constellation(gr_python, xvfb, example_db, tmp_path,
                                                                  keep_screenshot):
    from PIL import ImageGrab

    db, scenes = example_db
    image = scenes / "chelsea.png"
    env = {**os.environ, "DISPLAY": xvfb, "OMP_NUM_THREADS": "1", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    env.pop("QT_QPA_PLATFORM", None)
    out = tmp_path / "gui"
    proc = subprocess.Popen([sys.executable, "-m", "privsem", "loopback", str(image), "--db", str(db), "--snr", "12",
                             "--eve-snr", "3", "--via", "gnuradio", "--gui", "--gui-hold", "30", "--steps", "2",
                             "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (out / "report.json").is_file():
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no report within 300 s"
            time.sleep(0.2)
        time.sleep(2.0)  # the constellation and waterfall refresh every 0.1-0.2 s
        shot = ImageGrab.grab(xdisplay=xvfb)
        assert proc.poll() is None, "the GUI should stay up for --gui-hold"
        proc.send_signal(2)  # Ctrl-C ends the hold; the run already finished: exit 0
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-2000:]
    gui = json.loads((out / "report.json").read_text())

    headless = run_loopback(image, db, 12.0, "awgn", tmp_path / "headless", eve_snr_db=3.0, via="gnuradio",
                            recovery=RecoveryOptions(steps=2))
    for role in ("bob", "eve"):
        assert gui[role]["link"]["frames"] == headless[role]["link"]["frames"]
        assert gui[role]["psnr"] == headless[role]["psnr"] and gui[role]["link"]["frames_received"] == 4
    assert gui["bob"]["link"]["snr_est_db"] > gui["eve"]["link"]["snr_est_db"] + 6

    shot = shot.crop(shot.getbbox())
    path = tmp_path / "gui_loopback.png"
    shot.save(path)
    keep_screenshot(path)
    a = np.asarray(shot.convert("RGB"), dtype=int)
    h, w, _ = a.shape
    assert w >= 1000 and h >= 700
    # the constellation (top right quarter) holds Bob's blue and Eve's red points
    q = a[: h // 2, w // 2:]
    blue = np.sum((q[..., 2] > 180) & (q[..., 0] < 120) & (q[..., 1] < 120))
    red = np.sum((q[..., 0] > 180) & (q[..., 1] < 120) & (q[..., 2] < 120))
    assert blue > 500 and red > 500, (blue, red)
