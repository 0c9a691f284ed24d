"""The documentation's commands run as written (issue 22, item 7).

- The README's first code block holds the commands a newcomer runs: every `./setup.sh X`
  in it is a target of setup.sh, `.ci/run` runs one of its lines, and the `privsem`
  commands those targets run parse against the CLI.
- Every `privsem …` command line in a fenced code block of README.md or docs/*.md parses
  against the real click commands: no unknown option, no option without its value, no
  extra argument, numbers where the CLI wants numbers, and a value the option's --help
  lists (`awgn | rayleigh`) where it lists them. The CLI's --help is the reference for
  flags; the docs follow it.
- README.md stays a front page (≤ 250 lines) and its relative links (and the docs')
  point at files that exist.

Synopsis notation is understood: `[optional]` parts are included, `(a | b)` and `[a | b]`
groups and `a|b` values are tried one alternative at a time, `--view[=ENDPOINT]`,
`...` for "the rest as above", indented `[--more]` lines and trailing backslashes
continue a command, `# comments` are dropped. A value in capitals (`DIR`, `IMAGE`,
`WEIGHTS.safetensors`) or a Greek letter is a placeholder and is not type-checked; a
line with `...` may leave out required parameters.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SETUP = ROOT / "setup.sh"
CI_RUN = ROOT / ".ci" / "run"
README_MAX_LINES = 250

# Code blocks in these languages hold data or program text, not shell commands.
NOT_SHELL = {"json", "toml", "yaml", "yml", "python", "py", "mermaid", "diff", "ini", "csv"}
WRAPPERS = {"sudo", "time", "nohup", "env", "xvfb-run", "timeout", "exec"}
PYTHONS = re.compile(r"^(?:.*/)?(?:python3?(?:\.\d+)?|torchrun)$")
SHELL_ENDS = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "2>&1", "<"}


def doc_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


# --- fenced code blocks and the command lines in them -------------------------------------

def code_blocks(path: Path) -> list[tuple[str, list[tuple[int, str]]]]:
    """(language, [(line number, line)]) of every fenced block."""
    blocks, current, fence, lang = [], None, None, ""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if current is None:
            m = re.match(r"^(`{3,}|~{3,})\s*([\w+-]*)", stripped)
            if m:
                current, fence, lang = [], m.group(1), m.group(2).lower()
        elif stripped.startswith(fence) and not stripped[len(fence):].strip():
            blocks.append((lang, current))
            current = None
        else:
            current.append((n, line))
    return blocks


def strip_comment(line: str) -> str:
    """The line without a shell comment (a # at a word start, outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Command lines of a block: backslash continuations and indented `[--option …]`
    synopsis lines joined to the line they continue; in a block that shows a session
    (`$ command`), only the `$` lines are commands."""
    session = any(line.lstrip().startswith("$ ") for _, line in lines)
    out: list[list] = []
    continues = False
    for n, raw in lines:
        line = strip_comment(raw)
        if out and (continues or (not session and re.match(r"^\s+[\[(]|^\s+--", line))):
            out[-1][1] += " " + line.strip().removesuffix("\\")
            continues = line.endswith("\\")
            continue
        text = line.strip()
        if session:
            if not text.startswith("$ "):
                continues = False
                continue
            text = text[2:]
        continues = text.endswith("\\")
        if text:
            out.append([n, text.removesuffix("\\")])
    return [(n, t) for n, t in out]


def tokenize(text: str) -> list[str]:
    """Shell-like words; quotes removed; [ ] ( ) and a lone | are tokens of their own."""
    text = re.sub(r"(--[\w-]+)\[=([^\]\s]+)\]", r"\1=\2", text)  # --view[=ENDPOINT]
    tokens, word, quote, quoted = [], [], None, False

    def flush():
        nonlocal word, quoted
        if word or quoted:
            tokens.append("".join(word))
        word, quoted = [], False

    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                word.append(ch)
        elif ch in "'\"":
            quote, quoted = ch, True
        elif ch.isspace():
            flush()
        elif ch in "[]()" and not quoted:
            flush()
            tokens.append(ch)
        else:
            word.append(ch)
    flush()
    return tokens


def split_command(tokens: list[str]) -> tuple[str, list[str]] | None:
    """("privsem", argv) or ("setup", argv) for a command line, else None."""
    i = 0
    while i < len(tokens) and re.match(r"^[A-Za-z_]\w*=", tokens[i]):  # VAR=value
        i += 1
    while i < len(tokens) and tokens[i] in WRAPPERS:
        i += 1
        while i < len(tokens) and tokens[i].startswith("-"):
            i += 1
    if i >= len(tokens):
        return None
    head = tokens[i]
    if head.strip('"').split("/")[-1] == "privsem":
        rest = tokens[i + 1:]
    elif PYTHONS.match(head):
        try:
            m = tokens.index("-m", i)
        except ValueError:
            return None
        if m + 1 >= len(tokens) or tokens[m + 1] != "privsem":
            return None
        rest = tokens[m + 2:]
    elif head in ("./setup.sh", "setup.sh") or (head == "bash" and tokens[i + 1:i + 2] == ["setup.sh"]):
        rest = tokens[i + (2 if head == "bash" else 1):]
        return "setup", _until_shell_end(rest)
    else:
        return None
    return "privsem", rest


def _until_shell_end(tokens: list[str]) -> list[str]:
    depth = 0
    for i, t in enumerate(tokens):
        depth += (t in "[(") - (t in "])") if t in "[]()" else 0
        if depth == 0 and t in SHELL_ENDS:
            return tokens[:i]
    return tokens


# --- synopsis expansion ----------------------------------------------------------------------

def _parse_groups(tokens: list[str], i: int = 0, close: str | None = None):
    """Sequence of items until `close`; an item is a word or ("group", [alternatives])."""
    alternatives, seq = [], []
    while i < len(tokens):
        t = tokens[i]
        if t in "[(" and len(t) == 1:
            inner, i = _parse_groups(tokens, i + 1, "]" if t == "[" else ")")
            seq.append(("group", inner))
            continue
        if close and t == close:
            alternatives.append(seq)
            return alternatives, i + 1
        if t == "|" and close:
            alternatives.append(seq)
            seq = []
        else:
            seq.append(t)
        i += 1
    alternatives.append(seq)
    return alternatives, i


def _width(seq) -> int:
    w = 1
    for item in seq:
        if isinstance(item, tuple):
            w = max(w, len(item[1]), *(_width(a) for a in item[1]))
        elif "|" in item and not item.startswith(("tcp:", "ipc:", "http")):
            w = max(w, len(item.split("|")))
    return w


def _pick(seq, k: int) -> list[str]:
    out = []
    for item in seq:
        if isinstance(item, tuple):
            alts = item[1]
            out += _pick(alts[min(k, len(alts) - 1)], k)
        elif "|" in item and not item.startswith(("tcp:", "ipc:", "http")):
            parts = item.split("|")
            out.append(parts[min(k, len(parts) - 1)])
        else:
            out.append(item)
    return out


def expansions(argv: list[str]) -> list[list[str]]:
    """One argv per alternative index: every alternative of every group is in one of them."""
    alternatives, _ = _parse_groups(_until_shell_end(argv))
    seq = alternatives[0]
    return [_pick(seq, k) for k in range(_width(seq))]


# --- checking one privsem argv against the CLI ------------------------------------------------

_cli = None


def privsem_cli() -> click.Group:
    global _cli
    if _cli is None:
        from privsem.cli import _register, cli
        _register()
        _cli = cli
    return _cli


def is_placeholder(value: str) -> bool:
    return (bool(re.search(r"[A-Z]", value)) or any(ord(c) > 127 and c.isalpha() for c in value)
            or value in ("...", "…") or "<" in value)


def documented_values(param: click.Parameter) -> tuple[list[str], bool] | None:
    """The values an option's --help lists as `a | b | c`, and whether a file is allowed too."""
    text = " ".join((getattr(param, "help", None) or "").split())
    if " | " not in text:
        return None
    parts = text.split(" | ")
    first = re.search(r"([\w-]+)(?:\s*\([^)]*\))?\s*$", parts[0])
    values = [first.group(1)] if first else []
    for part in parts[1:]:
        m = re.match(r"\s*([\w-]+)", part)
        if m:
            values.append(m.group(1))
    return values, bool(re.search(r"\bfile\b|\bpath\b|\.safetensors", text, re.IGNORECASE))


def _takes_value(param) -> bool:
    return (isinstance(param, click.Option) and not param.is_flag and not param.count
            and not getattr(param, "_flag_needs_value", False))


def _permissive(cmd: click.Command) -> click.Command:
    """The command's parameters as plain strings, none required, no callbacks: parsing it
    finds unknown options, options without their value and extra arguments, and nothing else."""
    params = []
    for p in cmd.params:
        q = copy.copy(p)
        if not (isinstance(p, click.Option) and (p.is_flag or p.count)):
            q.type = click.STRING
        q.required = False
        q.callback = None
        params.append(q)
    return click.Command(cmd.name, params=params, add_help_option=True,
                         context_settings={"help_option_names": ["-h", "--help"]})


def check_privsem(argv: list[str], complete: bool = True) -> str | None:
    """None if argv parses against the CLI, else the reason. A command that is not
    `complete` (an inline mention such as `privsem tx --kn 1/12`, or a synopsis with
    `...`) may leave out required parameters, and a group may stand alone."""
    cmd: click.Command = privsem_cli()
    path = ["privsem"]
    args = list(argv)
    while isinstance(cmd, click.Group):
        if not args:
            if not complete:
                return None
            return f"`{' '.join(path)}` needs a command ({', '.join(cmd.list_commands(click.Context(cmd)))})"
        if args[0] in ("-h", "--help", "--version") or (args[0] in ("...", "…") and not complete):
            return None
        if is_placeholder(args[0]):  # `privsem COMMAND --help`
            return None
        sub = cmd.get_command(click.Context(cmd), args[0])
        if sub is None:
            return f"`{' '.join(path)}` has no command {args[0]!r}"
        cmd, path, args = sub, path + [args[0]], args[1:]
    if "-h" in args or "--help" in args:
        return None
    elided = not complete or "..." in args or "…" in args
    options = {o: p for p in cmd.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts}
    cleaned = []
    for i, t in enumerate(args):
        if t in ("...", "…"):
            prev = args[i - 1] if i else ""
            if prev in options and _takes_value(options[prev]):
                cleaned.append("VALUE")
            continue  # "the rest as above"
        cleaned.append(t)
    if not complete and cleaned and cleaned[-1] in options and _takes_value(options[cleaned[-1]]):
        cleaned.append("VALUE")  # a mention of the option: `privsem tx --radio`
    name = " ".join(path)
    try:
        ctx = _permissive(cmd).make_context(name, cleaned)
    except click.exceptions.Exit:
        return None
    except click.ClickException as e:
        return f"`{name}`: {' '.join(e.format_message().split())}"
    for p in cmd.params:
        raw = ctx.params.get(p.name)
        if isinstance(raw, str):
            given = [raw]
        elif isinstance(raw, (tuple, list)):
            given = [v for v in raw if isinstance(v, str)]
        else:
            given = []
        if p.required and not elided and not given and raw in (None, (), []):
            return f"`{name}`: missing required {p.get_error_hint(ctx)}"
        for value in given:
            if is_placeholder(value):
                continue
            if isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType,
                                   click.types.BoolParamType, click.Choice)):
                try:
                    p.type.convert(value, p, ctx)
                except click.BadParameter as e:
                    return f"`{name}` {p.get_error_hint(ctx)}: {e.format_message()}"
            listed = documented_values(p)
            if listed and value not in listed[0] and not (listed[1] and re.search(r"[./]", value)):
                return (f"`{name}` {p.get_error_hint(ctx)}: {value!r} is not one of "
                        f"{' | '.join(listed[0])} (its --help)")
    return None


