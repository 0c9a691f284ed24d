"""The privacy database K = {(i_k, S_k, f_k)} on disk.

Layout of a DB directory::

    manifest.json                 format, encoder, secret key, entities, sha256 of every file
    encoder_mean.safetensors      μ: mean encoder feature of generic images
    samples/<name>/NN.<ext>       sample images S_k (copied in)
    features/<name>.safetensors   f_k (float32 (d,))
    recovery/finetuned.safetensors   Bob's recovery U-Net fine-tuned on this DB (Algorithm 2),
                                  optional; its DB fingerprint says which entities it saw

Every file is listed with its sha256 in the manifest and checked by :meth:`PrivacyDB.open`;
a changed or missing file is refused. Nothing here is pickled.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..errors import IntegrityError, PrivsemError
from ..imageio import load_image
from ..weights import sha256_file

FORMAT = "privsem-db-1"
NAME_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
# Generic pictures bundled with scikit-image that show none of the example entities:
# they give μ and the "no entity here" scores that Γ is set against.
GENERIC_IMAGES = ["rocket", "hubble_deep_field", "immunohistochemistry", "colorwheel", "retina",
                  "brick", "grass", "gravel", "camera", "coins", "moon", "clock", "page", "text"]


@dataclass
class Entity:
    """One private entity k: name, prompt i_k, sample files S_k, feature f_k (float32
    ``(d,)``), threshold Γ_k (cosine units)."""

    name: str
    prompt: str
    samples: list[Path]
    feature: np.ndarray
    threshold: float


@functools.lru_cache(maxsize=2)
def _generic_feature_maps(encoder_name: str, checkpoint: str | None = None) -> tuple[np.ndarray, ...]:
    """Feature maps of :data:`GENERIC_IMAGES`."""
    from ..codec.data import skimage_image

    enc = _cached_encoder(encoder_name, checkpoint)
    return tuple(enc.features(skimage_image(n)) for n in GENERIC_IMAGES)


def _save_vector(path: Path, v: np.ndarray) -> None:
    save_file({"v": torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))}, str(path))


def _load_vector(path: Path) -> np.ndarray:
    return load_file(str(path))["v"].numpy()


class PrivacyDB:
    """A privacy DB directory. Use :meth:`create` or :meth:`open`, not the constructor."""

    def __init__(self, root: Path, manifest: dict) -> None:
        self.root, self._m = root, manifest
        self.mu = _load_vector(root / "encoder_mean.safetensors")

    # ---- creation and opening -------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, encoder: str = "mobilenet_v2", checkpoint: str | Path | None = None) -> PrivacyDB:
        """Make an empty DB in ``root`` (which must not exist or be empty).

        ``checkpoint``: the encoder's weights file (a SAM checkpoint you own); its path
        and sha256 are recorded, and a changed file is refused later."""
        from ..guard import ENCODERS

        root = Path(root)
        if encoder not in ENCODERS:
            raise PrivsemError(f"unknown encoder {encoder!r} (known: {', '.join(ENCODERS)})")
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise PrivsemError(f"{root} exists and is not an empty directory")
        ckpt = str(Path(checkpoint).resolve()) if checkpoint is not None else None
        _cached_encoder(encoder, ckpt)  # fails early (one line) on a missing or wrong checkpoint
        root.mkdir(parents=True, exist_ok=True)
        maps = _generic_feature_maps(encoder, ckpt)
        mu = np.mean([f.reshape(-1, f.shape[-1]).mean(axis=0) for f in maps], axis=0)
        _save_vector(root / "encoder_mean.safetensors", mu)
        manifest = {"format": FORMAT, "encoder": encoder, "key": secrets.token_hex(32),
                    "entities": {}, "files": {}}
        if ckpt is not None:
            manifest["encoder_checkpoint"] = {"path": ckpt, "sha256": sha256_file(Path(ckpt))}
        db = cls(root, manifest)
        db._track("encoder_mean.safetensors")
        db._write()
        return db

    @classmethod
    def verify(cls, root: str | Path) -> int:
        """Check every file against the manifest; returns the number of files checked.

        Raises:
            IntegrityError / PrivsemError as :meth:`open`.
        """
        return len(cls.open(root)._m["files"])

    @classmethod
    def open(cls, root: str | Path) -> PrivacyDB:
        """Open and verify a DB: every file's sha256 must match the manifest."""
        root = Path(root)
        mpath = root / "manifest.json"
        if not mpath.is_file():
            raise PrivsemError(f"not a privacy database: {root} (no manifest.json)")
        try:
            manifest = json.loads(mpath.read_text())
            ok = manifest.get("format") == FORMAT
        except (ValueError, UnicodeDecodeError, AttributeError):
            ok = False
        if not ok:
            raise PrivsemError(f"not a privacy database: {mpath} is not a {FORMAT} manifest")
        for rel, digest in manifest["files"].items():
            p = root / rel
            if not p.is_file():
                raise IntegrityError(f"privacy database {root}: missing file {rel}")
            if sha256_file(p) != digest:
                raise IntegrityError(f"privacy database {root}: {rel} was modified (sha256 mismatch)")
        return cls(root, manifest)

    # ---- contents ---------------------------------------------------------------------
    @property
    def encoder_name(self) -> str:
        return self._m["encoder"]

    @property
    def key(self) -> bytes:
        """The DB's secret (32 bytes), shared by transmitter and authorized receiver."""
        return bytes.fromhex(self._m["key"])

    @property
    def entities(self) -> list[Entity]:
        return [Entity(name=n, prompt=e["prompt"], samples=[self.root / s for s in e["samples"]],
                       feature=_load_vector(self.root / e["feature"]), threshold=float(e["threshold"]))
                for n, e in self._m["entities"].items()]

    def entity_info(self, name: str) -> dict:
        """The manifest record of one entity (prompt, samples, Γ and how it was chosen)."""
        return dict(self._m["entities"][name])

    @property
    def encoder_checkpoint(self) -> str | None:
        rec = self._m.get("encoder_checkpoint")
        return rec["path"] if rec else None

    def encoder(self):
        """The encoder the features were made with (built once per process); its
        checkpoint, if any, must still have the sha256 recorded at creation."""
        rec = self._m.get("encoder_checkpoint")
        if rec:
            p = Path(rec["path"])
            if not p.is_file():
                raise PrivsemError(f"encoder checkpoint of {self.root} not found: {p}")
            if sha256_file(p) != rec["sha256"]:
                raise IntegrityError(f"encoder checkpoint {p} changed since {self.root} was made")
        return _cached_encoder(self.encoder_name, self.encoder_checkpoint)

    # ---- changes ----------------------------------------------------------------------
    def add(self, name: str, prompt: str, images: list[str | Path], threshold: float | None = None) -> Entity:
        """Add entity ``name`` with its prompt and sample images; compute f_k and Γ_k.

        Γ_k, unless given, is the midpoint between the highest detection score on the
        generic images (which show none of the entities) and the lowest score of the
        entity's own samples. Proper ROC calibration against negatives is
        ``db calibrate`` (later).
        """
        from ..guard.matcher import detection_score, entity_feature, similarity_map

        if not NAME_RE.match(name):
            raise PrivsemError(f"bad entity name {name!r}: use 1-64 of a-z 0-9 _ -")
        if name in self._m["entities"]:
            raise PrivsemError(f"entity {name!r} already in {self.root}")
        if not prompt.strip():
            raise PrivsemError("the prompt must not be empty")
        if not images:
            raise PrivsemError("give at least one sample image")
        pictures = [load_image(p) for p in images]  # validates every file first
        enc = self.encoder()
        maps = [enc.features(img) for img in pictures]
        f_k = entity_feature(maps, self.mu)
        own = min(detection_score(similarity_map(m, f_k, self.mu)) for m in maps)
        generic = max(detection_score(similarity_map(m, f_k, self.mu))
                      for m in _generic_feature_maps(self.encoder_name, self.encoder_checkpoint))
        method = "given"
        if threshold is None:
            threshold, method = 0.5 * (own + generic), "midpoint(generic max, samples min)"
        sdir = self.root / "samples" / name
        sdir.mkdir(parents=True, exist_ok=True)
        rels = []
        for i, src in enumerate(images):
            rel = f"samples/{name}/{i:02d}{Path(src).suffix.lower() or '.png'}"
            shutil.copyfile(src, self.root / rel)
            rels.append(rel)
            self._track(rel)
        (self.root / "features").mkdir(exist_ok=True)
        frel = f"features/{name}.safetensors"
        _save_vector(self.root / frel, f_k)
        self._track(frel)
        self._m["entities"][name] = {"prompt": prompt, "samples": rels, "feature": frel,
                                     "threshold": round(float(threshold), 4), "threshold_method": method,
                                     "samples_min_score": round(own, 4), "generic_max_score": round(generic, 4)}
        self._write()
        return next(e for e in self.entities if e.name == name)

    def set_threshold(self, name: str, threshold: float, method: str) -> None:
        """Store Γ for an entity and how it was chosen."""
        if name not in self._m["entities"]:
            raise PrivsemError(f"no entity {name!r} in {self.root}")
        self._m["entities"][name]["threshold"] = round(float(threshold), 4)
        self._m["entities"][name]["threshold_method"] = method
        self._write()

    def remove(self, name: str) -> None:
        """Delete an entity and its files."""
        if name not in self._m["entities"]:
            raise PrivsemError(f"no entity {name!r} in {self.root}")
        rec = self._m["entities"].pop(name)
        for rel in [*rec["samples"], rec["feature"]]:
            (self.root / rel).unlink(missing_ok=True)
            self._m["files"].pop(rel, None)
        shutil.rmtree(self.root / "samples" / name, ignore_errors=True)
        self._write()

    # ---- Bob's fine-tuned recovery model --------------------------------------------------
    RECOVERY = "recovery/finetuned.safetensors"

    def fingerprint(self) -> str:
        """sha256 over every entity's name, prompt and sample hashes: what a fine-tuned
        recovery model was trained on."""
        import hashlib

        h = hashlib.sha256()
        for name in sorted(self._m["entities"]):
            rec = self._m["entities"][name]
            h.update(f"{name}\0{rec['prompt']}\0".encode())
            for rel in rec["samples"]:
                h.update(self._m["files"][rel].encode())
        return h.hexdigest()

    def set_recovery(self, weights: str | Path) -> None:
        """Install a fine-tuned recovery weights file (copied in and tracked by sha256)."""
        dst = self.root / self.RECOVERY
        dst.parent.mkdir(exist_ok=True)
        if Path(weights).resolve() != dst.resolve():
            shutil.copyfile(weights, dst)
        self._track(self.RECOVERY)
        self._m["recovery"] = {"file": self.RECOVERY, "fingerprint": self.fingerprint()}
        self._write()

    def recovery(self) -> tuple[Path, str, bool] | None:
        """(path, sha256, current) of the installed fine-tuned recovery model, or None;
        ``current`` is False when entities changed after it was fine-tuned."""
        rec = self._m.get("recovery")
        if not rec or rec["file"] not in self._m["files"]:
            return None
        return self.root / rec["file"], self._m["files"][rec["file"]], rec["fingerprint"] == self.fingerprint()

    def _track(self, rel: str) -> None:
        self._m["files"][rel] = sha256_file(self.root / rel)

    def _write(self) -> None:
        tmp = self.root / "manifest.json.tmp"
        tmp.write_text(json.dumps(self._m, indent=2) + "\n")
        tmp.replace(self.root / "manifest.json")


@functools.lru_cache(maxsize=2)
def _cached_encoder(name: str, checkpoint: str | None = None):
    from ..guard import build_encoder

    return build_encoder(name, checkpoint)
