"""Run GNU Radio flowgraphs as subprocesses under an interpreter that has GNU Radio.

privsem never imports gnuradio: Debian's GNU Radio lives in the system python3 (numpy
< 2) and privsem's virtualenv may have numpy 2. The interpreter is
``$PRIVSEM_GR_PYTHON`` if set, else the first of ``/usr/bin/python3``, ``python3`` that
can import ``gnuradio.gr`` and ``gnuradio.zeromq``.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..errors import PrivsemError
from ..resources import data_dir


@functools.lru_cache(maxsize=1)
def find_gnuradio_python() -> str | None:
    """Path of a Python interpreter that imports GNU Radio, or None."""
    env = os.environ.get("PRIVSEM_GR_PYTHON")
    candidates = [env] if env else ["/usr/bin/python3", shutil.which("python3")]
    for py in filter(None, candidates):
        try:
            ok = subprocess.run([py, "-c", "from gnuradio import gr, zeromq"], capture_output=True,
                                timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return py
    return None


def flowgraph_path(name: str) -> Path:
    """``flowgraphs/<name>.py``: the directory is ``$PRIVSEM_FLOWGRAPHS``, else the
    checkout's ``flowgraphs/``, else the installed wheel's copy
    (:func:`privsem.resources.data_dir`)."""
    path = data_dir("flowgraphs") / f"{name}.py"
    if not path.is_file():
        raise PrivsemError(f"flowgraph not found: {path}")
    return path


class Flowgraph:
    """A generated flowgraph running in its own process.

    ``Flowgraph("zmq_passthrough", in_addr=..., out_addr=...)`` runs
    ``python flowgraphs/zmq_passthrough.py --in-addr ... --out-addr ...``; use it as a
    context manager. On exit it is stopped with SIGINT (the generated ``main`` stops
    the top block cleanly), then SIGTERM, then SIGKILL.
    """

    def __init__(self, name: str, **params) -> None:
        py = find_gnuradio_python()
        if py is None:
            raise PrivsemError("GNU Radio not found: no python3 imports gnuradio "
                               "(install Debian's gnuradio or set PRIVSEM_GR_PYTHON)")
        args = [py, "-u", str(flowgraph_path(name))]
        for k, v in params.items():
            args += [f"--{k.replace('_', '-')}", str(v)]
        self.name = name
        self._log = tempfile.NamedTemporaryFile(prefix=f"privsem-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 1) -> str:
        text = Path(self._log.name).read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) if text else "(no output)"

    def check(self) -> None:
        """Raise PrivsemError if the flowgraph has exited."""
        if not self.alive():
            raise PrivsemError(f"flowgraph {self.name} exited with code {self.proc.returncode}: "
                               f"{self.log_tail()}")

    def stop(self) -> int:
        for sig, wait in ((signal.SIGINT, 5), (signal.SIGTERM, 3), (signal.SIGKILL, 3)):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
        return self.proc.returncode

    def __enter__(self) -> Flowgraph:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
