"""The page in a real headless browser (Debian's chromium through chromedriver): it
loads, and during a short loopback run with --view shows all four images and the run's
metrics, equal to what the run wrote to report.json; a killed run and a stopped view
are said on the page. ``PRIVSEM_SCREENSHOT_DIR=docs/view`` also saves the screenshot
used in docs/view.md."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from privsem.view.events import LOST_AFTER_S

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1100")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed (./setup.sh installs them as root)")
    webdriver = pytest.importorskip("selenium.webdriver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for f in FLAGS + (f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",):
        opts.add_argument(f)
    d = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=driver))
    yield d
    d.quit()


def wait_for(driver, js: str, timeout: float, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: d.execute_script(js))
    except Exception:
        status = driver.execute_script("return document.getElementById('status').textContent")
        raise AssertionError(f"page never showed {what}; status: {status!r}") from None


def text(driver, id: str) -> str:
    return driver.execute_script(f"return document.getElementById({id!r}).textContent").strip()


def painted(driver, canvas: str, rgb: tuple[int, int, int]) -> int:
    """Pixels of a canvas within 40 of the colour ``rgb``."""
    return driver.execute_script(
        "const c = document.getElementById(arguments[0]), d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0;"
        "for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]-arguments[1]) + Math.abs(d[i+1]-arguments[2])"
        " + Math.abs(d[i+2]-arguments[3]) < 40 && d[i+3] > 200) n++; return n;", canvas, *rgb)


def test_page_shows_a_loopback_run(browser, view, scene, tmp_path, keep_screenshot):
    db, image = scene
    browser.get(view.url)
    wait_for(browser, "return document.getElementById('conn').dataset.state === 'connected'", 30, "the connection")
    assert browser.execute_script("return document.getElementById('status').dataset.status") == "none"

    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "privsem", "loopback", str(image), "--db", str(db), "--snr", "10",
                        "--out", str(out), "--steps", "3", f"--view={view.events}"],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())

    wait_for(browser, "return document.getElementById('status').dataset.status === 'ok'", 60, "the run's end")
    assert "Run ended: loopback" in text(browser, "status")
    # all four images, decoded by the browser
    sizes = wait_for(browser, "const s = [...document.querySelectorAll('#images img')].map(i => i.naturalWidth);"
                              "return s.every(w => w > 0) && s", 30, "the four images")
    h, w = report["shape"]
    assert sizes == [w, w, w, w]
    # the numbers are the run's own
    for role in ("bob", "eve"):
        m, link = report[role], report[role]["link"]
        assert text(browser, f"{role}-psnr") == f"{m['psnr']:.2f}"
        assert text(browser, f"{role}-psnr_region") == f"{m['psnr_region']:.2f}"
        assert text(browser, f"{role}-ssim_region") == f"{m['ssim_region']:.3f}"
        assert text(browser, f"{role}-frames_received") == f"{link['frames_received']} / {link['frames_sent']}"
        assert text(browser, f"{role}-frames_lost") == str(len(link["frames_lost"]))
        assert text(browser, f"{role}-crc_failures") == str(link["crc_failures"])
        assert text(browser, f"{role}-frames_detected") == str(len(link["frames"]))
        assert text(browser, f"{role}-snr_db") == f"{link['frames'][-1]['snr_db']:.2f}"
        assert text(browser, f"{role}-cfo_hz") == f"{link['frames'][-1]['cfo_hz']:.1f}"
        assert text(browser, f"{role}-snr_est_db") == f"{link['snr_est_db']:.2f}"
    assert report["bob"]["identity_recognized"] and text(browser, "bob-identity") == "yes (chelsea)"
    assert not report["eve"]["identity_recognized"] and text(browser, "eve-identity") == "no"
    assert "removed “chelsea”" in text(browser, "guard")
    # the plots were drawn: Bob's blue and Eve's red points on the PSNR-vs-time plot
    assert painted(browser, "psnr-plot", (31, 119, 180)) > 20 and painted(browser, "psnr-plot", (214, 39, 40)) > 20
    assert painted(browser, "frame-plot", (31, 119, 180)) > 20 and painted(browser, "const-eve", (214, 39, 40)) > 50
    shot = tmp_path / "view_page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 50_000
    keep_screenshot(shot)


def test_page_says_a_run_was_lost_and_the_view_stopped(browser, view, tmp_path):
    browser.get(view.url)
    wait_for(browser, "return document.getElementById('conn').dataset.state === 'connected'", 30, "the connection")
    script = tmp_path / "run.py"
    script.write_text("import sys, time\nfrom privsem.view.events import Publisher\n"
                      "Publisher(sys.argv[1], 'rx').__enter__()\nprint('started', flush=True)\ntime.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, str(script), view.events], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        wait_for(browser, "return document.getElementById('status').dataset.status === 'running'", 30, "the run")
        proc.send_signal(signal.SIGKILL)
        wait_for(browser, "return document.getElementById('status').dataset.status === 'lost'", LOST_AFTER_S + 15,
                 "the lost run")
        assert "Run lost: rx" in text(browser, "status") and "killed" in text(browser, "status")
    finally:
        proc.kill()
        proc.wait()
    view.proc.send_signal(signal.SIGINT)
    wait_for(browser, "return document.getElementById('conn').dataset.state === 'stopped'", 15, "the view stopping")
    assert "view server stopped" in text(browser, "status")
