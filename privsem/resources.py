"""Where privsem's bundled data lives: ``models/``, ``flowgraphs/`` and ``sdr/``.

In the repository these are top-level directories beside ``privsem/``; a wheel (``pip
wheel .``, ``pip install git+URL``) carries them inside the package as
``privsem/_data/<name>/`` (pyproject.toml maps them there). :func:`data_dir` looks, in
this order:

1. the environment: ``$PRIVSEM_MODELS``, ``$PRIVSEM_FLOWGRAPHS``, ``$PRIVSEM_SDR_DIR``;
2. the checkout ``privsem`` was imported from (an editable install, or running from the
   repository): ``<repo>/<name>/`` when ``<repo>/pyproject.toml`` exists;
3. the installed package data, ``privsem/_data/<name>/`` (via :mod:`importlib.resources`).

Nothing is copied: the models' ``MANIFEST.toml`` and the files it lists are the same
bytes in the checkout and in the wheel, so the sha256 check of
:mod:`privsem.weights` is the same in both.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

#: Directory name → environment variable that overrides it.
ENV = {"models": "PRIVSEM_MODELS", "flowgraphs": "PRIVSEM_FLOWGRAPHS", "sdr": "PRIVSEM_SDR_DIR"}


def checkout_root() -> Path | None:
    """The repository ``privsem`` was imported from, or None when it is installed."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def bundled_dir(name: str) -> Path:
    """``privsem/_data/<name>`` of an installed wheel (may not exist in a checkout)."""
    _check(name)
    return Path(os.fspath(resources.files("privsem").joinpath("_data", name)))


def data_dir(name: str) -> Path:
    """The directory ``name`` (``models``, ``flowgraphs`` or ``sdr``): the environment
    override, else the checkout's, else the installed package's. The path may not exist
    (callers report a missing file with it)."""
    _check(name)
    env = os.environ.get(ENV[name])
    if env:
        return Path(env)
    root = checkout_root()
    if root is not None and (root / name).is_dir():
        return root / name
    return bundled_dir(name)


def where(name: str) -> str:
    """Where :func:`data_dir` found ``name``: ``env``, ``checkout`` or ``package``."""
    _check(name)
    if os.environ.get(ENV[name]):
        return "env"
    root = checkout_root()
    return "checkout" if root is not None and (root / name).is_dir() else "package"


def _check(name: str) -> None:
    if name not in ENV:
        raise ValueError(f"unknown data directory {name!r} (one of {', '.join(ENV)})")