def setup_targets() -> dict[str, str]:
    """setup.sh's targets, each with the body of its case branch."""
    text = SETUP.read_text()
    case = text[text.index('case "$cmd" in'):]
    targets, name, body = {}, None, []
    for line in case.splitlines()[1:]:
        m = re.match(r"^\s+([a-z][\w-]*(?:\|[a-z][\w-]*)*)\)\s*(.*)$", line)
        if m:
            if name:
                targets[name] = "\n".join(body)
            name, body = m.group(1), [m.group(2)]
        elif re.match(r"^\s+\*\)", line) or line.startswith("esac"):
            break
        else:
            body.append(line)
    if name:
        targets[name] = "\n".join(body)
    return {alias: b for names, b in targets.items() for alias in names.split("|")}


def setup_privsem_commands(body: str) -> list[list[str]]:
    """The privsem commands a setup.sh branch runs, shell variables as placeholders."""
    joined = re.sub(r"\\\n\s*", " ", body)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        # `[ -f X ] || "$VENV/bin/privsem" …` runs the part after `||`
        m = re.search(r'"?\$VENV/bin/privsem"?\s+(.*)$', line)
        if m:
            argv = [t for t in tokenize(strip_comment(m.group(1))) if not t.startswith("$")]
            out.append(argv)
    return out


