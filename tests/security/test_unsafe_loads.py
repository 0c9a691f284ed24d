"""No untrusted file is ever unpickled or evaluated: an AST scan of every .py file under
privsem/, tests/, flowgraphs/ and sdr/ (comments and docstrings do not count).

Refused: ``torch.load`` without ``weights_only=True``; ``pickle.load``/``loads``/
``Unpickler``, ``cPickle``, ``dill``, ``cloudpickle``, ``joblib.load``,
``pandas.read_pickle``, ``marshal.load``/``loads``, ``shelve.open``; ``numpy.load``
with ``allow_pickle`` not literally False; ``yaml.load``/``load_all``/``full_load``
without a safe loader and ``yaml.unsafe_load``; builtin ``eval``/``exec``;
``torch.hub.load``; ``trust_remote_code=True``.

The one allowed pickle reader is a ``pickle.Unpickler`` subclass that overrides
``find_class`` (an allow-list): ``_CifarUnpickler`` in privsem/multitask/data.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("privsem", "tests", "flowgraphs", "sdr")
ALLOWED_UNPICKLERS = {("privsem/multitask/data.py", "_CifarUnpickler")}

BANNED_MODULES = {"cPickle", "_pickle", "dill", "cloudpickle"}
BANNED_CALLS = {"pickle.load", "pickle.loads", "pickle.Unpickler", "_pickle.load", "_pickle.loads",
                "joblib.load", "pandas.read_pickle", "marshal.load", "marshal.loads", "shelve.open",
                "yaml.unsafe_load", "yaml.unsafe_load_all", "torch.hub.load", "eval", "exec",
                "builtins.eval", "builtins.exec"}
TORCH_LOADS = {"torch.load", "torch.serialization.load"}
YAML_LOADS = {"yaml.load", "yaml.load_all", "yaml.full_load", "yaml.full_load_all"}
SAFE_YAML_LOADERS = {"yaml.SafeLoader", "yaml.CSafeLoader", "yaml.BaseLoader", "yaml.CBaseLoader"}


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name → dotted origin, from the module's imports (``np`` → ``numpy``,
    ``load`` → ``torch.load``)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    out[a.asname] = a.name
                else:
                    out.setdefault(a.name.split(".")[0], a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """``np.load`` → ``numpy.load`` for a Name/Attribute chain; None otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_const(node: ast.expr | None, value) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _unpickler_classes(tree: ast.AST, aliases: dict[str, str]) -> dict[str, tuple[int, bool]]:
    """Classes deriving from ``pickle.Unpickler`` → (line, whether they override ``find_class``)."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
                _dotted(b, aliases) in ("pickle.Unpickler", "_pickle.Unpickler") for b in node.bases):
            out[node.name] = (node.lineno, any(isinstance(f, ast.FunctionDef) and f.name == "find_class"
                                               for f in node.body))
    return out


def scan_source(source: str, filename: str = "<string>") -> tuple[list[str], set[str]]:
    """Findings (``file:line: what``) in one module, and the names of its allow-list
    unpickler classes (``pickle.Unpickler`` subclasses overriding ``find_class``)."""
    tree = ast.parse(source, filename)
    aliases = _aliases(tree)
    unpicklers = _unpickler_classes(tree, aliases)
    found = [f"{filename}:{line}: pickle.Unpickler subclass {name} does not override find_class"
             for name, (line, ok) in unpicklers.items() if not ok]
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in BANNED_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in BANNED_MODULES:
            found.append(f"{where}: from {node.module} import")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func, aliases)
        if _is_const(_kw(node, "trust_remote_code"), True):
            found.append(f"{where}: trust_remote_code=True")
        if name is None:
            continue
        if name in BANNED_CALLS:
            found.append(f"{where}: {name}(...)")
        elif name in TORCH_LOADS and not _is_const(_kw(node, "weights_only"), True):
            found.append(f"{where}: {name}(...) without weights_only=True")
        elif name == "numpy.load" and not (_kw(node, "allow_pickle") is None
                                            or _is_const(_kw(node, "allow_pickle"), False)):
            found.append(f"{where}: numpy.load(..., allow_pickle=...)")
        elif name in YAML_LOADS:
            loader = _kw(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
            if loader is None or _dotted(loader, aliases) not in SAFE_YAML_LOADERS:
                found.append(f"{where}: {name}(...) without a safe Loader")
        if (isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                and isinstance(node.func.value, ast.Call)
                and _dotted(node.func.value.func, aliases) in ("pickle.Unpickler", "_pickle.Unpickler")):
            found.append(f"{where}: pickle.Unpickler(...).load()")
    return found, {n for n, (_, ok) in unpicklers.items() if ok}


def _files() -> list[Path]:
    return sorted(p for d in SCANNED if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*.py"))


def test_no_unsafe_loads_anywhere():
    findings, allowed = [], set()
    files = _files()
    assert len(files) > 100  # the scan really sees the code base
    for p in files:
        rel = p.relative_to(ROOT).as_posix()
        f, a = scan_source(p.read_text(encoding="utf-8"), rel)
        findings += f
        allowed |= {(rel, name) for name in a}
    assert not findings, "unsafe loads:\n" + "\n".join(findings)
    # the only pickle reader is the CIFAR-10 allow-list unpickler
    assert allowed == ALLOWED_UNPICKLERS


BAD = {
    "import torch\ntorch.load('w.pt')": "torch.load(...) without weights_only=True",
    "import torch\ntorch.load('w.pt', weights_only=False)": "without weights_only=True",
    "from torch import load as tl\ntl(f)": "torch.load(...) without weights_only=True",
    "import pickle\npickle.load(f)": "pickle.load(...)",
    "from pickle import loads\nloads(b)": "pickle.loads(...)",
    "import pickle\npickle.Unpickler(f).load()": "pickle.Unpickler",
    "import pickle\nclass U(pickle.Unpickler):\n    pass": "does not override find_class",
    "import cPickle": "import cPickle",
    "import dill": "import dill",
    "import joblib\njoblib.load('m.pkl')": "joblib.load(...)",
    "import numpy as np\nnp.load('a.npy', allow_pickle=True)": "numpy.load(..., allow_pickle=...)",
    "import yaml\nyaml.load(s)": "yaml.load(...) without a safe Loader",
    "import yaml\nyaml.load(s, Loader=yaml.Loader)": "without a safe Loader",
    "import yaml\nyaml.unsafe_load(s)": "yaml.unsafe_load(...)",
    "eval('1 + 1')": "eval(...)",
    "exec(code)": "exec(...)",
    "M.from_pretrained(p, trust_remote_code=True)": "trust_remote_code=True",
}
GOOD = """
import numpy as np
import pickle
import torch
import yaml
'''pickle.load(f) and torch.load(f) in a docstring do not count'''
# eval(x) in a comment does not count
torch.load("w.pt", map_location="cpu", weights_only=True)
np.load("a.npy")
np.load("a.npy", allow_pickle=False)
yaml.safe_load(s)
yaml.load(s, Loader=yaml.SafeLoader)
pickle.dumps({})
model.eval()

class Allowed(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(name)

Allowed(f).load()
"""


@pytest.mark.parametrize("snippet", BAD)
def test_scanner_flags_planted_snippets(snippet):
    findings, _ = scan_source(snippet)
    assert findings and BAD[snippet] in findings[0], findings


def test_scanner_passes_safe_code():
    findings, allowed = scan_source(GOOD)
    assert findings == [] and allowed == {"Allowed"}
