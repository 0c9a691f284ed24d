"""Fuzzing the command line: random and mutated argument lists, in-process through
``privsem.cli.main``.

The contract (privsem/cli/__init__.py, tests/cli/test_cli.py): a rejected command line
exits 1 (user error) or 2 (usage error) with exactly one line on stderr starting
``privsem: error:``, and never a traceback. Only ``--help`` and ``--version`` exit 0.

Arguments never hold NUL (an operating system cannot pass one); undecodable bytes
arrive as surrogates, as Python hands them over.

Every generated command line is meant to fail fast: each ends with an anchor that
cannot succeed (a missing image, a broken IQ file, a missing config, a folder that is
not a DB, ...), and the pools hold no valid image, DB, config or radio profile, so
nothing can start a long run, bind a socket or wait for samples.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from privsem.cli import main
from privsem.transport.sigmf_io import write_sigmf

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def fuzz(n: int):
    return settings(max_examples=n, derandomize=True, deadline=None, database=None, print_blob=False)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    write_sigmf(d / "noise", (np.random.default_rng(0).standard_normal(3000) * (1 + 1j)).astype(np.complex64), 2e6)
    meta = (d / "noise.sigmf-meta").read_text()
    (d / "odd.sigmf-data").write_bytes(bytes(13))
    (d / "odd.sigmf-meta").write_text(meta)
    (d / "badmeta.sigmf-data").write_bytes(bytes(16))
    (d / "badmeta.sigmf-meta").write_text("{not json")
    (d / "notes.sigmf-data").write_bytes(bytes(16))
    (d / "notes.sigmf-meta").write_text(json.dumps({**json.loads(meta), "global": {
        **json.loads(meta)["global"], "privsem:notes": "{broken"}}))
    (d / "notimage.png").write_text("not a png")
    (d / "afile").write_text("x")
    (d / "emptydir").mkdir()
    (d / "baddb").mkdir()
    (d / "baddb" / "manifest.json").write_text("{}")
    (d / "bad.toml").write_text('snrs = "x"\n')
    (d / "notoml.toml").write_text("= =\n")
    (d / "deep.toml").write_text("snrs = " + "[" * 20_000 + "]" * 20_000 + "\n")
    return d


def run(workspace, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(workspace)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(list(argv))
    finally:
        os.chdir(here)
    return rc, out.getvalue(), err.getvalue()


def check(workspace, argv: list[str]) -> None:
    rc, out, err = run(workspace, argv)
    event(f"exit code {rc}")
    assert "Traceback" not in err + out
    if rc == 0:
        assert {"-h", "--help", "--version"} & set(argv), (argv, out, err)
        return
    assert rc in (1, 2), (argv, rc, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("privsem: error: "), (argv, err)


PATHS = ["noise.sigmf-data", "noise", "odd.sigmf-data", "badmeta", "notes", "missing.sigmf-data", "notimage.png",
         "missing.png", "afile", "afile/below", "emptydir", "baddb", "nodb", "bad.toml", "notoml.toml", "deep.toml",
         "missing.toml", "", "a\nb", "~nosuchuser/x", "-", "--", "out", "out/nested", "\udcffbad"]
NUMBERS = ["0", "-1", "1", "2", "0.5", "10", "1e999", "nan", "inf", "-inf", "1e-400", "99999999999999999999", "-0",
           "1/6", "abc", "", "0x10", "1,2"]
WORDS = ["bob", "eve", "mallory", "diffusion", "sd", "telea", "exemplar", "ns", "ddpm", "ddim", "xyz", "5,2", "a,b",
         "0,0", "-1,0", "awgn", "rayleigh", "carrier-pigeon", "software", "gnuradio", "radio", "model", "mnist",
         "fashion", "cifar10", "none", "minmax", "perturbation", "both", "none,both", "x,,y", "nosuchprofile",
         "tcp://127.0.0.1:1", "1/6", "1/12", "1/0", "a\nb", "\u00e9", ""]
junk = st.one_of(st.sampled_from(PATHS + NUMBERS + WORDS),
                 st.text(st.characters(exclude_characters="\0"), max_size=8))
path, number, word = (st.one_of(st.sampled_from(pool), junk) for pool in (PATHS, NUMBERS, WORDS))

RX = {"--role": word, "--db": path, "--iq": path, "--out": path, "--timeout": number, "--idle": number,
      "--messages": number, "--record": path, "--sample-rate": number, "--radio": word, "--zmq": word,
      "--freq": number, "--gain": number, "--recovery": word, "--steps": number, "--scheduler": word,
      "--exemplar-start": number, "--harmonize": number, "--jumps": word, "--guidance": number, "--sd-path": path}
TX = {"--db": path, "--zmq": word, "--iq": path, "--design-snr": number, "--msg-id": number, "--repeat": number,
      "--sample-rate": number, "--freq": number, "--kn": word, "--radio": word, "--gain": number, "--timeout": number,
      "--send-embedding": None}
GUARD = {"--db": path, "--out": path, "--threshold": number}
LOOPBACK = {"--db": path, "--snr": number, "--eve-snr": number, "--channel": word, "--out": path, "--seed": number,
            "--via": word, "--design-snr": number, "--timeout": number, "--codec": path, "--kn": word,
            "--recovery": word, "--steps": number, "--scheduler": word, "--jumps": word, "--guidance": number,
            "--impairments": None}
EVAL = {"--config": path, "--out": path, "--workers": number, "--transport": word, "--joint": path,
        "--report": path, "--restart": None}
MULTITASK_EVAL = {"--dataset": word, "--data-dir": path, "--none-link": path, "--minmax-link": path,
                  "--defences": word, "--snr": word, "--eve-offset-db": number, "--psr-db": number, "--channel": word,
                  "--transport": word, "--limit": number, "--eve-train-limit": number, "--tx-radio": word,
                  "--bob-radio": word, "--eve-radio": word, "--freq": number, "--sample-rate": number,
                  "--seed": number, "--json": path, "--figure": path, "--no-adapted": None}
DB = {"--prompt": word, "--threshold": number, "--max-fpr": number, "--scenes": number, "--encoder": word,
      "--checkpoint": path}
STRAYS = ["--help", "-h", "--bogus", "-x", "--", "-"]


@st.composite
def arguments(draw, options: dict, required: tuple[str, ...] = ()) -> list[str]:
    """Options with values of their kind (or junk), stray tokens; sometimes shuffled,
    repeated or cut."""
    names = sorted(options)
    chosen = [n for n in required if draw(st.integers(0, 5))]
    chosen += draw(st.lists(st.sampled_from(names), max_size=5))
    args: list[str] = []
    for name in chosen:
        kind = draw(st.integers(0, 19))
        value = options[name]
        if value is None or kind == 0:
            args.append(name)
        elif kind == 1:
            args.append(f"{name}={draw(value)}")
        else:
            args += [name, draw(value)]
        if kind == 2:
            args.append(draw(st.one_of(st.sampled_from(STRAYS), junk)))
    if args and draw(st.integers(0, 5)) == 0:
        args = draw(st.permutations(args))
    if args and draw(st.integers(0, 5)) == 0:
        i = draw(st.integers(0, len(args) - 1))
        args = args[:i] + args[i:][: draw(st.integers(0, 2))] * 2 + args[i:]
    return args


@fuzz(250)
@given(arguments(RX, ("--role", "--out")),
       st.sampled_from(["noise.sigmf-data", "odd.sigmf-data", "badmeta", "notes", "missing", "afile"]))
def test_rx_rejects_bad_arguments_in_one_line(workspace, args, iq):
    check(workspace, ["rx", *args, "--iq", iq])


@fuzz(100)
@given(arguments(RX), st.sampled_from(["afile", "afile/below", "out", "a\nb"]), st.sampled_from(["bob", "eve"]))
def test_rx_on_an_iq_file_without_frames_fails_in_one_line(workspace, args, out, role):
    check(workspace, ["rx", *args, "--role", role, "--db", "baddb", "--out", out, "--iq", "noise.sigmf-data"])


@fuzz(200)
@given(st.sampled_from([["db", "list"], ["db", "verify"], ["db", "remove"], ["db", "add"], ["db", "calibrate"],
                        ["db", "create"]]),
       arguments(DB), st.sampled_from(["nodb", "baddb", "emptydir", "afile", "", "a\nb", "notimage.png"]),
       st.lists(junk, max_size=2))
def test_db_rejects_bad_arguments_in_one_line(workspace, command, args, directory, positionals):
    anchor = ["--encoder", "nosuchencoder"] if command[1] == "create" else []
    positionals = positionals if command[1] in ("add", "remove") else positionals[:1] * (len(args) % 5 == 0)
    check(workspace, [*command, directory, *positionals, *args, *anchor])


@fuzz(120)
@given(arguments(EVAL, ("--out",)), st.sampled_from(["missing.toml", "bad.toml", "notoml.toml", "deep.toml",
                                                      "emptydir", "afile", "~nosuchuser/x.toml", ""]))
def test_eval_rejects_bad_arguments_in_one_line(workspace, args, config):
    check(workspace, ["eval", *args, "--config", config])


@fuzz(150)
@given(arguments(MULTITASK_EVAL, ("--none-link", "--dataset")), st.sampled_from(["nodata", "afile", "emptydir/none"]))
def test_multitask_eval_rejects_bad_arguments_in_one_line(workspace, args, data_dir):
    check(workspace, ["multitask", "eval", *args, "--data-dir", data_dir])


@fuzz(250)
@given(st.sampled_from([("guard", GUARD), ("tx", TX), ("loopback", LOOPBACK)]), st.data())
def test_image_commands_reject_bad_arguments_in_one_line(workspace, command, data):
    name, options = command
    args = data.draw(arguments(options, ("--db", "--out") if "--out" in options else ("--db",)))
    image = data.draw(st.sampled_from(["missing.png", "notimage.png", "afile", "emptydir", "noise.sigmf-data"]))
    check(workspace, [name, *args, image])


def _command_names(group) -> set[str]:
    import click

    names = set()
    for name, command in group.commands.items():
        names.add(name)
        if isinstance(command, click.Group):
            names |= _command_names(command)
    return names


@functools.cache
def _all_command_names() -> set[str]:
    from privsem.cli import _register, cli

    _register()
    return _command_names(cli)


TOP = ["rx", "tx", "db", "eval", "guard", "loopback", "multitask", "bench", "train", "nosuchcommand", "--version",
       "--help", "-h", "-", "--bogus"]


@fuzz(200)
@given(st.sampled_from(TOP), st.lists(junk.filter(lambda v: v not in _all_command_names() and v != "--"),
                                      max_size=3))
def test_top_level_rejects_bad_arguments_in_one_line(workspace, first, rest):
    check(workspace, [first, *rest])
