"""``privsem eval`` configuration: a TOML file, checked key by key.

Every key is optional; the defaults are the quick grid of the issue (0–20 dB in 5 dB
steps, AWGN and Rayleigh, the software channel, 4 held-out scenes, one seed). Unknown
keys, bad values and missing image folders are refused with one line naming the key.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from ..codec.hda import MARGIN_DB
from ..codec.registry import CODECS
from ..errors import PrivsemError

VARIANTS = ("full", "notext", "noguard", "classical", "digital")
KNOWN_VARIANTS = VARIANTS + ("joint",)  # joint: Algorithm 3's parts (needs ``joint = DIR``)
SCENE_SETS = ("heldout", "calibration")
CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class RadioSetup:
    """``[radio]``: real radios for ``transport = "radio"``. Each entry of ``tx_gains``
    is one point of the sweep (the rows carry the SNR the receivers measured)."""

    tx: str = ""
    bob: str = ""
    eve: str = ""
    freq: float = 2.45e9
    sample_rate: float = 2e6
    tx_gains: tuple[float, ...] = ()
    rx_gain: float | None = None


@dataclass(frozen=True)
class EvalConfig:
    """What one evaluation runs. SNRs in dB; ``images`` is a scene set name
    (``heldout`` | ``calibration``: scenes with an entity, from
    :mod:`privsem.database.scenes`) or a folder of PNG/JPEG images. ``dataset``: a
    one-folder-per-individual collection (the cat-individuals layout) instead: the first
    ``dataset_db_photos`` photos of each individual make the DB (``OUT/db``, built and
    calibrated on the first run), the others are the test images."""

    snrs: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0)
    channels: tuple[str, ...] = ("awgn", "rayleigh")
    transport: str = "software"
    images: str = "heldout"
    n_images: int = 4
    seeds: tuple[int, ...] = (0,)
    workers: int = 1
    variants: tuple[str, ...] = VARIANTS
    steps: int = 20
    kn: str = "1/6"
    eve_snr_offset_db: float = 0.0
    design_snr_db: float | None = None  # SNR the JSCC encoder is told (None: the link's; radios: 10)
    margin_db: float = MARGIN_DB  # hda/auto: dB below the design SNR where the hybrid's base layer still decodes
    db: str = ""
    codec: str = ""  # softcast | hda | jscc | digital, or a JSCC weights file ("": the default codec)
    recovery_model: str = ""
    joint: str = ""  # a `privsem train joint` folder: its JSCC, Bob's U-Net and guard margins
    fig4_images: int = 1
    dataset: str = ""
    dataset_db_photos: int = 4
    dataset_prompt: str = "the cat {name}"
    dataset_calibration_scenes: int = 0  # 0: db calibrate's default (80, or 8 per individual)
    timeout_s: float = 120.0
    radio: RadioSetup = field(default_factory=RadioSetup)

    def digest(self) -> str:
        """sha256 of everything that changes results, for resuming. ``workers`` does not,
        and keys left at their defaults are skipped, so a key added in a later privsem
        does not orphan earlier runs."""
        default = asdict(EvalConfig())
        d = {k: v for k, v in asdict(self).items() if k != "workers" and v != default[k]}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _err(where: str, key: str, msg: str) -> PrivsemError:
    return PrivsemError(f"config {where}: {key}: {msg}")


def _number_list(where: str, key: str, v, lo: float, hi: float, integer: bool = False) -> tuple:
    if not isinstance(v, list) or not v:
        raise _err(where, key, "must be a non-empty list of numbers")
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or (integer and not isinstance(x, int)):
            raise _err(where, key, f"{x!r} is not {'an integer' if integer else 'a number'}")
        if not (lo <= x <= hi) or (isinstance(x, float) and math.isnan(x)):
            raise _err(where, key, f"{x!r} is outside {lo:g}…{hi:g}")
        out.append(x if integer else float(x))
    if len(set(out)) != len(out):
        raise _err(where, key, "has duplicates")
    return tuple(out)


def _choices(where: str, key: str, v, known) -> tuple[str, ...]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
        raise _err(where, key, "must be a non-empty list of strings")
    for x in v:
        if x not in known:
            raise _err(where, key, f"unknown {x!r} (known: {', '.join(known)})")
    return tuple(dict.fromkeys(v))


def _typed(where: str, key: str, v, kind, lo=None, hi=None):
    ok = isinstance(v, kind) and not isinstance(v, bool)
    if kind is float:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    if not ok:
        raise _err(where, key, f"must be {'a number' if kind is float else kind.__name__}, not {v!r}")
    if lo is not None and not (lo <= v <= hi):
        raise _err(where, key, f"{v!r} is outside {lo:g}…{hi:g}")
    return float(v) if kind is float else v


def _expand_user(where: str, key: str, v: str) -> Path:
    try:
        return Path(v).expanduser()
    except (RuntimeError, ValueError):  # ~user of an unknown user, or a NUL in the name
        raise _err(where, key, f"cannot expand {v!r}") from None


def _radio(where: str, d) -> RadioSetup:
    if not isinstance(d, dict):
        raise _err(where, "radio", "must be a table")
    known = {f.name for f in fields(RadioSetup)}
    for k in d:
        if k not in known:
            raise _err(where, f"radio.{k}", f"unknown key (known: {', '.join(sorted(known))})")
    kw = {}
    for k in ("tx", "bob", "eve"):
        if k in d:
            kw[k] = _typed(where, f"radio.{k}", d[k], str)
    if "freq" in d:
        kw["freq"] = _typed(where, "radio.freq", d["freq"], float, 1e6, 7e9)
    if "sample_rate" in d:
        kw["sample_rate"] = _typed(where, "radio.sample_rate", d["sample_rate"], float, 1e5, 1e8)
    if "tx_gains" in d:
        kw["tx_gains"] = _number_list(where, "radio.tx_gains", d["tx_gains"], -50, 100)
    if "rx_gain" in d:
        kw["rx_gain"] = _typed(where, "radio.rx_gain", d["rx_gain"], float, -50, 100)
    return RadioSetup(**kw)


def parse_config(data: dict, where: str = "(defaults)", base: Path | None = None) -> EvalConfig:
    """A TOML table → :class:`EvalConfig`; relative paths resolve against ``base``."""
    from ..channel import CHANNELS
    from ..transport.links import TRANSPORTS

    known = {f.name for f in fields(EvalConfig)}
    for k in data:
        if k not in known:
            raise _err(where, k, f"unknown key (known: {', '.join(sorted(known))})")
    kw: dict = {}
    if "snrs" in data:
        kw["snrs"] = _number_list(where, "snrs", data["snrs"], -10, 40)
    if "channels" in data:
        kw["channels"] = _choices(where, "channels", data["channels"], CHANNELS)
    if "transport" in data:
        t = _typed(where, "transport", data["transport"], str)
        if t not in TRANSPORTS:
            raise _err(where, "transport", f"unknown {t!r} (known: {', '.join(TRANSPORTS)})")
        kw["transport"] = t
    if "seeds" in data:
        kw["seeds"] = _number_list(where, "seeds", data["seeds"], 0, 2**31 - 1, integer=True)
    if "variants" in data:
        kw["variants"] = _choices(where, "variants", data["variants"], KNOWN_VARIANTS)
        if "full" not in kw["variants"]:
            raise _err(where, "variants", "must include 'full' (the main run)")
    for k, lo, hi in (("n_images", 1, 10000), ("workers", 1, 64), ("steps", 1, 1000), ("fig4_images", 0, 100),
                      ("dataset_db_photos", 1, 1000), ("dataset_calibration_scenes", 0, 100000)):
        if k in data:
            kw[k] = _typed(where, k, data[k], int, lo, hi)
    for k, lo, hi in (("eve_snr_offset_db", -40, 40), ("design_snr_db", -10, 40), ("timeout_s", 1, 3600),
                      ("margin_db", 0, 30)):
        if k in data:
            kw[k] = _typed(where, k, data[k], float, lo, hi)
    if "kn" in data:
        from ..codec.base import parse_kn

        kn = _typed(where, "kn", data["kn"], str)
        try:
            parse_kn(kn)
        except PrivsemError as e:
            raise _err(where, "kn", str(e)) from None
        kw["kn"] = kn
    if "dataset_prompt" in data:
        t = _typed(where, "dataset_prompt", data["dataset_prompt"], str)
        if "{name}" not in t:
            raise _err(where, "dataset_prompt", "must contain {name} (the individual's folder name)")
        kw["dataset_prompt"] = t
    for k in ("images", "db", "codec", "recovery_model", "joint", "dataset"):
        if k in data:
            v = _typed(where, k, data[k], str)
            if v and not (k == "images" and v in SCENE_SETS) and not (k == "codec" and v in CODECS):
                p = _expand_user(where, k, v)
                p = p if p.is_absolute() or base is None else base / p
                if not p.exists():
                    raise _err(where, k, f"no such {'folder' if k in ('images', 'db', 'joint', 'dataset') else 'file'}: {p}")
                v = str(p.resolve())
            kw[k] = v
    if "radio" in data:
        kw["radio"] = _radio(where, data["radio"])
    cfg = EvalConfig(**kw)
    if cfg.dataset and cfg.db:
        raise _err(where, "dataset", "the DB of a dataset run is built from its photos: leave db out")
    if cfg.joint:
        from ..joint import FILES

        for part in ("codec", "bob", "guard"):
            if not (Path(cfg.joint) / FILES[part]).is_file():
                raise _err(where, "joint", f"{cfg.joint} has no {FILES[part]} (not a `privsem train joint` folder)")
        if "joint" not in cfg.variants:
            cfg = replace(cfg, variants=cfg.variants + ("joint",))
    elif "joint" in cfg.variants:
        raise _err(where, "variants", "'joint' needs joint = DIR (a `privsem train joint` folder)")
    if cfg.transport == "radio":
        r = cfg.radio
        missing = [k for k in ("tx", "bob", "eve") if not getattr(r, k)]
        if missing:
            raise _err(where, f"radio.{missing[0]}", 'transport = "radio" needs radio profiles for tx, bob and eve')
        if not r.tx_gains:
            raise _err(where, "radio.tx_gains", 'transport = "radio" sweeps TX gains instead of snrs: give a list')
    return cfg


def load_config(spec: str | Path | None, overrides: dict | None = None) -> EvalConfig:
    """A config file path, a name from ``privsem/eval/configs/`` (``quick``, ``paper``, …),
    or None for the defaults; ``overrides`` (command-line values) replace the file's keys
    and pass the same checks (relative paths in them resolve against the working folder)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if spec is None:
        return parse_config(overrides, "(command line)", Path.cwd())
    path = Path(spec)
    if not path.suffix and not path.exists() and (CONFIG_DIR / f"{spec}.toml").is_file():
        path = CONFIG_DIR / f"{spec}.toml"
    if not path.is_file():
        names = ", ".join(p.stem for p in sorted(CONFIG_DIR.glob("*.toml")))
        raise PrivsemError(f"config not found: {spec} (a TOML file, or one of: {names})")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PrivsemError(f"config {path}: not valid TOML: {e}") from None
    except RecursionError:
        raise PrivsemError(f"config {path}: not valid TOML: nested too deeply") from None
    for k, v in overrides.items():  # absolute, so the file's folder does not re-anchor them
        path_like = k in ("joint", "dataset") or (k == "codec" and v not in CODECS)
        data[k] = str(_expand_user("(command line)", k, v).absolute()) if path_like else v
    return parse_config(data, str(path), path.parent)
