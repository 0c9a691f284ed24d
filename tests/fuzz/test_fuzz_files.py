"""Fuzzing the files privsem reads: SigMF recordings (data and meta), privacy-DB
manifests, eval configs (TOML) and CIFAR-10 pickle batches.

Each of them may come from someone else, be truncated or be hand-edited. A reader
either returns something well-formed or refuses with a PrivsemError whose message is
one line; any other exception is a crash. The CIFAR reader must also never run
anything a pickle asks for.
"""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import string
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from privsem.database.store import FORMAT, PrivacyDB
from privsem.errors import IntegrityError, PrivsemError
from privsem.eval.config import EvalConfig, load_config, parse_config
from privsem.multitask.data import read_cifar_batch
from privsem.phy.modem import Modem
from privsem.transport.sigmf_io import read_sigmf, write_sigmf
from privsem.weights import sha256_file

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def fuzz(n: int):
    return settings(max_examples=n, derandomize=True, deadline=None, database=None, print_blob=False)


def refused(call):
    """Run ``call``; None if it raised a one-line PrivsemError, else its result."""
    try:
        return call()
    except PrivsemError as e:
        assert str(e) and "\n" not in str(e), repr(str(e))
        return None


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=10)


def _slots(doc, out=None) -> list:
    """Every (container, key) of a JSON document, depth first."""
    out = [] if out is None else out
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        out.append((doc, k))
        _slots(v, out)
    return out


@st.composite
def mutated_json(draw, doc, keys: list[str]):
    doc = copy.deepcopy(doc)
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(doc)
        op = draw(st.sampled_from(["set", "delete", "retype", "add"]))
        if op == "add" or not slots:
            targets = [v for c, k in slots if isinstance(v := c[k], dict)] + [doc]
            target = draw(st.sampled_from(targets))
            if isinstance(target, dict):
                target[draw(st.one_of(st.sampled_from(keys), st.text(max_size=8)))] = draw(json_values)
            continue
        container, key = draw(st.sampled_from(slots))
        if op == "set":
            container[key] = draw(json_values)
        elif op == "delete":
            del container[key]
        else:
            v = container[key]
            container[key] = draw(st.sampled_from([str(v), [v], {"v": v}, None, 0, -1.5, True, ""]))
    return doc


def _dump(doc) -> str:
    return json.dumps(doc, allow_nan=True)


