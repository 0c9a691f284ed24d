"""Every committed flowgraph .py is exactly what grcc generates from its .grc."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "flowgraphs"
GRCS = sorted(ROOT.glob("*.grc"))


def test_there_are_flowgraphs():
    assert GRCS and all(g.with_suffix(".py").is_file() for g in GRCS)


@pytest.mark.parametrize("grc", GRCS, ids=lambda p: p.stem)
def test_generated_py_is_current(grc, tmp_path, gr_python):
    grcc = shutil.which("grcc")
    if grcc is None:
        pytest.skip("grcc not found (GNU Radio Companion's compiler)")
    subprocess.run([grcc, "-o", str(tmp_path), str(grc)], check=True, capture_output=True, timeout=120)
    generated = (tmp_path / f"{grc.stem}.py").read_text()
    assert generated == grc.with_suffix(".py").read_text(), f"regenerate: grcc -o flowgraphs {grc.name}"
