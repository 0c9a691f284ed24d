"""Silhouettes in the DB (issue 19): given with --mask, found in whole scenes, refused
when absent, the old format upgraded, and the face path's defined behaviours."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from privsem.cli import main
from privsem.database import PrivacyDB
from privsem.database.scenes import make_scene
from privsem.database.silhouettes import silhouette
from privsem.errors import PrivsemError
from privsem.imageio import save_image
from privsem.metrics.image import mask_iou


def _scenes(tmp_path, name, n, seed=0):
    """``n`` scenes of entity ``name`` (db-split views) on different backgrounds,
    written as PNG with their true masks."""
    rng = np.random.default_rng(seed)
    files, masks, truths = [], [], []
    for i, bg in enumerate(["brick", "grass", "page", "moon"][:n]):
        s = make_scene(name, bg, rng, split="calibration")
        files.append(tmp_path / f"{name}{i}.png")
        masks.append(tmp_path / f"{name}{i}_mask.png")
        save_image(files[-1], s.image)
        save_image(masks[-1], s.mask)
        truths.append(s.mask)
    return files, masks, truths


def test_add_with_masks_stores_silhouettes_and_prototypes(tmp_path, capsys):
    files, masks, truths = _scenes(tmp_path, "chelsea", 2)
    assert main(["db", "create", str(tmp_path / "db")]) == 0
    argv = ["db", "add", str(tmp_path / "db"), "vicky", "--prompt", "the cat Vicky", *map(str, files)]
    assert main(argv + sum((["--mask", str(m)] for m in masks), [])) == 0
    assert "db calibrate" in capsys.readouterr().out  # Γ is provisional until calibrated
    db = PrivacyDB.open(tmp_path / "db")
    e = db.entities[0]
    assert [np.array_equal(e.read_mask(i), t) for i, t in enumerate(truths)] == [True, True]
    assert e.prototypes.shape[1] == 96 and 64 <= len(e.prototypes) <= 512 and e.prototypes.dtype == np.float32
    assert np.allclose(np.linalg.norm(e.prototypes, axis=1), 1, atol=1e-4)
    assert len(e.negatives) >= 256 and e.faces.shape == (0, 128)  # a cat: no face path
    assert db.entity_info("vicky")["mask_source"] == "given"
    # every file is tracked: a changed silhouette is refused like a changed sample
    (tmp_path / "db" / e.masks[0].relative_to(tmp_path / "db")).write_bytes(b"x")
    with pytest.raises(PrivsemError, match="modified"):
        PrivacyDB.open(tmp_path / "db")


def test_entity_found_in_whole_scenes(tmp_path):
    """No --mask: the cat is what its samples have in common, along its outline."""
    files, _, truths = _scenes(tmp_path, "chelsea", 3, seed=4)
    db = PrivacyDB.create(tmp_path / "db")
    e = db.add("vicky", "the cat Vicky", files)
    ious = [mask_iou(e.read_mask(i), t) for i, t in enumerate(truths)]
    assert min(ious) > 0.8, ious
    assert db.entity_info("vicky")["mask_source"] == "found"


def test_bad_masks_and_a_sample_without_the_entity_are_one_line(tmp_path, capsys):
    files, masks, _ = _scenes(tmp_path, "chelsea", 2)
    db = tmp_path / "db"
    assert main(["db", "create", str(db)]) == 0
    before = (db / "manifest.json").read_text()
    cases = [
        (["--mask", str(masks[0])], "1 masks for 2 images"),
        (["--mask", str(files[0]), "--mask", str(tmp_path / "nope.png")], "cannot read mask"),
    ]
    save_image(tmp_path / "small.png", np.ones((10, 10), bool))
    cases.append((["--mask", str(tmp_path / "small.png"), "--mask", str(masks[1])], "10×10"))
    for extra, msg in cases:
        assert main(["db", "add", str(db), "vicky", "--prompt", "p", *map(str, files), *extra]) == 1
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1, err
    # two pictures with nothing in common: no entity to find in them
    from privsem.codec.data import skimage_image

    save_image(tmp_path / "a.png", skimage_image("coffee"))
    save_image(tmp_path / "b.png", skimage_image("brick"))
    p = subprocess.run([sys.executable, "-m", "privsem", "db", "add", str(db), "x", "--prompt", "p",
                        str(tmp_path / "a.png"), str(tmp_path / "b.png")], capture_output=True, text=True)
    assert p.returncode == 1 and "no entity found in sample" in p.stderr and "--mask" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert (db / "manifest.json").read_text() == before  # nothing half-added
    assert not (db / "samples" / "x").exists() and not (db / "masks").exists()


def _make_v1(src, dst):
    """Turn a DB into what privsem-db-1 wrote: no silhouettes, features holding f_k only."""
    from safetensors.numpy import load_file, save_file

    from privsem.weights import sha256_file

    shutil.copytree(src, dst)
    m = json.loads((dst / "manifest.json").read_text())
    m["format"] = "privsem-db-1"
    for e in m["entities"].values():
        for rel in e.pop("masks"):
            m["files"].pop(rel)
        f = dst / e["feature"]
        save_file({"v": load_file(str(f))["v"]}, str(f))
        m["files"][e["feature"]] = sha256_file(f)
        for k in ("mask_source", "faces", "negative_photos"):
            e.pop(k, None)
    shutil.rmtree(dst / "masks")
    (dst / "manifest.json").write_text(json.dumps(m, indent=2))


def test_old_format_is_refused_with_the_upgrade_command_then_upgraded(tmp_path, example_db):
    old = tmp_path / "old"
    _make_v1(example_db[0], old)
    samples = {p: p.read_bytes() for p in (old / "samples").rglob("*") if p.is_file()}
    recovery = (old / "recovery" / "finetuned.safetensors").read_bytes()
    scene = example_db[1] / "chelsea.png"
    for argv in (["guard", str(scene), "--db", str(old), "--out", str(tmp_path / "o")],
                 ["db", "add", str(old), "x", "--prompt", "p", str(scene)]):
        p = subprocess.run([sys.executable, "-m", "privsem", *argv], capture_output=True, text=True)
        assert p.returncode == 1 and f"run: privsem db upgrade {old}" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
    assert main(["db", "list", str(old)]) == 0 and main(["db", "verify", str(old)]) == 0  # still readable
    assert main(["db", "upgrade", str(old)]) == 0
    db = PrivacyDB.open(old)
    assert not db.legacy and all(len(e.masks) == len(e.samples) for e in db.entities)
    assert {p: p.read_bytes() for p in samples} == samples  # nothing lost
    assert (old / "recovery" / "finetuned.safetensors").read_bytes() == recovery and db.recovery()[2]
    # the silhouettes it found are the cat's (the example DB's own are the true ones)
    new, ref = db.entities[0], PrivacyDB.open(example_db[0]).entities[0]
    assert mask_iou(new.read_mask(0), ref.read_mask(0)) > 0.8
    from privsem.guard.run import run_guard

    rep = run_guard(scene, old, tmp_path / "o")
    assert [e["name"] for e in rep["entities"]] == ["chelsea"]
    assert main(["db", "upgrade", str(old)]) == 0  # twice: says it is current


def test_face_path_person_seen_without_a_face(example_db):
    """The astronaut with her head hidden (seen as from behind): no face to judge, so
    the patches decide, and she is still removed."""
    from privsem.guard import Guard

    guard = Guard(PrivacyDB.open(example_db[0]))
    img, truth = silhouette("astronaut")
    hidden = img.copy()
    hidden[:150] = 0.5  # hair and face gone
    r = guard(hidden)
    assert "astronaut" in r.detected and "astronaut" not in r.faces
    assert mask_iou(r.masks["astronaut"], truth & ~(np.arange(512)[:, None] < 150)) > 0.7
