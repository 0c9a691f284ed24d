"""A built wheel carries models/, flowgraphs/ and sdr/ and runs outside the checkout.

The wheel is built offline (``pip wheel --no-deps --no-build-isolation --no-index``) from
a copy of the project files, so the shared working tree gets no ``build/`` directory;
it is installed into a fresh venv that reuses this venv's dependencies through a
``.pth`` file, and ``privsem loopback`` runs from a directory outside the checkout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a wheel is built from (the rest of the top level is not packaged).
SOURCES = ("pyproject.toml", "README.md", "privsem", "models", "flowgraphs", "sdr")
DATA = ("models", "flowgraphs", "sdr")
# Variables that would point the installed privsem back at the checkout.
CLEAR = ("PRIVSEM_MODELS", "PRIVSEM_FLOWGRAPHS", "PRIVSEM_SDR_DIR", "PYTHONPATH", "PYTHONHOME",
         "PYTHONSTARTUP", "VIRTUAL_ENV")


def _listed_packages() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]["packages"]


def _checkout_files() -> dict[str, list[str]]:
    """What each data directory must ship: path in the wheel → the checkout's files."""
    with open(ROOT / "models" / "MANIFEST.toml", "rb") as f:
        weights = sorted(tomllib.load(f)["files"])
    return {
        "models": ["MANIFEST.toml", *weights],
        "flowgraphs": sorted(p.name for p in (ROOT / "flowgraphs").iterdir()
                             if p.suffix in (".py", ".grc")),
        "sdr": sorted(p.name for p in (ROOT / "sdr").iterdir() if p.suffix in (".yaml", ".md")),
    }


def test_pyproject_lists_every_subpackage():
    """pyproject.toml lists the packages (so the data directories can be mapped into the
    wheel); a subpackage missing there would be missing from every wheel."""
    listed = set(_listed_packages())
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "privsem").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert not found - listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
    for name in DATA:
        assert f"privsem._data.{name}" in listed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    """(the built wheel, pip's output)."""
    if importlib.util.find_spec("setuptools") is None or importlib.util.find_spec("pip") is None:
        pytest.skip("building a wheel offline needs setuptools and pip in this venv "
                    "(pip install -e '.[test]' installs both)")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        s = ROOT / name
        if s.is_dir():
            shutil.copytree(s, src / name, ignore=shutil.ignore_patterns("*.egg-info", "build"))
        else:
            shutil.copy2(s, src / name)
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--no-index", "--disable-pip-version-check", "-w", str(tmp / "dist"), str(src)],
                       capture_output=True, text=True, timeout=300, check=False)
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"pip wheel failed:\n{out[-4000:]}"
    (whl,) = (tmp / "dist").glob("privsem-*.whl")
    return whl, out


def test_build_prints_no_warnings(wheel):
    """No setuptools deprecation walls (license table, packages absent from `packages`...)."""
    _, out = wheel
    for marker in ("Warning", "deprecated", "!!"):
        assert marker not in out, f"pip wheel printed {marker!r}:\n{out}"


def test_wheel_carries_models_flowgraphs_sdr(wheel):
    whl, _ = wheel
    names = set(zipfile.ZipFile(whl).namelist())
    for directory, files in _checkout_files().items():
        assert files, directory
        for f in files:
            assert f"privsem/_data/{directory}/{f}" in names, f"{directory}/{f} is not in {whl.name}"
    shipped = {n.split("/")[3] for n in names if n.startswith("privsem/_data/models/")}
    assert shipped == set(_checkout_files()["models"]), "models/ ships a file the MANIFEST does not list"
    assert "privsem/resources.py" in names and "privsem/eval/configs/quick.toml" in names
    assert "privsem/view/static/index.html" in names
    junk = [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".ckpt", ".pt", ".pth"))]
    assert not junk, junk
    assert not [n for n in names if not n.startswith(("privsem/", "privsem-"))], "files outside the package"


# Run by the fresh venv's interpreter: where privsem and its data come from, and every
# committed model loaded through the sha256 check of models/MANIFEST.toml.
PROBE = """
import json, privsem
from privsem import resources, weights, radio
from privsem.transport.gnuradio import flowgraph_path
names = sorted(weights.manifest()["files"])
for n in names:
    weights.load_weights(n)
print(json.dumps({
    "privsem": privsem.__file__,
    "dirs": {d: str(resources.data_dir(d)) for d in resources.ENV},
    "where": {d: resources.where(d) for d in resources.ENV},
    "models_dir": str(weights.models_dir()),
    "sdr_dir": str(radio.sdr_dir()),
    "flowgraph": str(flowgraph_path("sim_channel")),
    "profiles": radio.list_profiles(),
    "weights": names,
}))
"""


def test_installed_wheel_runs_loopback_outside_checkout(wheel, example_db, tmp_path):
    whl, _ = wheel
    t0 = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    # Install with this venv's pip into the fresh one (nothing installed there yet, so
    # pip neither sees nor touches the checkout's editable install).
    p = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                        "--disable-pip-version-check", str(whl)],
                       capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies come from this venv, after the fresh venv's own site-packages.
    deps = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    (site / "_privsem_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in CLEAR}
    env["OMP_NUM_THREADS"] = "1"

    p = subprocess.run([str(py), "-c", PROBE], cwd=elsewhere, env=env, capture_output=True, text=True,
                       timeout=300, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    info = json.loads(p.stdout.strip().splitlines()[-1])
    pkg = site / "privsem"
    assert Path(info["privsem"]).resolve() == (pkg / "__init__.py").resolve(), info["privsem"]
    assert not Path(info["privsem"]).resolve().is_relative_to(ROOT)
    for d in DATA:
        assert info["where"][d] == "package"
        assert Path(info["dirs"][d]).resolve() == (pkg / "_data" / d).resolve()
    assert Path(info["models_dir"]).resolve() == (pkg / "_data" / "models").resolve()
    assert Path(info["sdr_dir"]).resolve() == (pkg / "_data" / "sdr").resolve()
    assert Path(info["flowgraph"]).resolve() == (pkg / "_data" / "flowgraphs" / "sim_channel.py").resolve()
    assert info["profiles"] == sorted(p.stem for p in (ROOT / "sdr").glob("*.yaml"))
    assert info["weights"] == _checkout_files()["models"][1:]

    db, scenes = example_db
    out = tmp_path / "out"
    p = subprocess.run([str(venv / "bin" / "privsem"), "loopback", str(scenes / "chelsea.png"), "--db", str(db),
                        "--snr", "20", "--channel", "awgn", "--steps", "2", "--out", str(out)],
                       cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "bob: PSNR" in p.stdout, p.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["guard"]["entity"] == "chelsea"
    assert report["bob"]["psnr"] > 10.0 and "identity_recognized" in report["bob"]
    for name in ("guarded.png", "mask.png", "bob.png", "eve.png"):
        assert (out / name).is_file(), name
    print(f"install + probe + loopback: {time.monotonic() - t0:.1f} s")
