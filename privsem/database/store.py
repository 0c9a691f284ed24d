"""The privacy database K = {(i_k, S_k, f_k)} on disk.

Layout of a DB directory::

    manifest.json                 format, encoder, secret key, entities, sha256 of every file
    encoder_mean.safetensors      μ: mean encoder feature of generic images
    samples/<name>/NN.<ext>       sample images S_k (copied in), or NN.<ext>.enc when the
                                  DB is encrypted at rest (see :mod:`.crypto`)
    masks/<name>/NN.png           each sample's silhouette (white = the entity), given with
                                  ``db add --mask`` or found in the samples
    features/<name>.safetensors   f_k (``v``, float32 (d,)), the entity's prototypes (P, d),
                                  its negative bank (N, d), hard negatives mined by
                                  ``db calibrate`` (M, d) and face descriptors (F, 128)
    recovery/finetuned.safetensors   Bob's recovery U-Net fine-tuned on this DB (Algorithm 2),
                                  optional; its DB fingerprint says which entities it saw
    recovery/sd_unet/             Bob's fine-tuned Stable Diffusion U-Net (diffusers), optional

Every file is listed with its sha256 in the manifest and checked by :meth:`PrivacyDB.open`;
a changed or missing file is refused (``recovery/sd_unet/`` has its own record, checked
right before it is loaded). Nothing here is pickled. Sample images are read
only through :meth:`PrivacyDB.read_sample`, which decrypts them when the DB is
encrypted (``privsem db encrypt``; passphrase in ``$PRIVSEM_DB_PASSPHRASE``).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..errors import IntegrityError, PrivsemError
from ..imageio import decode_image, load_image
from ..weights import sha256_file
from . import crypto

FORMAT = "privsem-db-2"
FORMAT_V1 = "privsem-db-1"  # before silhouettes and prototypes: open, list, verify, upgrade
NAME_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
# Generic pictures bundled with scikit-image that show none of the example entities:
# they give μ and the "no entity here" scores that Γ is set against.
GENERIC_IMAGES = ["rocket", "hubble_deep_field", "immunohistochemistry", "colorwheel", "retina",
                  "brick", "grass", "gravel", "camera", "coins", "moon", "clock", "page", "text"]


@dataclass
class Entity:
    """One private entity k: name, prompt i_k, sample files S_k, feature f_k (float32
    ``(d,)``), threshold Γ_k (patch-score units, see :func:`privsem.guard.matcher.patch_scores`),
    silhouette files (one PNG per sample), prototypes float32 ``(P, d)``, negative bank
    ``(N, d)`` (hard negatives from ``db calibrate`` included) and face descriptors
    ``(F, 128)`` (F = 0: no face in the samples). Read the samples with
    :meth:`PrivacyDB.read_sample` (they may be encrypted). A DB of the old format has no
    silhouettes: ``masks`` is empty and ``prototypes`` is None."""

    name: str
    prompt: str
    samples: list[Path]
    feature: np.ndarray
    threshold: float
    masks: list[Path] = field(default_factory=list)
    prototypes: np.ndarray | None = None
    negatives: np.ndarray | None = None
    faces: np.ndarray | None = None

    def read_mask(self, i: int) -> np.ndarray:
        """Silhouette of sample ``i``: bool ``(H, W)``."""
        return _read_mask(self.masks[i])


def _read_mask(path: str | Path) -> np.ndarray:
    """A silhouette file (white = the entity) as bool ``(H, W)``."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


# More generic photos for the negative bank only (μ keeps the list above): colourful
# everyday scenes (scikit-learn's china and flower, scikit-image's motorcycle stereo pair)
# and, where installed, OpenCV's everyday sample photos (distractors.GENERIC_PHOTOS).
NEGATIVE_IMAGES = ["china", "flower", "motorcycle_left"]