def collect_commands(paths: list[Path]):
    for path in paths:
        for lang, lines in code_blocks(path):
            if lang in NOT_SHELL:
                continue
            for n, text in logical_lines(lines):
                found = split_command(tokenize(text))
                if found:
                    yield path, n, text, found


def _where(path: Path, n: int) -> str:
    return f"{path.relative_to(ROOT)}:{n}"


# --- the tests ---------------------------------------------------------------------------------

def test_readme_first_block_runs_as_written():
    blocks = code_blocks(README)
    assert blocks, "README.md has no code block"
    _, lines = blocks[0]
    commands = logical_lines(lines)
    assert commands, "the README's first code block is empty"
    targets = setup_targets()
    problems = []
    seen_targets = []
    for n, text in commands:
        found = split_command(tokenize(text))
        if found is None:
            problems.append(f"{_where(README, n)}: not a ./setup.sh or privsem command: {text}")
            continue
        kind, argv = found
        if kind == "setup":
            if not argv or argv[0] not in targets:
                problems.append(f"{_where(README, n)}: setup.sh has no target "
                                f"{argv[0] if argv else '(none)'!r} (it has {', '.join(targets)})")
                continue
            seen_targets.append(argv[0])
            for sub in setup_privsem_commands(targets[argv[0]]):  # what the target runs
                if (why := check_privsem(sub)):
                    problems.append(f"setup.sh {argv[0]} (from {_where(README, n)}): {why}")
        else:
            for expanded in expansions(argv):
                if (why := check_privsem(expanded)):
                    problems.append(f"{_where(README, n)}: {why}")
    assert not problems, "\n".join(problems)
    assert {"demo", "test"} <= set(seen_targets), \
        f"the README's first block should hold ./setup.sh demo and ./setup.sh test, has {seen_targets}"
    # .ci/run runs exactly the README's test command
    ci = [strip_comment(l).strip() for l in CI_RUN.read_text().splitlines()]
    ci_command = [l for l in ci if l and not l.startswith(("set ", "cd ")) and l != "#!/usr/bin/env bash"][-1]
    assert ci_command in {t for _, t in commands}, \
        f".ci/run runs {ci_command!r}, which is not a line of the README's first code block"


