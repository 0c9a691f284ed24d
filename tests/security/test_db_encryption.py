"""Encryption at rest of the privacy DB's samples (privsem.database.crypto, `privsem db
encrypt|decrypt`): round trip, passphrase errors, tampering, crash safety, the readers."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from privsem.database import PrivacyDB
from privsem.database.crypto import ENV, MAGIC
from privsem.errors import IntegrityError, PrivsemError
from privsem.imageio import load_image

PASS = "correct horse battery staple"
FAST_N = 2**10  # scrypt cost for tests only; the default is 2**17


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def db_dir(tmp_path, example_db, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    shutil.copytree(example_db[0], tmp_path / "db")
    return tmp_path / "db"


@pytest.fixture()
def enc_dir(db_dir):
    PrivacyDB.open(db_dir).encrypt(PASS, n=FAST_N)
    return db_dir


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_round_trip_is_byte_identical(db_dir, monkeypatch):
    before = _tree(db_dir)
    plain = {r: before[r] for r in before if r.startswith("samples/")}
    assert PrivacyDB.open(db_dir).encrypt(PASS, n=FAST_N) == (len(plain), 0)
    after = _tree(db_dir)
    assert not any(r in after for r in plain)  # no plaintext sample left
    assert all(after[r + ".enc"].startswith(MAGIC) for r in plain)
    m = json.loads(after["manifest.json"])
    assert m["encryption"]["kdf"] | {"salt": ""} == {"name": "scrypt", "salt": "", "n": FAST_N, "r": 8, "p": 1}
    assert all(m["files"][r + ".enc"] == hashlib.sha256(after[r + ".enc"]).hexdigest() for r in plain)

    db = PrivacyDB.open(db_dir)  # verifies the ciphertexts without the passphrase
    assert db.encrypted and db.recovery()[2]  # Bob's model stays current
    samples = [p for e in db.entities for p in e.samples]
    assert samples and all(p.suffix == ".enc" for p in samples)
    monkeypatch.setenv(ENV, PASS)
    copy = db_dir.parent / "plain.png"
    for p in samples:
        rel = p.relative_to(db_dir).as_posix()[: -len(".enc")]
        assert db.sample_bytes(p) == plain[rel]
        copy.write_bytes(plain[rel])
        assert np.array_equal(db.read_sample(p), load_image(copy))
    assert PrivacyDB.open(db_dir).decrypt() == len(plain)
    assert _tree(db_dir) == before  # same files, same bytes, same manifest


def test_wrong_or_missing_passphrase_is_one_line(enc_dir, monkeypatch):
    db = PrivacyDB.open(enc_dir)
    sample = db.entities[0].samples[0]
    with pytest.raises(PrivsemError) as e:
        db.read_sample(sample)
    assert ENV in _one_line(e) and "encrypted" in str(e.value)
    monkeypatch.setenv(ENV, "not it")
    with pytest.raises(PrivsemError) as e:
        db.read_sample(sample)
    assert _one_line(e) == f"wrong passphrase for privacy database {enc_dir}"
    assert not isinstance(e.value, IntegrityError)
    with pytest.raises(PrivsemError, match="wrong passphrase"):
        db.encrypt("not it")
    with pytest.raises(PrivsemError, match="wrong passphrase"):
        db.decrypt("not it")
    PrivacyDB.open(enc_dir).decrypt(PASS)
    with pytest.raises(PrivsemError, match="must not be empty"):
        PrivacyDB.open(enc_dir).encrypt("")
    with pytest.raises(PrivsemError, match="power of two"):
        PrivacyDB.open(enc_dir).encrypt(PASS, n=1000)


def test_tampered_ciphertext(enc_dir, monkeypatch):
    monkeypatch.setenv(ENV, PASS)
    db = PrivacyDB.open(enc_dir)
    a, b = db.entities[0].samples[:2]
    blob = bytearray(a.read_bytes())
    blob[-20] ^= 0x01
    a.write_bytes(bytes(blob))
    with pytest.raises(IntegrityError) as e:  # caught at open by the manifest's sha256
        PrivacyDB.open(enc_dir)
    assert "was modified" in _one_line(e)
    with pytest.raises(IntegrityError) as e:  # changed after open: GCM refuses it
        db.read_sample(a)
    assert "failed authentication" in _one_line(e)
    # an attacker who can rewrite the manifest still cannot swap ciphertexts between names
    good = db.sample_bytes(b)
    a.write_bytes(b.read_bytes())
    m = json.loads((enc_dir / "manifest.json").read_text())
    rel = a.relative_to(enc_dir).as_posix()
    m["files"][rel] = hashlib.sha256(a.read_bytes()).hexdigest()
    (enc_dir / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IntegrityError, match="failed authentication"):
        PrivacyDB.open(enc_dir).read_sample(enc_dir / rel)
    assert PrivacyDB.open(enc_dir).sample_bytes(b) == good


def test_bad_encryption_record_is_refused(enc_dir, monkeypatch):
    monkeypatch.setenv(ENV, PASS)
    m = json.loads((enc_dir / "manifest.json").read_text())
    m["encryption"]["kdf"]["n"] = 2**30  # would need 128 GiB
    (enc_dir / "manifest.json").write_text(json.dumps(m))
    db = PrivacyDB.open(enc_dir)
    with pytest.raises(PrivsemError) as e:
        db.read_sample(db.entities[0].samples[0])
    assert "bad encryption record" in _one_line(e) and "out of range" in str(e.value)


def test_interrupted_encrypt_never_loses_a_sample(db_dir, monkeypatch):
    from privsem.database import crypto

    before = _tree(db_dir)
    real, calls = crypto.write_durable, []

    def crash_on_third(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(crypto, "write_durable", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        PrivacyDB.open(db_dir).encrypt(PASS, n=FAST_N)
    assert _tree(db_dir) == before  # plain DB intact, partial ciphertexts removed
    monkeypatch.setattr(crypto, "write_durable", real)
    # a crash after the manifest switch leaves plaintexts behind: a second run deletes them
    PrivacyDB.open(db_dir).encrypt(PASS, n=FAST_N)
    leftover = {r: d for r, d in before.items() if r.startswith("samples/")}
    for r, d in leftover.items():
        (db_dir / r).write_bytes(d)
    (db_dir / "samples/chelsea/00.png").write_bytes(b"not the same file")
    assert PrivacyDB.open(db_dir).encrypt(PASS) == (0, len(leftover) - 1)
    assert (db_dir / "samples/chelsea/00.png").is_file()  # differs from its ciphertext: kept


def test_samples_added_later_are_encrypted_and_all_readers_decrypt(enc_dir, tmp_path, monkeypatch):
    from privsem.codec.data import skimage_image
    from privsem.database.calibrate import calibrate
    from privsem.imageio import save_image
    from privsem.recovery.build import db_exemplar
    from privsem.recovery.train import finetune_sampler_factory

    src = tmp_path / "coffee.png"
    save_image(src, skimage_image("coffee")[:200, :200])
    db, before = PrivacyDB.open(enc_dir), _tree(enc_dir)
    with pytest.raises(PrivsemError, match=ENV):  # refused before anything changes
        db.add("cup", "the coffee cup", [src])
    assert _tree(enc_dir) == before
    monkeypatch.setenv(ENV, PASS)
    e = db.add("cup", "the coffee cup", [src])
    assert [p.name for p in e.samples] == ["00.png.enc"] and not (enc_dir / "samples/cup/00.png").exists()
    assert np.array_equal(db.read_sample(e.samples[0]), load_image(src))
    with pytest.raises(PrivsemError, match="not a sample image"):
        db.read_sample(src)

    class Text:
        dim = 4

        def encode(self, prompts):
            return np.eye(len(prompts), 4, dtype=np.float32)

    def readers(db):
        ex = db_exemplar(db, Text().encode(["a", "b", "c"]))
        img, mask = np.zeros((32, 32, 3), np.float32), np.zeros((32, 32), bool)
        mask[8:24, 8:24] = True
        out = ex(img, mask, np.array([0, 0, 1, 0], np.float32))
        assert ex.last_entity == 2 and out[16, 16].sum() > 0  # the cup's sample pasted in
        finetune_sampler_factory(db, Text(), 32, 0.5, 0.0)
        (p,) = [p for p in calibrate(db, n_scenes=12) if p.entity == "cup"]  # its own samples: positives
        assert p.positives >= 1

    readers(PrivacyDB.open(enc_dir))
    monkeypatch.delenv(ENV)
    with pytest.raises(PrivsemError, match=ENV):
        readers(PrivacyDB.open(enc_dir))


def test_cli_encrypt_decrypt(db_dir, monkeypatch, capsys):
    from privsem.cli import main

    before = _tree(db_dir)
    monkeypatch.setattr("privsem.cli.db._interactive", lambda: False)
    assert main(["db", "decrypt", str(db_dir)]) == 1
    assert capsys.readouterr().err == f"privsem: error: privacy database {db_dir} is not encrypted\n"
    assert main(["db", "encrypt", str(db_dir)]) == 1  # no env var, no terminal
    err = capsys.readouterr().err
    assert err.startswith("privsem: error: no passphrase") and ENV in err and err.count("\n") == 1
    monkeypatch.setenv(ENV, PASS)
    assert main(["db", "encrypt", str(db_dir)]) == 0
    assert capsys.readouterr().out == f"encrypted 9 sample images in {db_dir}\n"
    assert main(["db", "encrypt", str(db_dir)]) == 0
    assert "already encrypted; deleted 0" in capsys.readouterr().out
    monkeypatch.delenv(ENV)
    assert main(["db", "verify", str(db_dir)]) == 0 and "22 files verified" in capsys.readouterr().out
    assert main(["db", "list", str(db_dir)]) == 0 and "encrypted at rest" in capsys.readouterr().out
    assert main(["db", "add", str(db_dir), "x", "--prompt", "p", str(db_dir / "encoder_mean.safetensors")]) == 1
    err = capsys.readouterr().err
    assert err == f"privsem: error: privacy database {db_dir} is encrypted: set {ENV} to its passphrase\n"
    monkeypatch.setenv(ENV, "wrong")
    assert main(["db", "decrypt", str(db_dir)]) == 1
    assert capsys.readouterr().err == f"privsem: error: wrong passphrase for privacy database {db_dir}\n"
    monkeypatch.setenv(ENV, PASS)
    assert main(["db", "decrypt", str(db_dir)]) == 0
    assert capsys.readouterr().out == f"decrypted 9 sample images in {db_dir}\n"
    assert _tree(db_dir) == before


def test_cli_prompts_on_a_terminal(db_dir, monkeypatch):
    from click.testing import CliRunner

    from privsem.cli import _register, cli

    _register()
    monkeypatch.setattr("privsem.cli.db._interactive", lambda: True)
    r = CliRunner().invoke(cli, ["db", "encrypt", str(db_dir)], input=f"{PASS}\nmistyped\n{PASS}\n{PASS}\n")
    assert r.exit_code == 0, r.output
    assert r.output.count("passphrase for") == 2 and "do not match" in r.output  # asked again
    monkeypatch.setenv(ENV, PASS)
    db = PrivacyDB.open(db_dir)
    assert db.encrypted and db.read_sample(db.entities[0].samples[0]).shape[2] == 3
    monkeypatch.delenv(ENV)
    r = CliRunner().invoke(cli, ["db", "decrypt", str(db_dir)], input=f"{PASS}\n")
    assert r.exit_code == 0 and "decrypted 9 sample images" in r.output
