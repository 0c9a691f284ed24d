"""The project's own weights under ``models/``, verified against ``models/MANIFEST.toml``.

Manifest format (one table per file)::

    [files."jscc_small.safetensors"]
    sha256 = "…"
    command = "privsem train codec …"     # how it was made
    data = "…"                            # what it was trained on
    metrics = { psnr_awgn_10db = 27.1 }   # held-out numbers
    provenance = "…"                      # for converted third-party weights

Files load with safetensors only (never pickle), after their sha256 is checked.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import torch
from safetensors.torch import load_file

from .errors import IntegrityError, PrivsemError
from .resources import data_dir


def models_dir() -> Path:
    """The models directory: ``$PRIVSEM_MODELS``, else ``models/`` of the checkout, else
    the copy an installed wheel carries (:func:`privsem.resources.data_dir`)."""
    return data_dir("models")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(directory: Path | None = None) -> dict:
    """Parsed ``MANIFEST.toml`` of the models directory (``{"files": {...}}``)."""
    d = directory or models_dir()
    path = d / "MANIFEST.toml"
    if not path.is_file():
        raise PrivsemError(f"model manifest not found: {path}")
    with open(path, "rb") as f:
        return tomllib.load(f)


def load_weights(name: str, directory: Path | None = None) -> dict[str, torch.Tensor]:
    """Load ``models/<name>`` (safetensors) after checking its sha256 in the manifest.

    Raises:
        PrivsemError: file missing or not listed; IntegrityError: hash mismatch.
    """
    d = directory or models_dir()
    entry = manifest(d).get("files", {}).get(name)
    path = d / name
    if entry is None:
        raise PrivsemError(f"{name} is not listed in {d / 'MANIFEST.toml'}")
    if not path.is_file():
        raise PrivsemError(f"model file missing: {path}")
    if sha256_file(path) != entry["sha256"]:
        raise IntegrityError(f"{path}: sha256 does not match models/MANIFEST.toml")
    return load_file(str(path))


def load_model_file(path: str | Path | None, default: str | None, what: str
                    ) -> tuple[dict[str, torch.Tensor], dict[str, str], Path]:
    """The committed ``models/<default>`` (``path`` None; sha256-checked by
    :func:`load_weights`) or a user's safetensors file: (tensors, its metadata, the file).

    Raises:
        PrivsemError: a user's file that is missing or not safetensors, named as a
            ``what`` file (e.g. ``codec``)."""
    from safetensors import safe_open

    if path is None:
        state, file = load_weights(default), models_dir() / default
    else:
        file = Path(path)
        if not file.is_file():
            raise PrivsemError(f"{what} weights not found: {file}")
        try:
            state = load_file(str(file))
        except Exception as e:  # noqa: BLE001  (safetensors raises several types for a bad file)
            raise PrivsemError(f"not a safetensors {what} file: {file} ({e.__class__.__name__})") from None
    with safe_open(str(file), "pt") as f:
        return state, f.metadata() or {}, file
