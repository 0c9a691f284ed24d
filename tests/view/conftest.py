import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

LINE = re.compile(r"serving (http://\S+) ; runs publish with --view=(\S+)")


class View:
    """``privsem view`` as its own process, as a user starts it."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "privsem", "view", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        m = LINE.search(line)
        if not m:
            self.proc.kill()
            raise AssertionError(f"privsem view did not start: {line!r} {self.proc.stderr.read()[-2000:]}")
        self.url, self.events = m.group(1), m.group(2)

    def state(self) -> dict:
        with urllib.request.urlopen(self.url + "state", timeout=10) as r:
            return json.load(r)

    def wait(self, pred, timeout: float = 30.0, what: str = "condition"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.state()
            if pred(s):
                return s
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}: {json.dumps(self.state())[:2000]}")

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode, self.proc.stderr.read()


@pytest.fixture
def start_view():
    """``start_view(*args)``: another ``privsem view`` process (stopped at teardown)."""
    started = []

    def start(*args: str) -> View:
        started.append(View(*args))
        return started[-1]

    yield start
    for v in started:
        v.stop()


@pytest.fixture
def view():
    v = View("--port", "0", "--events", "tcp://127.0.0.1:*")
    yield v
    v.stop()


@pytest.fixture(scope="session")
def scene(example_db) -> tuple[Path, Path]:
    db, scenes = example_db
    return db, scenes / "chelsea.png"