@functools.lru_cache(maxsize=2)
def _negative_feature_maps(encoder_name: str, checkpoint: str | None = None) -> tuple[np.ndarray, ...]:
    """Feature maps of :data:`GENERIC_IMAGES` and :data:`NEGATIVE_IMAGES`."""
    from ..codec.data import named_image

    enc = _cached_encoder(encoder_name, checkpoint)
    extra = []
    for n in NEGATIVE_IMAGES:
        if n == "motorcycle_left":
            from skimage import data

            extra.append(data.stereo_motorcycle()[0].astype(np.float32) / 255.0)
        else:
            extra.append(named_image(n))
    from .distractors import generic_photos

    extra += [im for _, im in generic_photos()]
    return _generic_feature_maps(encoder_name, checkpoint) + tuple(enc.features(im) for im in extra)


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


def _load_features(path: Path) -> dict[str, np.ndarray]:
    return {k: t.numpy() for k, t in load_file(str(path)).items()}


def _save_features(path: Path, tensors: dict[str, np.ndarray]) -> None:
    save_file({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in tensors.items()}, str(path))


def _save_mask(path: Path, mask: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask.astype(np.uint8) * 255).save(path, optimize=True)


def load_mask_file(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A user's silhouette file (PNG/JPEG, white = entity) as bool ``shape``.

    Raises:
        PrivsemError: unreadable, another size than its sample, or empty."""
    from PIL import UnidentifiedImageError

    try:
        m = _read_mask(path)
    except (OSError, UnidentifiedImageError, ValueError):
        raise PrivsemError(f"cannot read mask {path} (not an image)") from None
    if m.shape != tuple(shape):
        raise PrivsemError(f"mask {path} is {m.shape[1]}×{m.shape[0]}, its sample {shape[1]}×{shape[0]}")
    if not m.any():
        raise PrivsemError(f"mask {path} is empty (white marks the entity)")
    return m


class PrivacyDB:
    """A privacy DB directory. Use :meth:`create` or :meth:`open`, not the constructor."""

    def __init__(self, root: Path, manifest: dict) -> None:
        self.root, self._m = root, manifest
        self.mu = _load_vector(root / "encoder_mean.safetensors")
        self._sample_cipher: crypto.SampleCipher | None = None

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
        manifest = {"format": FORMAT, "encoder": encoder, "face_encoder": "dlib-resnet", "key": secrets.token_hex(32),
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
            ok = manifest.get("format") in (FORMAT, FORMAT_V1)
        except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
            ok = False
        if not ok:
            raise PrivsemError(f"not a privacy database: {mpath} is not a {FORMAT} manifest")
        _check_manifest(manifest, mpath)
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
        out = []
        for n, e in self._m["entities"].items():
            t = _load_features(self.root / e["feature"])
            negatives = t.get("negatives")
            if negatives is not None and "hard" in t:
                negatives = np.concatenate([negatives, t["hard"]])
            out.append(Entity(name=n, prompt=e["prompt"], samples=[self.root / s for s in e["samples"]],
                              feature=t["v"], threshold=float(e["threshold"]),
                              masks=[self.root / m for m in e.get("masks", [])],
                              prototypes=t.get("prototypes"), negatives=negatives, faces=t.get("faces")))
        return out

    @property
    def legacy(self) -> bool:
        """True for a DB made before silhouettes (format privsem-db-1): ``db upgrade`` it."""
        return self._m["format"] != FORMAT

    def require_current(self) -> None:
        """Refuse an old-format DB with the command that upgrades it.

        Raises:
            PrivsemError: one line naming ``privsem db upgrade``."""
        if self.legacy:
            raise PrivsemError(f"privacy database {self.root} has no entity silhouettes (format {FORMAT_V1}); "
                               f"run: privsem db upgrade {self.root}  (keeps every sample, adds silhouettes "
                               "and prototypes)")

    def entity_info(self, name: str) -> dict:
        """The manifest record of one entity (prompt, samples, Γ and how it was chosen)."""
        return dict(self._m["entities"][name])

    @property
    def face_encoder(self) -> str:
        """The face-identity encoder of the face path (``guard.encoders.FACE_ENCODERS``)."""
        return self._m.get("face_encoder", "dlib-resnet")

    @property
    def encoder_checkpoint(self) -> str | None:
        rec = self._m.get("encoder_checkpoint")
        return rec["path"] if rec else None

    def encoder(self, device=None):
        """The encoder the features were made with (built once per process and device,
        default CPU); its checkpoint, if any, must still have the sha256 recorded at
        creation."""
        rec = self._m.get("encoder_checkpoint")
        if rec:
            p = Path(rec["path"])
            if not p.is_file():
                raise PrivsemError(f"encoder checkpoint of {self.root} not found: {p}")
            if sha256_file(p) != rec["sha256"]:
                raise IntegrityError(f"encoder checkpoint {p} changed since {self.root} was made")
        if device is None or str(device) == "cpu":
            return _cached_encoder(self.encoder_name, self.encoder_checkpoint)
        return _cached_encoder(self.encoder_name, self.encoder_checkpoint, str(device))

    # ---- sample images (decrypted transparently) -----------------------------------------
    @property
    def encrypted(self) -> bool:
        """Whether the sample images are encrypted at rest."""
        return "encryption" in self._m

    def unlock(self, passphrase: str | None = None) -> crypto.SampleCipher:
        """Check ``passphrase`` (default: ``$PRIVSEM_DB_PASSPHRASE``) and keep the key for
        this object's later sample reads.

        Raises:
            PrivsemError: the DB is not encrypted, the passphrase is missing or wrong.
        """
        if not self.encrypted:
            raise PrivsemError(f"privacy database {self.root} is not encrypted")
        if passphrase is None:
            passphrase = crypto.passphrase_from_env(self.root)
        self._sample_cipher = crypto.SampleCipher.unlock(self._m["encryption"], passphrase, self.root)
        return self._sample_cipher

    def _cipher(self) -> crypto.SampleCipher:
        return self._sample_cipher or self.unlock()

    def _sample_rel(self, path: str | Path) -> str:
        p = Path(path)
        try:
            rel = p.relative_to(self.root).as_posix()
        except ValueError:
            try:
                rel = p.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                rel = None
        if rel is None or not any(rel in e["samples"] for e in self._m["entities"].values()):
            raise PrivsemError(f"{p} is not a sample image of privacy database {self.root}")
        return rel

    def sample_bytes(self, path: str | Path) -> bytes:
        """The plaintext bytes of one of :attr:`entities`' sample files (decrypted if the
        DB is encrypted).

        Raises:
            PrivsemError: not a sample of this DB, unreadable, passphrase missing or wrong;
            IntegrityError: the ciphertext fails authentication.
        """
        rel = self._sample_rel(path)
        p = self.root / rel
        try:
            blob = p.read_bytes()
        except OSError as e:
            raise PrivsemError(f"cannot read sample {p}: {e.strerror or e.__class__.__name__}") from None
        if rel.endswith(crypto.SUFFIX):
            return self._cipher().decrypt(blob, rel[: -len(crypto.SUFFIX)])
        return blob

    def read_sample(self, path: str | Path) -> np.ndarray:
        """One of :attr:`entities`' sample images as float32 ``(H, W, 3)`` in [0, 1]; the
        only way privsem reads sample images (decrypts transparently, see :meth:`sample_bytes`)."""
        rel = self._sample_rel(path)
        if not rel.endswith(crypto.SUFFIX):
            return load_image(self.root / rel)
        return decode_image(self.sample_bytes(path), self.root / rel)

    # ---- encryption at rest -------------------------------------------------------------
    def encrypt(self, passphrase: str, n: int = crypto.DEFAULT_N) -> tuple[int, int]:
        """Encrypt every sample image with a key derived from ``passphrase`` (scrypt
        ``n``; see :mod:`.crypto`); later :meth:`add` calls encrypt new samples too.

        Order: all ciphertexts are written and fsynced, then the manifest is replaced
        (one atomic rename), then the plaintexts are deleted. An interruption leaves
        either the plain DB (plus stray ``.enc`` files) or the encrypted DB (plus
        leftover plaintexts); running this again on an encrypted DB deletes leftover
        plaintexts that match their ciphertext.

        Returns:
            (samples encrypted, leftover plaintexts deleted).

        Raises:
            PrivsemError: empty passphrase, or (already encrypted) a wrong one;
            IntegrityError: a sample changed since the DB was opened.
        """
        if self.encrypted:
            self.unlock(passphrase)
            leftovers = 0
            for enc in [r for e in self._m["entities"].values() for r in e["samples"]]:
                plain = self.root / enc[: -len(crypto.SUFFIX)]
                if plain.is_file() and plain.read_bytes() == self.sample_bytes(self.root / enc):
                    plain.unlink()
                    leftovers += 1
            return 0, leftovers
        record, cipher = crypto.SampleCipher.create(passphrase, self.root, n)

        def convert(rel: str, data: bytes) -> tuple[str, bytes]:
            return rel + crypto.SUFFIX, cipher.encrypt(data, rel)

        count = self._convert_samples(convert, record)
        self._sample_cipher = cipher
        return count, 0

    def decrypt(self, passphrase: str | None = None) -> int:
        """Store the sample images in clear again (the reverse of :meth:`encrypt`, same
        crash-safe order); returns the number of samples decrypted.

        Raises:
            PrivsemError: not encrypted, passphrase missing or wrong;
            IntegrityError: a ciphertext changed or fails authentication.
        """
        cipher = self.unlock(passphrase)

        def convert(rel: str, blob: bytes) -> tuple[str, bytes]:
            plain = rel[: -len(crypto.SUFFIX)]
            return plain, cipher.decrypt(blob, plain)

        count = self._convert_samples(convert, None)
        self._sample_cipher = None
        return count

    def _convert_samples(self, convert, record: dict | None) -> int:
        """Rewrite every sample with ``convert(rel, bytes) -> (new rel, new bytes)`` and set
        the manifest's encryption record to ``record`` (None: remove it)."""
        found = self.recovery()
        m = copy.deepcopy(self._m)
        written, old, renamed = [], [], {}
        try:
            for ent in m["entities"].values():
                new_rels = []
                for rel in ent["samples"]:
                    data = (self.root / rel).read_bytes()
                    if hashlib.sha256(data).hexdigest() != m["files"][rel]:
                        raise IntegrityError(f"privacy database {self.root}: {rel} was modified (sha256 mismatch)")
                    new_rel, out = convert(rel, data)
                    crypto.write_durable(self.root / new_rel, out)
                    written.append(new_rel)
                    renamed[rel] = (new_rel, hashlib.sha256(out).hexdigest())
                    new_rels.append(new_rel)
                    old.append(rel)
                ent["samples"] = new_rels
        except BaseException:
            for rel in written:  # the manifest still lists the old files: drop the new ones
                (self.root / rel).unlink(missing_ok=True)
            raise
        m["files"] = dict(renamed.get(rel, (rel, digest)) for rel, digest in m["files"].items())
        m.pop("encryption", None)
        if record is not None:
            m["encryption"] = record
        previous, self._m = self._m, m
        if found is not None and found[2]:  # the samples' content is unchanged: still current
            self._m["recovery"]["fingerprint"] = self.fingerprint()
        try:
            self._write()
        except BaseException:
            self._m = previous
            raise
        for rel in old:
            (self.root / rel).unlink(missing_ok=True)
        for d in {(self.root / rel).parent for rel in old}:
            crypto.fsync_dir(d)
        return len(old)

    # ---- changes ----------------------------------------------------------------------
    def add(self, name: str, prompt: str, images: list[str | Path], threshold: float | None = None,
            masks: list[str | Path] | None = None) -> Entity:
        """Add entity ``name`` with its prompt and sample images; compute its silhouettes,
        prototypes, negative bank, face descriptors and a provisional Γ_k.

        ``masks``: one silhouette file per image (white = the entity); without them the
        entity is found in the samples (:func:`privsem.guard.cosegment.find_silhouettes`).
        Γ_k, unless given, is the midpoint between the highest detection score on the
        generic pictures and the lowest on the entity's own samples; ``db calibrate``
        replaces it by an ROC operating point against other people and animals.

        Raises:
            PrivsemError: bad name or prompt, unreadable image or mask, no entity found in
            a sample, an old-format DB (upgrade it first).
        """
        if not NAME_RE.match(name):
            raise PrivsemError(f"bad entity name {name!r}: use 1-64 of a-z 0-9 _ -")
        if name in self._m["entities"]:
            raise PrivsemError(f"entity {name!r} already in {self.root}")
        if not prompt.strip():
            raise PrivsemError("the prompt must not be empty")
        if not images:
            raise PrivsemError("give at least one sample image")
        if masks is not None and len(masks) != len(images):
            raise PrivsemError(f"{len(masks)} masks for {len(images)} images: give one --mask per image, in order")
        self.require_current()
        cipher = self._cipher() if self.encrypted else None  # a missing or wrong passphrase fails here
        pictures = [load_image(p) for p in images]  # validates every file first
        if masks is not None:
            sil = [load_mask_file(m, im.shape[:2]) for m, im in zip(masks, pictures)]
        else:
            sil = self.find_silhouettes(pictures, [Path(p).name for p in images])
        tensors, own, generic = self._describe(name, pictures, sil)
        method = "given"
        if threshold is None:
            threshold, method = 0.5 * (own + generic), "provisional midpoint(generic max, samples min); run db calibrate"
        rels = []
        for i, src in enumerate(images):
            rel = f"samples/{name}/{i:02d}{Path(src).suffix.lower() or '.png'}"
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            if cipher is None:
                shutil.copyfile(src, self.root / rel)
            else:
                crypto.write_durable(self.root / (rel + crypto.SUFFIX), cipher.encrypt(Path(src).read_bytes(), rel))
                rel += crypto.SUFFIX
            rels.append(rel)
            self._track(rel)
        from .distractors import generic_photo_names

        self._m["entities"][name] = {"prompt": prompt, "samples": rels, "feature": f"features/{name}.safetensors",
                                     "negative_photos": len(GENERIC_IMAGES) + len(NEGATIVE_IMAGES) + len(generic_photo_names()),
                                     "threshold": round(float(threshold), 4), "threshold_method": method,
                                     "samples_min_score": round(own, 4), "generic_max_score": round(generic, 4)}
        self._store_description(name, sil, tensors, "given" if masks is not None else "found")
        self._write()
        return next(e for e in self.entities if e.name == name)

    def find_silhouettes(self, pictures: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
        """The entity's silhouette in each of its sample pictures (bool ``(H, W)`` each)."""
        from ..guard.cosegment import find_silhouettes

        return find_silhouettes(self.encoder(), pictures, self.mu, self._generic_patches(), names)

    def _generic_patches(self) -> np.ndarray:
        from ..guard.prototypes import generic_patches

        return generic_patches(_negative_feature_maps(self.encoder_name, self.encoder_checkpoint), self.mu)

    def _describe(self, name: str, pictures: list[np.ndarray], sil: list[np.ndarray]) -> tuple[dict, float, float]:
        """Tensors of the features file, and the lowest detection score of the samples
        and the highest of the generic pictures under them (for a provisional Γ)."""
        from ..guard import face
        from ..guard.matcher import detection_score, patch_scores
        from ..guard.prototypes import build, normalize

        enc = self.encoder()
        protos, negs = build(enc, list(zip(pictures, sil)), self.mu, self._generic_patches())
        others = [e.prototypes for e in self.entities if e.name != name and e.prototypes is not None]
        bank = np.concatenate([negs, *others])
        own = min(detection_score(patch_scores(enc.features(im), protos, bank, self.mu)) for im in pictures)
        generic = max(detection_score(patch_scores(f, protos, bank, self.mu))
                      for f in _generic_feature_maps(self.encoder_name, self.encoder_checkpoint))
        descriptors = []
        if face.available():
            from ..guard.encoders import build_face_encoder

            finder = build_face_encoder(self.face_encoder)
            for im, m in zip(pictures, sil):
                for fc in finder.faces(im):
                    t, l, b, r = fc.box
                    if m[(t + b) // 2, (l + r) // 2]:  # the entity's own face, not a bystander's
                        descriptors.append(fc.descriptor)
                        break
        tensors = {"v": normalize(protos.mean(0)), "prototypes": protos, "negatives": negs,
                   "faces": np.asarray(descriptors, np.float32).reshape(-1, 128)}
        return tensors, own, generic

    def _store_description(self, name: str, sil: list[np.ndarray], tensors: dict, source: str) -> None:
        """Write the silhouettes and the features file of ``name`` and track them (the
        manifest is written by the caller)."""
        mrels = []
        for i, m in enumerate(sil):
            rel = f"masks/{name}/{i:02d}.png"
            _save_mask(self.root / rel, m)
            self._track(rel)
            mrels.append(rel)
        frel = f"features/{name}.safetensors"
        (self.root / "features").mkdir(exist_ok=True)
        _save_features(self.root / frel, tensors)
        self._track(frel)
        rec = self._m["entities"][name]
        rec.update({"feature": frel, "masks": mrels, "mask_source": source,
                    "faces": int(len(tensors["faces"]))})

    def hard_negatives(self, name: str) -> np.ndarray:
        """The hard negatives ``db calibrate`` stored for ``name``: float32 ``(M, d)``."""
        t = _load_features(self.root / self._m["entities"][name]["feature"])
        return t.get("hard", np.zeros((0, t["v"].size), np.float32))

    def set_hard_negatives(self, name: str, hard: np.ndarray) -> None:
        """Store patches of other people and animals that came close to ``name``
        (float32 ``(M, d)``, centred unit rows; from ``db calibrate``) in its bank."""
        rec = self._m["entities"][name]
        path = self.root / rec["feature"]
        t = _load_features(path)
        t["hard"] = np.asarray(hard, np.float32).reshape(-1, t["prototypes"].shape[1])
        _save_features(path, t)
        self._track(rec["feature"])
        self._write()

    def upgrade(self) -> list[str]:
        """Bring an old-format DB to the current one: find each entity's silhouette in
        its samples, compute prototypes, negatives and faces. Samples, prompts and Bob's
        models are kept; Γ is reset to the provisional one (the old Γ was a cosine, not a
        patch score: run ``db calibrate`` next). Nothing is written until every entity
        succeeded.

        Returns:
            names of the entities upgraded (empty if the DB was current).

        Raises:
            PrivsemError: no entity found in a sample (names it; give that entity's
            silhouettes by re-adding it with ``--mask``)."""
        if not self.legacy:
            return []
        todo = {}
        for e in self.entities:
            pictures = [self.read_sample(p) for p in e.samples]
            sil = self.find_silhouettes(pictures, [f"{e.name}/{p.name}" for p in e.samples])
            todo[e.name] = (pictures, sil)
        self._m["format"] = FORMAT
        self._m.setdefault("face_encoder", "dlib-resnet")
        for name, (pictures, sil) in todo.items():
            tensors, own, generic = self._describe(name, pictures, sil)
            self._m["entities"][name].update({
                "threshold": round(0.5 * (own + generic), 4),
                "threshold_method": "provisional midpoint(generic max, samples min); run db calibrate",
                "samples_min_score": round(own, 4), "generic_max_score": round(generic, 4)})
            self._store_description(name, sil, tensors, "found")
        self._write()
        return list(todo)

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
        for rel in [*rec["samples"], *rec.get("masks", []), rec["feature"]]:
            (self.root / rel).unlink(missing_ok=True)
            self._m["files"].pop(rel, None)
        shutil.rmtree(self.root / "samples" / name, ignore_errors=True)
        shutil.rmtree(self.root / "masks" / name, ignore_errors=True)
        self._write()

    # ---- Bob's fine-tuned recovery model --------------------------------------------------
    RECOVERY = "recovery/finetuned.safetensors"

    def fingerprint(self) -> str:
        """sha256 over every entity's name, prompt and sample hashes: what a fine-tuned
        recovery model was trained on. The hashes are those of the stored files
        (ciphertexts when encrypted); :meth:`encrypt` and :meth:`decrypt` carry a current
        recovery model over."""
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

    SD_RECOVERY = "recovery/sd_unet"

    def set_sd_recovery(self) -> None:
        """Track the fine-tuned Stable Diffusion U-Net folder :attr:`SD_RECOVERY` (written
        by ``privsem train recovery finetune --sd-path``): the sha256 of each of its files
        goes into the manifest's ``sd_recovery`` record, checked by :meth:`sd_recovery`
        right before loading (not by :meth:`open`: the folder can hold gigabytes)."""
        d = self.root / self.SD_RECOVERY
        files = {p.relative_to(self.root).as_posix(): sha256_file(p) for p in sorted(d.rglob("*")) if p.is_file()}
        self._m["sd_recovery"] = {"dir": self.SD_RECOVERY, "files": files}
        self._write()

    def sd_recovery(self) -> Path | None:
        """The fine-tuned SD U-Net folder after checking it against the manifest, or None.

        Raises:
            PrivsemError: the folder exists but the manifest does not track it;
            IntegrityError: a file changed, is missing, or was added.
        """
        d = self.root / self.SD_RECOVERY
        rec = self._m.get("sd_recovery")
        if rec is None:
            if d.exists():
                raise PrivsemError(f"{d} is not tracked by the manifest of {self.root} "
                                   "(re-run privsem train recovery finetune --sd-path)")
            return None
        present = {p.relative_to(self.root).as_posix() for p in d.rglob("*") if p.is_file()}
        for rel in sorted(present ^ set(rec["files"])):
            what = "missing file" if rel in rec["files"] else "untracked file"
            raise IntegrityError(f"privacy database {self.root}: {what} {rel}")
        for rel, digest in rec["files"].items():
            if sha256_file(self.root / rel) != digest:
                raise IntegrityError(f"privacy database {self.root}: {rel} was modified (sha256 mismatch)")
        return d

    def _track(self, rel: str) -> None:
        self._m["files"][rel] = sha256_file(self.root / rel)

    def _write(self) -> None:
        crypto.write_durable(self.root / "manifest.json", (json.dumps(self._m, indent=2) + "\n").encode())


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _check_manifest(m: dict, mpath: Path) -> None:
    """The manifest's structure, before anything reads it: ``files`` maps paths inside
    the DB to sha256 hex digests, ``key`` is 32 bytes of hex, every entity has a prompt,
    sample paths, a feature path and a numeric threshold.

    Raises:
        PrivsemError: naming the first field that is wrong.
    """
    def bad(what: str) -> PrivsemError:
        return PrivsemError(f"not a privacy database: {mpath}: {what}")

    files = m.get("files")
    if not isinstance(files, dict):
        raise bad("'files' must be a table of path → sha256")
    for rel, digest in files.items():
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts or not parts:
            raise bad(f"file {rel!r} is not a path inside the database")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise bad(f"file {rel!r} has no sha256 digest")
    if not isinstance(m.get("key"), str) or not _HEX64.match(m["key"]):
        raise bad("'key' must be 64 hex digits")
    if not isinstance(m.get("encoder"), str):
        raise bad("'encoder' must be a name")
    if not isinstance(m.get("face_encoder", ""), str):
        raise bad("'face_encoder' must be a name")
    ents = m.get("entities")
    if not isinstance(ents, dict):
        raise bad("'entities' must be a table")
    for name, e in ents.items():
        ok = (isinstance(e, dict) and isinstance(e.get("prompt"), str) and isinstance(e.get("feature"), str)
              and isinstance(e.get("samples"), list) and all(isinstance(x, str) for x in e["samples"])
              and isinstance(e.get("threshold"), (int, float)) and not isinstance(e.get("threshold"), bool))
        if not ok:
            raise bad(f"entity {name!r} needs a prompt, samples, a feature and a numeric threshold")


@functools.lru_cache(maxsize=2)
def _cached_encoder(name: str, checkpoint: str | None = None, device: str | None = None):
    from ..guard import build_encoder

    return build_encoder(name, checkpoint, device=device)