# ---- SigMF -----------------------------------------------------------------------------------
SIGMF_KEYS = ["core:datatype", "core:sample_rate", "core:frequency", "core:version", "core:sha512",
              "core:sample_start", "core:extensions", "core:num_channels", "core:offset", "privsem:notes",
              "global", "captures", "annotations"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    d = tmp_path_factory.mktemp("sigmf")
    x = (np.random.default_rng(0).standard_normal(64) * (1 + 1j)).astype(np.complex64)
    write_sigmf(d / "rec", x, 2e6, 2.45e9, extra={"msg_id": 1})
    return d, json.loads((d / "rec.sigmf-meta").read_text())


def _read_recording(base):
    got = refused(lambda: read_sigmf(base))
    if got is not None:
        samples, info = got
        assert samples.dtype == np.complex64
        assert isinstance(info["sample_rate"], float) and math.isfinite(info["sample_rate"]) and info["sample_rate"] > 0
        assert isinstance(info["center_freq"], float) and math.isfinite(info["center_freq"])
        assert isinstance(info["notes"], dict)
    return got


NOTES = st.sampled_from(['{"msg_id": 1}', "{}", "[1]", "{bad", '"text"', "", "null", "1e999"])


@fuzz(300)
@given(st.data())
def test_sigmf_meta_mutated_is_read_or_refused(recording, data):
    d, meta = recording
    doc = data.draw(mutated_json(meta, SIGMF_KEYS))
    if isinstance(doc, dict) and isinstance(doc.get("global"), dict) and data.draw(st.booleans()):
        doc["global"]["privsem:notes"] = data.draw(NOTES)
    (d / "rec.sigmf-meta").write_text(_dump(doc))
    _read_recording(d / "rec")


@fuzz(150)
@given(st.binary(max_size=300))
def test_sigmf_meta_of_random_bytes_is_refused(recording, raw):
    d, _ = recording
    (d / "rec.sigmf-meta").write_bytes(raw)
    assert _read_recording(d / "rec.sigmf-data") is None


@fuzz(150)
@given(st.binary(max_size=4000))
def test_sigmf_data_of_random_bytes_is_read_or_refused(recording, raw):
    d, meta = recording
    (d / "rec.sigmf-meta").write_text(_dump(meta))
    (d / "rec.sigmf-data").write_bytes(raw)
    got = _read_recording(d / "rec")
    assert got is None or len(raw) % 8 == 0
    assert got is not None or len(raw) % 8 or not raw
    if got is not None:
        assert got[0].size == len(raw) // 8
        Modem().demodulate(got[0])


# ---- privacy DB manifests --------------------------------------------------------------------
DB_KEYS = ["format", "encoder", "key", "entities", "files", "prompt", "samples", "feature", "threshold",
           "recovery", "encoder_checkpoint", "encryption", "encoder_mean.safetensors"]


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A minimal valid DB (one entity), built by hand: (root, manifest)."""
    from privsem.imageio import save_image

    root = tmp_path_factory.mktemp("db")
    (root / "features").mkdir()
    (root / "samples" / "cat").mkdir(parents=True)
    save_file({"v": torch.zeros(8)}, str(root / "encoder_mean.safetensors"))
    save_file({"v": torch.ones(8)}, str(root / "features" / "cat.safetensors"))
    save_image(root / "samples" / "cat" / "00.png", np.full((8, 8, 3), 0.5, np.float32))
    rels = ["encoder_mean.safetensors", "features/cat.safetensors", "samples/cat/00.png"]
    manifest = {"format": FORMAT, "encoder": "mobilenet_v2", "key": "ab" * 32,
                "entities": {"cat": {"prompt": "the cat", "samples": ["samples/cat/00.png"],
                                     "feature": "features/cat.safetensors", "threshold": 0.5,
                                     "threshold_method": "given"}},
                "files": {r: sha256_file(root / r) for r in rels}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert [e.name for e in PrivacyDB.open(root).entities] == ["cat"]
    return root, manifest


@fuzz(400)
@given(st.data())
def test_db_manifest_mutated_opens_or_is_refused(database, data):
    root, manifest = database
    doc = data.draw(mutated_json(manifest, DB_KEYS))
    (root / "manifest.json").write_text(_dump(doc))
    refused(lambda: PrivacyDB.open(root))


@fuzz(150)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_db_manifest_of_random_bytes_is_refused(database, raw):
    root, _ = database
    (root / "manifest.json").write_bytes(raw)
    assert refused(lambda: PrivacyDB.open(root)) is None


@fuzz(50)
@given(st.sampled_from(["encoder_mean.safetensors", "features/cat.safetensors", "samples/cat/00.png"]),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4),
       st.booleans())
def test_db_tracked_file_changed_is_an_integrity_error(database, rel, flips, truncate):
    root, manifest = database
    (root / "manifest.json").write_text(json.dumps(manifest))
    original = (root / rel).read_bytes()
    changed = bytearray(original)
    for i, x in flips:
        changed[i % len(changed)] ^= x
    if truncate:
        changed = changed[: flips[0][0] % len(changed)]
    try:
        (root / rel).write_bytes(bytes(changed))
        if bytes(changed) != original:
            with pytest.raises(IntegrityError):
                PrivacyDB.open(root)
    finally:
        (root / rel).write_bytes(original)


def _open(root):
    return PrivacyDB.open(root)


KNOWN_STORE_CRASHES = {  # case: (manifest → broken manifest, what once raised a non-PrivsemError)
    "open: no files table": (lambda m: {k: v for k, v in m.items() if k != "files"}, _open),
    "open: files is a list": (lambda m: {**m, "files": []}, _open),
    "open: nesting deeper than the recursion limit": (lambda m: "[" * 100_000 + "]" * 100_000, _open),
    "entities: an entity without a prompt": (lambda m: {**m, "entities": {"cat": {}}},
                                             lambda root: _open(root).entities),
    "entities: a list": (lambda m: {**m, "entities": []}, lambda root: _open(root).entities),
    "key: not hex": (lambda m: {**m, "key": "not hex"}, lambda root: _open(root).key),
    "files: a path outside the DB": (lambda m: {**m, "files": {**m["files"], "../x": "0" * 64}}, _open),
}


@pytest.mark.parametrize("case", sorted(KNOWN_STORE_CRASHES))
def test_db_structural_damage_is_refused(database, case):
    root, manifest = database
    broken, action = KNOWN_STORE_CRASHES[case]
    doc = broken(manifest)
    (root / "manifest.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    refused(lambda: action(root))


# ---- eval configs ----------------------------------------------------------------------------
CONFIG_KEYS = ["snrs", "channels", "transport", "images", "n_images", "seeds", "workers", "variants", "steps",
               "kn", "eve_snr_offset_db", "design_snr_db", "db", "codec", "recovery_model", "joint",
               "fig4_images", "timeout_s", "radio"]
RADIO_KEYS = ["tx", "bob", "eve", "freq", "sample_rate", "tx_gains", "rx_gain"]
TRICKY_STRINGS = ["", ".", "/", "..", "~", "~nosuchuser/x", "~/x", "a\nb", "a\0b", "heldout", "calibration",
                  "quick", "1/6", "0/0", "1e999", "nan", "full", "joint", "awgn", "rayleigh", "radio",
                  "software", "gnuradio", "\u00e9\u2028"]

toml_strings = st.one_of(st.sampled_from(TRICKY_STRINGS), st.text(max_size=10))
toml_scalars = st.one_of(st.booleans(), st.integers(-2**64, 2**64), st.floats(), toml_strings)
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(RADIO_KEYS) | st.text(max_size=6), inner,
                                                 max_size=3)), max_leaves=8)
config_tables = st.dictionaries(st.one_of(st.sampled_from(CONFIG_KEYS), st.text(max_size=8)), toml_values,
                                max_size=6)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


def _config_ok(cfg) -> None:
    assert isinstance(cfg, EvalConfig)
    assert cfg.snrs and cfg.channels and cfg.seeds and "full" in cfg.variants


@fuzz(500)
@given(config_tables)
def test_config_table_of_any_keys_and_types_is_parsed_or_refused(tmp_path_factory, data):
    cfg = refused(lambda: parse_config(data, "fuzz.toml", tmp_path_factory.getbasetemp()))
    if cfg is not None:
        _config_ok(cfg)


@fuzz(200)
@given(config_tables, st.sampled_from(["", "\n[radio]\n", "\n[[snrs]]\n", "\n[a.b]\n", "\nx = \n", "\n= 1\n"]))
def test_config_file_of_any_keys_and_types_is_loaded_or_refused(tmp_path_factory, data, tail):
    path = tmp_path_factory.getbasetemp() / "fuzz_config.toml"
    path.write_text("\n".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in data.items()) + tail)
    cfg = refused(lambda: load_config(path))
    if cfg is not None:
        _config_ok(cfg)


TOML_ALPHABET = string.ascii_letters + string.digits + ' \t\n[]{}=,."\'#-_+:~\\/'
BUNDLED = ["quick", "paper", "gnuradio", "ota_example"]


@fuzz(300)
@given(st.sampled_from(BUNDLED), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 4),
                                                    st.text(TOML_ALPHABET, max_size=6)), min_size=1, max_size=5))
def test_config_file_with_mutated_text_is_loaded_or_refused(tmp_path_factory, name, edits):
    from privsem.eval.config import CONFIG_DIR

    text = (CONFIG_DIR / f"{name}.toml").read_text()
    for where, cut, insert in edits:
        i = int(where * len(text))
        text = text[:i] + insert + text[i + cut :]
    path = tmp_path_factory.getbasetemp() / "fuzz_mutated.toml"
    path.write_text(text)
    cfg = refused(lambda: load_config(path))
    if cfg is not None:
        _config_ok(cfg)


@fuzz(200)
@given(st.sampled_from([None, "quick", "nosuchconfig", "/", "a\0b"]),
       st.fixed_dictionaries({}, optional={"workers": st.one_of(st.integers(-5, 100), toml_scalars),
                                           "transport": toml_strings, "joint": toml_strings}))
def test_config_overrides_are_loaded_or_refused(spec, overrides):
    cfg = refused(lambda: load_config(spec, overrides))
    if cfg is not None:
        _config_ok(cfg)


def test_config_nested_beyond_the_recursion_limit_is_refused(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("snrs = " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert refused(lambda: load_config(path)) is None


# ---- CIFAR-10 batches ----------------------------------------------------------------------------
def _batch(protocol: int) -> bytes:
    rng = np.random.default_rng(protocol)
    return pickle.dumps({b"batch_label": b"fuzz", b"labels": [3, 7],
                         b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8),
                         b"filenames": [b"a.png", b"b.png"]}, protocol=protocol)


def _python2_batch() -> bytes:
    """A batch as Python 2's cPickle wrote the real CIFAR-10 files (protocol 2, str as
    BINSTRING, memo numbered from 1), assembled by hand."""
    data = np.random.default_rng(9).integers(0, 256, (2, 3072), dtype=np.uint8).tobytes()

    def s(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<I", len(b)) + b

    return (b"\x80\x02}q\x01(" + s(b"data") + b"q\x02cnumpy.core.multiarray\n_reconstruct\nq\x03cnumpy\nndarray\n"
            b"q\x04K\x00\x85q\x05" + s(b"b") + b"q\x06\x87q\x07Rq\x08(K\x01K\x02M\x00\x0c\x86q\x09cnumpy\ndtype\nq\x0a"
            + s(b"u1") + b"q\x0bK\x00K\x01\x87q\x0cRq\x0d(K\x03" + s(b"|")
            + b"q\x0eNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0fb\x89" + s(data) + b"q\x10tq\x11b"
            + s(b"labels") + b"q\x12]q\x13(K\x03K\x07e" + s(b"batch_label") + b"q\x14" + s(b"fuzz") + b"q\x15u.")


def _evil(command: str) -> list[bytes]:
    """Pickle fragments that would run ``command`` if the allow-list let them through."""
    arg = command.encode()
    return [b"cposix\nsystem\n(S'" + arg + b"'\ntR.",
            b"cos\nsystem\n(S'" + arg + b"'\ntR.",
            b"cbuiltins\nexec\n(S'import os; os.system(\"" + arg + b"\")'\ntR.",
            b"csubprocess\ncall\n((S'sh'\nS'-c'\nS'" + arg + b"'\nltR.",
            b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c" + bytes([len(arg)]) + arg + b"\x85R.",
            b"cnumpy\nload\n(S'/dev/null'\ntR.",
            b"c_codecs\nencode\n(X\x04\x00\x00\x00datacrot13\ntR."]


CANARY = Path(tempfile.gettempdir()) / f"privsem-fuzz-canary-{os.getpid()}"
BASES = [_python2_batch()] + [_batch(p) for p in (2, 3, 4, 5)]
EVIL = _evil(f"touch {CANARY}")
OPCODES = list(b"cXRbq(tN]}e.0hsuJKM\x80\x85\x86\x87\x88\x89\x8c\x93\x94\x95")


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    d = tmp_path_factory.mktemp("cifar")
    CANARY.unlink(missing_ok=True)
    for b in BASES[:4]:
        (d / "batch").write_bytes(b)
        x, y = read_cifar_batch(d / "batch")
        assert x.shape == (2, 3, 32, 32) and list(y) == [3, 7]
    yield d / "batch"
    CANARY.unlink(missing_ok=True)


@st.composite
def mutated_pickles(draw) -> bytes:
    b = bytearray(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate", "splice", "evil"]))
        i = draw(st.integers(0, max(len(b) - 1, 0)))
        if op == "flip" and b:
            b[i] ^= draw(st.integers(1, 255))
        elif op == "set" and b:
            b[i] = draw(st.sampled_from(OPCODES))
        elif op == "delete":
            del b[i : i + draw(st.integers(1, 16))]
        elif op == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "truncate":
            del b[i:]
        elif op == "splice":
            other = draw(st.sampled_from(BASES))
            j = draw(st.integers(0, len(other) - 1))
            b[i:i] = other[j : j + draw(st.integers(1, 64))]
        elif op == "evil":
            b[i:i] = draw(st.sampled_from(EVIL))
    return bytes(b)


@fuzz(600)
@given(mutated_pickles())
def test_cifar_batch_mutated_is_read_or_refused_and_runs_nothing(cifar, raw):
    cifar.write_bytes(raw)
    got = refused(lambda: read_cifar_batch(cifar))
    assert not CANARY.exists()
    if got is not None:
        x, y = got
        assert x.dtype == np.uint8 and x.shape[1:] == (3, 32, 32)
        assert y.dtype == np.int64 and y.shape == (x.shape[0],) and (y.size == 0 or (y.min() >= 0 and y.max() <= 9))


@fuzz(100)
@given(st.sampled_from(EVIL), st.binary(max_size=40), st.binary(max_size=40))
def test_cifar_batch_with_a_global_outside_the_allow_list_is_refused(cifar, evil, before, after):
    cifar.write_bytes(before + evil + after)
    assert refused(lambda: read_cifar_batch(cifar)) is None
    assert not CANARY.exists()
