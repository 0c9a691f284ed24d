import subprocess
import sys


def privsem(*args):
    return subprocess.run([sys.executable, "-m", "privsem", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_db_commands(tmp_path, example_db):
    db, scenes = example_db
    p = privsem("db", "list", db)
    assert p.returncode == 0
    assert "chelsea" in p.stdout and "the astronaut Eileen Collins" in p.stdout
    mine = tmp_path / "mine"
    assert privsem("db", "create", mine).returncode == 0
    p = privsem("db", "add", mine, "vicky", "--prompt", "the cat Vicky", db / "samples/chelsea/00.png")
    assert p.returncode == 0, p.stderr
    assert "added vicky: 1 samples" in p.stdout
    assert "vicky" in privsem("db", "list", mine).stdout


def test_db_errors_are_one_line(tmp_path):
    for args in (("db", "list", tmp_path / "none"),
                 ("db", "add", tmp_path / "none", "x", "--prompt", "p", tmp_path / "a.png"),
                 ("db", "create", "--encoder", "nope", tmp_path / "new")):
        p = privsem(*args)
        assert p.returncode != 0
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_remove_and_verify(tmp_path, example_db):
    import shutil

    db, _ = example_db
    mine = tmp_path / "copy"
    shutil.copytree(db, mine)
    p = privsem("db", "verify", mine)
    assert p.returncode == 0 and "22 files verified" in p.stdout  # μ + 9 samples + their 9 silhouettes + 2 features + Bob's model
    assert privsem("db", "remove", mine, "astronaut").returncode == 0
    assert "astronaut" not in privsem("db", "list", mine).stdout
    assert "13 files verified" in privsem("db", "verify", mine).stdout  # μ + 5 samples + 5 silhouettes + f_k + model
    assert not (mine / "masks" / "astronaut").exists()
    with open(mine / "samples/chelsea/00.png", "ab") as f:
        f.write(b"x")
    p = privsem("db", "verify", mine)
    assert p.returncode != 0 and "samples/chelsea/00.png was modified" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = privsem("db", "remove", db, "nobody")
    assert p.returncode != 0 and "no entity 'nobody'" in p.stderr


def test_guard_command(tmp_path, example_db):
    import json

    db, scenes = example_db
    p = privsem("guard", scenes / "chelsea.png", "--db", db, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    report = json.loads((tmp_path / "guard.json").read_text())
    (e,) = report["entities"]
    assert e["name"] == "chelsea" and e["prompt"] == "the cat Chelsea" and e["points"]
    assert 0.4 < e["mask_fraction"] < 0.8
    assert (tmp_path / "mask.png").is_file() and (tmp_path / "guarded.png").is_file()
    p = privsem("guard", scenes / "coffee.png", "--db", db, "--out", tmp_path / "neg")
    assert p.returncode == 0 and json.loads((tmp_path / "neg" / "guard.json").read_text())["entities"] == []
