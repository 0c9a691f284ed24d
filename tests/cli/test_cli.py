"""The command line as a user meets it: real subprocesses, exit codes, one-line errors."""

import json
import subprocess
import sys

import pytest


def privsem(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "privsem", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def _one_line_error(p):
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


def test_help_lists_commands():
    p = privsem("--help")
    assert p.returncode == 0
    for cmd in ("loopback", "db", "train"):
        assert cmd in p.stdout


def test_loopback_cli(example_db, tmp_path):
    db, scenes = example_db
    p = privsem("loopback", scenes / "chelsea.png", "--db", db, "--snr", 10, "--channel", "awgn",
                "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "bob: PSNR" in p.stdout and "eve: PSNR" in p.stdout
    assert json.loads((tmp_path / "report.json").read_text())["guard"]["entity"] == "chelsea"


@pytest.mark.parametrize("case", ["missing_image", "not_an_image", "missing_db", "unknown_channel"])
def test_loopback_bad_input(case, example_db, tmp_path):
    db, scenes = example_db
    image, db_arg, channel = scenes / "chelsea.png", db, "awgn"
    if case == "missing_image":
        image = tmp_path / "nope.png"
    elif case == "not_an_image":
        image = tmp_path / "fake.png"
        image.write_text("this is not a PNG")
    elif case == "missing_db":
        db_arg = tmp_path / "no_db"
    else:
        channel = "carrier-pigeon"
    p = privsem("loopback", image, "--db", db_arg, "--channel", channel, "--out", tmp_path / "o")
    line = _one_line_error(p)
    expected = {"missing_image": "not found", "not_an_image": "cannot read image",
                "missing_db": "privacy database", "unknown_channel": "unknown channel"}[case]
    assert expected in line
    assert not (tmp_path / "o" / "report.json").exists()


def test_usage_error_is_one_line():
    line = _one_line_error(privsem("loopback"))
    assert "Missing argument" in line


def test_the_command_line_loads_without_torch():
    """`privsem --help` and usage errors load neither torch nor Sionna nor diffusers (2 s
    on these machines); a mistyped image path fails before Sionna (only --device's check
    needs torch)."""
    loaded = "print(sorted(m for m in ('torch', 'sionna', 'diffusers') if m in sys.modules))"
    for argv, rc, heavy in ((["--help"], 0, "[]"), (["loopback"], 2, "[]"),
                            (["loopback", "nope.png", "--db", "nodb", "--out", "o"], 1, "['torch']")):
        code = f"import sys; from privsem.cli import main; rc = main({argv!r}); print(rc); {loaded}"
        p = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
        assert p.stdout.strip().splitlines()[-2:] == [str(rc), heavy], (argv, p.stdout[-300:], p.stderr)
