"""Radio profiles: what a USRP or HackRF can do, and the flowgraph that drives it.

A profile is a YAML file in ``sdr/`` (``$PRIVSEM_SDR_DIR`` overrides the directory)::

    name: hackrf_one
    driver: soapy-hackrf            # uhd | soapy-hackrf | osmosdr
    tx_flowgraph: hackrf_tx         # flowgraphs/<name>.py
    rx_flowgraph: hackrf_rx
    device_args: ""                 # never empty for uhd
    sample_rate: {default: 2000000, min: 2000000, max: 20000000}    # S/s
    frequency: {min: 1000000, max: 6000000000}                      # Hz
    tx_gain: {min: 0, max: 47, default: 20, step: 1}                # dB
    rx_gain: {min: 0, max: 40, default: 16, step: 8}                # dB
    full_duplex: false
    flowgraph_params: {rx: {vga_gain: 20, amp: 0}, tx: {amp: 0}}    # optional
    notes: ...

``load_profile("hackrf_one")`` (or a path to a YAML file) validates it;
``profile.flowgraph_params("tx", freq, samp_rate, gain, zmq_addr)`` checks the values
against the profile's ranges and returns the keyword arguments for
:class:`privsem.transport.gnuradio.Flowgraph` (``Flowgraph(profile.flowgraph_name("tx"),
**params)``). Nothing here opens a device.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import PrivsemError
from .resources import data_dir

DRIVERS = ("uhd", "soapy-hackrf", "osmosdr")
ROLES = ("tx", "rx")
_REQUIRED = ("name", "driver", "tx_flowgraph", "rx_flowgraph", "device_args", "sample_rate",
             "frequency", "tx_gain", "rx_gain", "full_duplex", "notes")
_OPTIONAL = ("flowgraph_params",)
# Flowgraph parameters flowgraph_params() sets itself; a profile may not override them.
_RESERVED = ("freq", "samp_rate", "gain", "zmq_addr", "dev_args")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def sdr_dir() -> Path:
    """The directory of bundled profiles: ``$PRIVSEM_SDR_DIR``, else ``sdr/`` of the
    checkout, else the copy an installed wheel carries (:func:`privsem.resources.data_dir`)."""
    return data_dir("sdr")


def list_profiles() -> list[str]:
    """Names of the profiles in :func:`sdr_dir` (sorted)."""
    d = sdr_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def _fmt(v: float) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class Range:
    """A closed interval ``[min, max]`` with an optional default and step (same unit)."""

    min: float
    max: float
    default: float | None = None
    step: float | None = None

    def check(self, value: float, what: str, unit: str, profile: str) -> float:
        """``value`` as a float, or PrivsemError when it is not a finite number in range."""
        if isinstance(value, bool):
            raise PrivsemError(f"{what} must be a number, not {value!r}")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise PrivsemError(f"{what} must be a number, not {value!r}") from None
        if not math.isfinite(v) or not (self.min <= v <= self.max):
            raise PrivsemError(f"{what} {_fmt(v)} {unit} is outside {profile}'s range "
                               f"{_fmt(self.min)}..{_fmt(self.max)} {unit}")
        return v


@dataclass(frozen=True)
class RadioProfile:
    """A validated radio profile (see the module docstring for the YAML keys).

    Units: sample rates in S/s, frequencies in Hz, gains in dB.
    """

    name: str
    driver: str
    tx_flowgraph: str
    rx_flowgraph: str
    device_args: str
    sample_rate: Range
    frequency: Range
    tx_gain: Range
    rx_gain: Range
    full_duplex: bool
    notes: str
    extra_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None

    def flowgraph_name(self, role: str) -> str:
        """``tx_flowgraph`` or ``rx_flowgraph`` (a name in ``flowgraphs/``)."""
        self._role(role)
        return self.tx_flowgraph if role == "tx" else self.rx_flowgraph

    def flowgraph_params(self, role: str, freq: float, samp_rate: float | None = None,
                         gain: float | None = None, zmq_addr: str = "tcp://127.0.0.1:5555") -> dict:
        """Keyword arguments for ``Flowgraph(self.flowgraph_name(role), **params)``.

        Args:
            role: ``"tx"`` (ZMQ PULL → radio; ``zmq_addr`` is where privsem tx binds PUSH)
                or ``"rx"`` (radio → ZMQ PUSH bound at ``zmq_addr``).
            freq: centre frequency in Hz.
            samp_rate: S/s; None takes the profile's default.
            gain: dB, the role's main gain (UHD: overall gain; HackRF TX: VGA, RX: LNA);
                None takes the profile's default.
            zmq_addr: ZMQ endpoint, e.g. ``tcp://127.0.0.1:5555``.

        Returns:
            ``{"freq", "samp_rate", "gain", "dev_args", "zmq_addr", ...}`` plus the
            profile's fixed ``flowgraph_params`` for that role.

        Raises:
            PrivsemError: unknown role, or a value outside the profile's ranges.
        """
        self._role(role)
        g = self.tx_gain if role == "tx" else self.rx_gain
        f = self.frequency.check(freq, "frequency", "Hz", self.name)
        sr = self.sample_rate.check(self.sample_rate.default if samp_rate is None else samp_rate,
                                    "sample rate", "S/s", self.name)
        gv = g.check(g.default if gain is None else gain, f"{role.upper()} gain", "dB", self.name)
        if not isinstance(zmq_addr, str) or "://" not in zmq_addr:
            raise PrivsemError(f"ZMQ address must look like tcp://HOST:PORT, not {zmq_addr!r}")
        if self.driver == "uhd" and not self.device_args.strip():
            raise PrivsemError(f"radio profile {self.name}: empty device_args would make UHD probe "
                               "every interface; set e.g. type=b200 or addr=192.168.10.2")
        params = {"freq": f, "samp_rate": sr, "gain": gv, "dev_args": self.device_args,
                  "zmq_addr": zmq_addr}
        params.update(self.extra_params.get(role, {}))
        return params

    @staticmethod
    def _role(role: str) -> None:
        if role not in ROLES:
            raise PrivsemError(f"radio role must be tx or rx, not {role!r}")


def _resolve(name_or_path: str | os.PathLike) -> Path:
    s = os.fspath(name_or_path)
    p = Path(s)
    if p.suffix in (".yaml", ".yml") or os.sep in s or "/" in s or p.is_file():
        if not p.is_file():
            raise PrivsemError(f"radio profile file not found: {p}")
        return p
    if not _IDENT.match(s):
        raise PrivsemError(f"radio profile name {s!r} is not a name (letters, digits, _) nor a .yaml path")
    p = sdr_dir() / f"{s}.yaml"
    if not p.is_file():
        known = ", ".join(list_profiles()) or "none"
        raise PrivsemError(f"radio profile {s!r} not found in {sdr_dir()} (available: {known})")
    return p


def _number(where: str, v: Any) -> float:
    # PyYAML (YAML 1.1) reads 2e6 as a string; accept it, reject booleans and junk.
    if isinstance(v, bool) or v is None:
        raise PrivsemError(f"{where} must be a number, not {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise PrivsemError(f"{where} must be a number, not {v!r}") from None
    if not math.isfinite(x):
        raise PrivsemError(f"{where} must be finite, not {v!r}")
    return x


def _range(src: str, data: dict, key: str, need_default: bool, lo: float, step: bool = False) -> Range:
    r = data[key]
    if not isinstance(r, dict):
        raise PrivsemError(f"{src}: {key} must be a mapping with min and max")
    allowed = ({"min", "max", "default"} if need_default else {"min", "max"}) | ({"step"} if step else set())
    extra = set(r) - allowed
    if extra:
        raise PrivsemError(f"{src}: {key} has unknown keys {sorted(extra)} (allowed: {sorted(allowed)})")
    missing = [k for k in (("min", "max", "default") if need_default else ("min", "max")) if k not in r]
    if missing:
        raise PrivsemError(f"{src}: {key} lacks {', '.join(missing)}")
    mn, mx = _number(f"{src}: {key}.min", r["min"]), _number(f"{src}: {key}.max", r["max"])
    if mn < lo or mx < mn:
        raise PrivsemError(f"{src}: {key} needs {lo:g} <= min <= max, got {mn:g}..{mx:g}")
    default = st = None
    if need_default:
        default = _number(f"{src}: {key}.default", r["default"])
        if not mn <= default <= mx:
            raise PrivsemError(f"{src}: {key}.default {default:g} is outside {mn:g}..{mx:g}")
    if "step" in r:
        st = _number(f"{src}: {key}.step", r["step"])
        if st <= 0:
            raise PrivsemError(f"{src}: {key}.step must be > 0")
    return Range(mn, mx, default, st)


def load_profile(name_or_path: str | os.PathLike) -> RadioProfile:
    """Load and validate a radio profile.

    Args:
        name_or_path: a profile name (``hackrf_one`` → ``sdr/hackrf_one.yaml``) or a path
            to a YAML file.

    Raises:
        PrivsemError: one line naming the file and the problem (missing file, YAML
            syntax, missing/unknown key, bad type, inconsistent range).
    """
    path = _resolve(name_or_path)
    src = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise PrivsemError(f"cannot read radio profile {src}: {e.strerror or e}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PrivsemError(f"radio profile {src} is not valid YAML: {first}") from None
    if not isinstance(data, dict):
        raise PrivsemError(f"radio profile {src} must be a YAML mapping")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise PrivsemError(f"radio profile {src} lacks {', '.join(missing)}")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise PrivsemError(f"radio profile {src} has unknown keys: {', '.join(unknown)}")

    for k in ("name", "driver", "tx_flowgraph", "rx_flowgraph", "notes"):
        if not isinstance(data[k], str) or not data[k].strip():
            raise PrivsemError(f"{src}: {k} must be a non-empty string")
    device_args = "" if data["device_args"] is None else data["device_args"]
    if not isinstance(device_args, str):
        raise PrivsemError(f"{src}: device_args must be a string")
    if data["driver"] not in DRIVERS:
        raise PrivsemError(f"{src}: driver must be one of {', '.join(DRIVERS)}, not {data['driver']!r}")
    if data["driver"] == "uhd" and not device_args.strip():
        raise PrivsemError(f"{src}: device_args must not be empty for uhd (empty args probe every "
                           "interface); use e.g. type=b200 or addr=192.168.10.2")
    for k in ("tx_flowgraph", "rx_flowgraph"):
        if not _IDENT.match(data[k]):
            raise PrivsemError(f"{src}: {k} must be a flowgraph name (letters, digits, _), "
                               f"not {data[k]!r}")
    if not isinstance(data["full_duplex"], bool):
        raise PrivsemError(f"{src}: full_duplex must be true or false")

    sample_rate = _range(src, data, "sample_rate", True, lo=1.0)
    frequency = _range(src, data, "frequency", False, lo=0.0)
    tx_gain = _range(src, data, "tx_gain", True, lo=-math.inf, step=True)
    rx_gain = _range(src, data, "rx_gain", True, lo=-math.inf, step=True)

    extra: dict[str, dict[str, Any]] = {}
    fp = data.get("flowgraph_params") or {}
    if not isinstance(fp, dict) or set(fp) - set(ROLES):
        raise PrivsemError(f"{src}: flowgraph_params must map tx and/or rx to parameters")
    for role, params in fp.items():
        params = params or {}
        if not isinstance(params, dict):
            raise PrivsemError(f"{src}: flowgraph_params.{role} must be a mapping")
        for k, v in params.items():
            if not isinstance(k, str) or not _IDENT.match(k):
                raise PrivsemError(f"{src}: flowgraph_params.{role} key {k!r} is not a parameter name")
            if k in _RESERVED:
                raise PrivsemError(f"{src}: flowgraph_params.{role}.{k} is set from the profile's "
                                   "own keys; remove it")
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise PrivsemError(f"{src}: flowgraph_params.{role}.{k} must be a string or number")
        extra[role] = dict(params)

    return RadioProfile(name=data["name"], driver=data["driver"], tx_flowgraph=data["tx_flowgraph"],
                        rx_flowgraph=data["rx_flowgraph"], device_args=device_args,
                        sample_rate=sample_rate, frequency=frequency, tx_gain=tx_gain,
                        rx_gain=rx_gain, full_duplex=data["full_duplex"], notes=data["notes"].strip(),
                        extra_params=extra, path=path)
