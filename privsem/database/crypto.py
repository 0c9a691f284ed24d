"""Encryption at rest of a privacy DB's sample images, with a passphrase.

Key derivation: ``scrypt(passphrase, salt, n, r, p)`` → 64 bytes (the passphrase is
NFC-normalised UTF-8). The first 32 bytes are the AES-256-GCM key of the samples; the
last 32 key an HMAC-SHA256 check value, so that a wrong passphrase is told apart from
a damaged file.

Manifest record (``manifest.json["encryption"]``, stored in clear)::

    {"scheme": "privsem-enc-1",
     "kdf": {"name": "scrypt", "salt": "<32 hex: 16 random bytes>", "n": 131072, "r": 8, "p": 1},
     "check": "<64 hex: HMAC-SHA256(check key, b'privsem-db passphrase check')>"}

Encrypted file (``samples/<name>/NN.<ext>.enc``)::

    b"PSENC1\\0\\0" (8 bytes) | nonce (12 random bytes) | AES-256-GCM ciphertext | tag (16 bytes)

The GCM associated data is the 8-byte magic followed by the file's DB-relative path
without ``.enc`` (e.g. ``samples/vicky/00.png``), so a ciphertext moved to another
name fails authentication.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import unicodedata
from pathlib import Path

from ..errors import IntegrityError, PrivsemError

SCHEME = "privsem-enc-1"
ENV = "PRIVSEM_DB_PASSPHRASE"
SUFFIX = ".enc"
MAGIC = b"PSENC1\0\0"
NONCE_BYTES = 12
DEFAULT_N = 2**17  # 128 MiB and ~0.4 s per derivation with r = 8
_CHECK_MSG = b"privsem-db passphrase check"
# Bounds on the manifest's scrypt parameters: a tampered manifest must not make us
# allocate gigabytes (memory is 128·r·n bytes).
_N_RANGE, _R_RANGE, _P_RANGE = (2**10, 2**20), (1, 16), (1, 4)


def passphrase_from_env(root: str | Path) -> str:
    """The passphrase in ``$PRIVSEM_DB_PASSPHRASE``.

    Raises:
        PrivsemError: unset or empty.
    """
    value = os.environ.get(ENV, "")
    if not value:
        raise PrivsemError(f"privacy database {root} is encrypted: set {ENV} to its passphrase")
    return value


def _derive(passphrase: str, kdf: dict) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    raw = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    out = Scrypt(salt=bytes.fromhex(kdf["salt"]), length=64, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(raw)
    return out[:32], out[32:]


def _check_value(check_key: bytes) -> str:
    return hmac.new(check_key, _CHECK_MSG, hashlib.sha256).hexdigest()


def _validate(record: object, root: str | Path) -> dict:
    """The manifest's encryption record, with every field checked."""
    def bad(what: str) -> PrivsemError:
        return PrivsemError(f"privacy database {root}: bad encryption record in manifest.json ({what})")

    if not isinstance(record, dict) or record.get("scheme") != SCHEME:
        raise bad(f"scheme is not {SCHEME}")
    kdf, check = record.get("kdf"), record.get("check")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise bad("kdf is not scrypt")
    try:
        salt = bytes.fromhex(kdf["salt"])
        n, r, p = (kdf[k] for k in ("n", "r", "p"))
        bytes.fromhex(check)
    except (KeyError, TypeError, ValueError):
        raise bad("missing or malformed salt, n, r, p or check") from None
    if not all(type(v) is int for v in (n, r, p)):
        raise bad("n, r, p must be integers")
    if not (16 <= len(salt) <= 64 and len(check) == 64 and _N_RANGE[0] <= n <= _N_RANGE[1] and n & (n - 1) == 0
            and _R_RANGE[0] <= r <= _R_RANGE[1] and _P_RANGE[0] <= p <= _P_RANGE[1]):
        raise bad(f"scrypt parameters out of range (n={n}, r={r}, p={p})")
    return record


class SampleCipher:
    """AES-256-GCM over whole sample files (see the module docstring for the format)."""

    def __init__(self, key: bytes, root: str | Path) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead, self.root = AESGCM(key), root

    @classmethod
    def create(cls, passphrase: str, root: str | Path, n: int = DEFAULT_N) -> tuple[dict, SampleCipher]:
        """A new random salt and key: (manifest record, cipher).

        Raises:
            PrivsemError: empty passphrase or ``n`` out of range / not a power of two.
        """
        if not passphrase:
            raise PrivsemError("the passphrase must not be empty")
        if type(n) is not int or not _N_RANGE[0] <= n <= _N_RANGE[1] or n & (n - 1):
            raise PrivsemError(f"scrypt n must be a power of two from 2^10 to 2^20, got {n}")
        kdf = {"name": "scrypt", "salt": secrets.token_hex(16), "n": n, "r": 8, "p": 1}
        record = {"scheme": SCHEME, "kdf": kdf}
        key, check_key = _derive(passphrase, kdf)
        record["check"] = _check_value(check_key)
        return record, cls(key, root)

    @classmethod
    def unlock(cls, record: object, passphrase: str, root: str | Path) -> SampleCipher:
        """The cipher of an encrypted DB from its manifest record.

        Raises:
            PrivsemError: a malformed record, or a wrong passphrase.
        """
        record = _validate(record, root)
        key, check_key = _derive(passphrase, record["kdf"])
        if not hmac.compare_digest(_check_value(check_key), record["check"]):
            raise PrivsemError(f"wrong passphrase for privacy database {root}")
        return cls(key, root)

    def encrypt(self, data: bytes, rel: str) -> bytes:
        """Plaintext of the sample at DB-relative path ``rel`` → encrypted file bytes."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return MAGIC + nonce + self._aead.encrypt(nonce, data, MAGIC + rel.encode("utf-8"))

    def decrypt(self, blob: bytes, rel: str) -> bytes:
        """Encrypted file bytes → plaintext of the sample ``rel``.

        Raises:
            IntegrityError: not in this format, or authentication fails (modified,
            truncated, or encrypted for another name or DB).
        """
        from cryptography.exceptions import InvalidTag

        head = len(MAGIC) + NONCE_BYTES
        if len(blob) < head + 16 or not blob.startswith(MAGIC):
            raise IntegrityError(f"privacy database {self.root}: {rel}{SUFFIX} is not a privsem encrypted file")
        try:
            return self._aead.decrypt(blob[len(MAGIC):head], blob[head:], MAGIC + rel.encode("utf-8"))
        except InvalidTag:
            raise IntegrityError(f"privacy database {self.root}: {rel}{SUFFIX} failed authentication "
                                 "(modified, or not encrypted for this name)") from None


def write_durable(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync, rename, and fsync the
    directory: after a crash the file is either the old one or the new one, whole."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
