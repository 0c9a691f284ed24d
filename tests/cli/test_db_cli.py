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
