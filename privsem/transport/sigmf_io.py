"""SigMF recordings of complex64 baseband (``cf32_le``), written and read with the
``sigmf`` package: ``NAME.sigmf-data`` holds the raw samples, ``NAME.sigmf-meta`` the
sample rate, centre frequency and privsem's notes (in the ``privsem:`` namespace of
the global object)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

from ..errors import PrivsemError

DATATYPE = "cf32_le"


def _base(path: str | Path) -> Path:
    p = Path(path)
    for ext in (".sigmf-data", ".sigmf-meta"):
        if p.name.endswith(ext):
            return p.with_name(p.name[: -len(ext)])
    return p


def write_sigmf(path: str | Path, samples: np.ndarray, sample_rate: float, center_freq: float = 0.0,
                description: str = "privsem transmission", extra: dict | None = None) -> Path:
    """Write ``path.sigmf-data`` / ``.sigmf-meta``, replacing a recording of that name
    (as GNU Radio's file sinks do); returns the data file's path."""
    import sigmf
    from sigmf import SigMFFile

    base = _base(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    data = base.with_name(base.name + ".sigmf-data")
    np.ascontiguousarray(samples, dtype="<c8").tofile(data)
    info = {sigmf.DATATYPE_KEY: DATATYPE, sigmf.SAMPLE_RATE_KEY: float(sample_rate),
            sigmf.DESCRIPTION_KEY: description, sigmf.RECORDER_KEY: "privsem"}
    meta = SigMFFile(data_file=str(data), global_info=info)
    meta.add_capture(0, metadata={sigmf.FREQUENCY_KEY: float(center_freq)})
    if extra:
        meta.set_global_field("core:extensions", [{"name": "privsem", "version": "1.0.0", "optional": True}])
        meta.set_global_field("privsem:notes", json.dumps(extra))
    meta_path = base.with_name(base.name + ".sigmf-meta")
    meta_path.unlink(missing_ok=True)  # sigmf refuses to replace it, and the data is already new
    meta.tofile(str(meta_path))
    return data


def read_sigmf(path: str | Path) -> tuple[np.ndarray, dict]:
    """Read a recording: ``(complex64 samples, {"sample_rate", "center_freq", ...})``.

    Raises:
        PrivsemError: missing files, not SigMF, wrong datatype, or a data file whose
        length is not a whole number of complex64 samples.
    """
    from sigmf import sigmffile

    base = _base(path)
    meta_p, data_p = base.with_name(base.name + ".sigmf-meta"), base.with_name(base.name + ".sigmf-data")
    if not data_p.is_file():
        raise PrivsemError(f"IQ file not found: {data_p}")
    if not meta_p.is_file():
        raise PrivsemError(f"SigMF meta file not found: {meta_p}")
    try:
        with warnings.catch_warnings():  # the sigmf package warns on odd sizes; we say it below
            warnings.simplefilter("ignore")
            meta = sigmffile.fromfile(str(meta_p), skip_checksum=True)
        info = meta.get_global_info()
    except Exception as e:  # the sigmf package raises many types for a bad file
        raise PrivsemError(f"not a valid SigMF recording: {meta_p} ({e.__class__.__name__})") from None
    dtype = info.get("core:datatype")
    if dtype != DATATYPE:
        raise PrivsemError(f"{meta_p}: datatype {dtype!r} is not supported (need {DATATYPE})")
    rate = info.get("core:sample_rate")
    if not _is_number(rate) or rate <= 0:
        raise PrivsemError(f"{meta_p}: no valid core:sample_rate")
    size = data_p.stat().st_size
    if size % 8:
        raise PrivsemError(f"{data_p}: {size} bytes is not a whole number of cf32_le samples")
    captures = meta.get_captures()
    freq = captures[0].get("core:frequency", 0.0) if captures else 0.0
    if not _is_number(freq):
        raise PrivsemError(f"{meta_p}: core:frequency {freq!r:.40} is not a number")
    try:
        notes = json.loads(info.get("privsem:notes", "{}"))
    except (TypeError, ValueError, RecursionError):
        notes = None
    if not isinstance(notes, dict):
        raise PrivsemError(f"{meta_p}: privsem:notes is not a JSON object")
    samples = np.fromfile(data_p, dtype="<c8").astype(np.complex64)
    return samples, {"sample_rate": float(rate), "center_freq": float(freq), "notes": notes}


def _is_number(v) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False