def test_every_documented_privsem_command_parses():
    """README.md and docs/*.md: the CLI's --help is the reference for every flag shown."""
    problems, checked = [], 0
    targets = setup_targets()
    for path, n, text, (kind, argv) in collect_commands(doc_files()):
        if kind == "setup":
            if not argv or argv[0] not in targets:
                problems.append(f"{_where(path, n)}: setup.sh has no target {argv[:1]}: {text}")
            continue
        for expanded in expansions(argv):
            checked += 1
            if (why := check_privsem(expanded)):
                problems.append(f"{_where(path, n)}: {why}\n    {text}")
    assert checked > 50, f"only {checked} privsem commands found in the docs; is the extraction broken?"
    assert not problems, "\n".join(problems)


INLINE = re.compile(r"`([^`]+)`")


def test_inline_privsem_commands_use_real_flags():
    """`privsem …` in running text (e.g. `privsem tx --kn 1/12`): real commands, options
    and values; a mention may leave out the rest of the command."""
    problems, checked = [], 0
    for path in doc_files():
        text = re.sub(r"^(```|~~~).*?^\1", "", path.read_text(), flags=re.DOTALL | re.MULTILINE)
        for m in INLINE.finditer(text):
            found = split_command(tokenize(" ".join(m.group(1).split())))
            if not found or found[0] != "privsem":
                continue
            for expanded in expansions(found[1]):
                checked += 1
                if (why := check_privsem(expanded, complete=False)):
                    problems.append(f"{path.relative_to(ROOT)}: {why}\n    `{m.group(1)}`")
    assert checked > 20, f"only {checked} inline privsem commands found; is the extraction broken?"
    assert not problems, "\n".join(problems)


