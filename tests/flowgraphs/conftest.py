import os
import shutil
import subprocess
import time

import pytest

from privsem.transport.gnuradio import find_gnuradio_python


@pytest.fixture(scope="session")
def gr_python():
    py = find_gnuradio_python()
    if py is None:
        pytest.skip("GNU Radio not found: no python3 imports gnuradio (run ./setup.sh as root "
                    "to apt-get install gnuradio, or set PRIVSEM_GR_PYTHON)")
    return py


@pytest.fixture
def xvfb():
    """A virtual X display ``:N`` (1400x900x24); killed at teardown."""
    exe = shutil.which("Xvfb")
    if exe is None:
        print("SKIP reason: Xvfb is not installed (apt-get install xvfb)")
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    r, w = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(w), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        buf = b""
        deadline = time.monotonic() + 20
        while not buf.endswith(b"\n"):
            assert time.monotonic() < deadline and proc.poll() is None, "Xvfb did not start"
            chunk = os.read(r, 16)
            if not chunk:
                break
            buf += chunk
        os.close(r)
        yield f":{int(buf.strip())}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