def test_readme_is_a_front_page():
    n = len(README.read_text().splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines (at most {README_MAX_LINES}); move detail into docs/"


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)


def _broken_links(path: Path) -> list[str]:
    text = path.read_text()
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.DOTALL | re.MULTILINE)  # links in code blocks don't count
    broken = []
    for m in LINK.finditer(text):
        target = m.group(1) or m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
            continue
        file = target.split("#", 1)[0]
        if not (path.parent / file).exists():
            broken.append(f"{path.relative_to(ROOT)}: {target}")
    return broken


def test_readme_links_point_at_files():
    assert not (broken := _broken_links(README)), "\n".join(broken)


@pytest.mark.parametrize("page", sorted((ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_docs_links_point_at_files(page):
    assert not (broken := _broken_links(page)), "\n".join(broken)


# --- the checker itself ----------------------------------------------------------------------

@pytest.mark.parametrize("line, ok", [
    ("privsem loopback IMAGE --db DIR --snr 10 --channel awgn|rayleigh --out OUT", True),
    ("privsem loopback IMAGE --db DIR --snr 10 --channel fog --out OUT", False),
    ("privsem loopback IMAGE --db DIR --snr ten --out OUT", False),
    ("privsem loopback IMAGE --db DIR --out OUT --no-such-flag", False),
    ("privsem loopback IMAGE EXTRA --db DIR --out OUT", False),
    ("privsem loopback IMAGE --db DIR --out", False),
    ("privsem loopback IMAGE --db DIR ... [--view[=ENDPOINT]] [--gui [--gui-hold S]]", True),
    ("privsem rx --role bob|eve (--zmq tcp://127.0.0.1:5556 | --iq FILE.sigmf-data) --out DIR", True),
    ("privsem rx --role bob (--zmq tcp://127.0.0.1:5556 | --iqq FILE) --out DIR", False),
    ("privsem guard IMAGE --db DIR", False),  # --out is required
    ("privsem nosuch", False),
    ("privsem db", False),
    ("privsem db add DIR NAME --prompt \"the cat Vicky\" IMG1.png IMG2.jpg ... [--mask M1.png --mask M2.png ...]", True),
    ("torchrun --standalone --nproc_per_node 2 -m privsem train codec --out ...   # DDP", True),
])
def test_checker(line, ok):
    kind, argv = split_command(tokenize(strip_comment(line)))
    assert kind == "privsem"
    problems = [why for e in expansions(argv) if (why := check_privsem(e))]
    assert (not problems) == ok, problems


def test_logical_lines_join_synopses_and_skip_session_output():
    block = [(1, "privsem loopback IMAGE --db DIR --out OUT \\"), (2, "    --snr 10   # Bob"),
             (3, "privsem bench codec --json F"), (4, "                    [--kn 1/6]  # comment")]
    assert logical_lines(block) == [(1, "privsem loopback IMAGE --db DIR --out OUT  --snr 10"),
                                    (3, "privsem bench codec --json F [--kn 1/6]")]
    session = [(1, "$ privsem view --port 0"), (2, "privsem"), (3, "  privsem   ok   0.1.0")]
    assert logical_lines(session) == [(1, "privsem view --port 0")]
