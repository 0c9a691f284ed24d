"""What this machine has for privsem: ``privsem doctor``'s checks.

Each check is a small function returning :class:`Check` records (nothing here prints).
A record is a *failure* when privsem cannot work as installed: GNU Radio absent (the
flowgraphs need it), a committed model missing or not matching ``models/MANIFEST.toml``,
or torch not importable. Everything else (no GPU, no radio, no gr-uhd, no browser for
the browser tests) is reported with the package to install but is not a failure.

Radios are found without opening them: USB ids are read from sysfs, and the vendor
tools, when installed, are asked to enumerate USB only (``uhd_find_devices --args
type=b200``, ``SoapySDRUtil --find=driver=hackrf``). Network USRPs (N2xx/X3xx) are
probed only by :func:`check_network_radios`, which broadcasts on the LAN and runs only
when asked for (``privsem doctor --network``).
"""

from __future__ import annotations

import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

# (vendor id, product id) → radio, as the USB ids appear in sysfs (lower-case hex).
USB_RADIOS = {
    ("2500", "0020"): "Ettus USRP B200/B210",
    ("2500", "0021"): "Ettus USRP B200mini",
    ("2500", "0022"): "Ettus USRP B205mini",
    ("3923", "7813"): "NI USRP-2900 (B200)",
    ("3923", "7814"): "NI USRP-2901 (B210)",
    ("1d50", "6089"): "Great Scott Gadgets HackRF One",
}
SYSFS_USB = Path("/sys/bus/usb/devices")
TOOL_TIMEOUT_S = 10.0
GR_PROBE_TIMEOUT_S = 30.0

# Run by the flowgraphs' interpreter: GNU Radio's version and whether gr-uhd / gr-soapy import.
_GR_PROBE = r"""
import json
out = {"python_version": __import__("sys").version.split()[0]}
def err(e):
    return (type(e).__name__ + ": " + str(e)).splitlines()[0][:200]
try:
    from gnuradio import gr
    out["version"] = gr.version()
except Exception as e:
    out["error"] = err(e)
try:
    import numpy
    out["numpy"] = numpy.__version__
except Exception as e:
    out["numpy"] = None
try:
    from gnuradio import uhd
    out["uhd"] = None
except Exception as e:
    out["uhd"] = err(e)
try:
    from gnuradio import soapy
    out["soapy"] = None
except Exception as e:
    out["soapy"] = err(e)
print(json.dumps(out))
"""


@dataclass
class Check:
    """One line of the report.

    Attributes:
        section: group it is printed under (``privsem``, ``devices``, ``GNU Radio``, ``radios``,
            ``models``, ``browser tests``).
        part: what was checked, e.g. ``gr-uhd`` or a model file name.
        status: ``ok``, ``info``, ``missing`` or ``MISMATCH``.
        detail: one line of what was found.
        fix: for anything missing, the exact thing to install or do; else None.
        failure: True when the install is broken (``privsem doctor`` then exits 1).
        data: machine-readable facts (versions, devices) for ``--json``.
    """

    section: str
    part: str
    status: str
    detail: str
    fix: str | None = None
    failure: bool = False
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _run(args: list[str], timeout: float) -> tuple[int | None, str]:
    """(exit code or None on timeout/OSError, stdout + stderr) of a short-lived tool."""
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                           check=False)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g} s"
    except OSError as e:
        return None, str(e)
    return p.returncode, (p.stdout or "") + (p.stderr or "")


# ---------------------------------------------------------------- privsem, Python, torch

def check_privsem() -> Check:
    """privsem's version and where it is imported from."""
    from importlib import metadata

    from . import __version__

    try:
        version = metadata.version("privsem")
    except metadata.PackageNotFoundError:
        version = __version__
    where = str(Path(__file__).resolve().parent)
    return Check("privsem", "privsem", "ok", f"{version} ({where})", data={"version": version, "path": where})


def check_python() -> Check:
    """The interpreter running privsem."""
    v = platform.python_version()
    return Check("privsem", "python", "ok", f"{v} ({sys.executable})", data={"version": v, "executable": sys.executable})


def check_numpy() -> Check:
    try:
        import numpy
    except ImportError as e:
        return Check("privsem", "numpy", "missing", f"cannot import numpy: {e}",
                     fix=f"{sys.executable} -m pip install numpy", failure=True)
    return Check("privsem", "numpy", "ok", numpy.__version__, data={"version": numpy.__version__})


def check_torch() -> Check:
    """torch's version and the CUDA version it was built for."""
    try:
        import torch
    except ImportError as e:
        return Check("privsem", "torch", "missing", f"cannot import torch: {e}",
                     fix=f"{sys.executable} -m pip install torch", failure=True)
    built = torch.version.cuda
    detail = torch.__version__ + (f" (built for CUDA {built})" if built else " (CPU build)")
    return Check("privsem", "torch", "ok", detail, data={"version": torch.__version__, "cuda_build": built})


# ---------------------------------------------------------------- devices

def check_cuda() -> Check:
    """CUDA devices torch can use: names and memory."""
    try:
        import torch
    except ImportError:
        return Check("devices", "cuda", "info", "unknown (torch not importable)")
    if not torch.cuda.is_available():
        why = "no CUDA device or driver" if torch.version.cuda else "torch is a CPU build"
        return Check("devices", "cuda", "info", f"not available ({why}); privsem runs on the CPU",
                     data={"available": False, "devices": []})
    devices = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        devices.append({"index": i, "name": p.name, "memory_gib": round(p.total_memory / 2**30, 1)})
    detail = "; ".join(f"cuda:{d['index']} {d['name']} {d['memory_gib']} GiB" for d in devices)
    return Check("devices", "cuda", "ok", detail, data={"available": True, "devices": devices})


def check_mps() -> Check:
    """Apple-silicon GPU (Metal) availability."""
    try:
        import torch
        available = bool(torch.backends.mps.is_available())
    except (ImportError, AttributeError):
        available = False
    return Check("devices", "mps", "ok" if available else "info",
                 "available" if available else "not available", data={"available": available})


def check_cpu() -> Check:
    """CPU cores: present, usable by this process, and torch's thread count."""
    total = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    data = {"cores": total, "usable": usable}
    detail = f"{total} cores" + (f" ({usable} usable)" if usable != total else "")
    try:
        import torch
        data["torch_threads"] = torch.get_num_threads()
        detail += f", torch threads {data['torch_threads']}"
    except ImportError:
        pass
    if os.environ.get("OMP_NUM_THREADS"):
        detail += f" (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})"
    return Check("devices", "cpu", "ok", detail, data=data)


# ---------------------------------------------------------------- GNU Radio

def probe_gnuradio() -> dict:
    """Run the flowgraphs' interpreter once and report what it imports.

    The interpreter is :func:`privsem.transport.gnuradio.find_gnuradio_python` evaluated
    afresh (not its cached answer), so ``$PRIVSEM_GR_PYTHON`` is honoured as set now.

    Returns:
        ``{"python": path or None, "override": $PRIVSEM_GR_PYTHON or None, "version",
        "numpy", "uhd", "soapy", "error"}``; ``uhd``/``soapy`` are None when they import,
        else the import error.
    """
    from .transport.gnuradio import find_gnuradio_python

    find = getattr(find_gnuradio_python, "__wrapped__", find_gnuradio_python)  # bypass the lru_cache
    override = os.environ.get("PRIVSEM_GR_PYTHON") or None
    py = find()
    out: dict = {"python": py, "override": override}
    if py is None:
        tried = [override] if override else ["/usr/bin/python3", shutil.which("python3") or "python3"]
        out["error"] = (f"{' and '.join(dict.fromkeys(tried))} cannot import gnuradio.gr and gnuradio.zeromq")
        return out
    code, text = _run([py, "-c", _GR_PROBE], GR_PROBE_TIMEOUT_S)
    try:
        out.update(json.loads(text.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        out["error"] = f"{py} failed the GNU Radio probe (exit {code}): {' '.join(text.split())[:200]}"
    return out


def check_gnuradio(probe: dict) -> Check:
    """GNU Radio's version and the interpreter the flowgraphs run under; missing is a failure."""
    src = "from PRIVSEM_GR_PYTHON" if probe.get("override") else "PRIVSEM_GR_PYTHON unset"
    if probe.get("version") is None:
        return Check("GNU Radio", "gnuradio", "missing", f"{probe.get('error', 'not found')} ({src})",
                     fix="apt-get install gnuradio (Debian), or set PRIVSEM_GR_PYTHON to a python3 that imports it",
                     failure=True, data=probe)
    detail = f"{probe['version']} via {probe['python']} ({src}; python {probe.get('python_version', '?')}"
    if probe.get("numpy"):
        detail += f"; its numpy {probe['numpy']}"
    return Check("GNU Radio", "gnuradio", "ok", detail + ")", data=probe)


def _gr_module_check(probe: dict, module: str, part: str, fix: str) -> Check:
    if probe.get("version") is None:
        return Check("GNU Radio", part, "missing", "GNU Radio not found", fix="apt-get install gnuradio (Debian)")
    error = probe.get(module)
    if error is None:
        return Check("GNU Radio", part, "ok", f"from gnuradio import {module}: imports")
    return Check("GNU Radio", part, "missing", f"from gnuradio import {module}: {error}", fix=fix)


def check_gr_uhd(probe: dict) -> Check:
    """gr-uhd (USRP blocks) in the flowgraphs' interpreter; missing is not a failure."""
    return _gr_module_check(probe, "uhd", "gr-uhd",
                            "apt-get install gnuradio libuhd4.3.0 (Debian's gnuradio ships gr-uhd; "
                            "elsewhere the package is gr-uhd)")


def check_gr_soapy(probe: dict) -> Check:
    """gr-soapy (the HackRF flowgraphs' blocks) in the flowgraphs' interpreter; missing is not a failure."""
    return _gr_module_check(probe, "soapy", "gr-soapy",
                            "apt-get install gnuradio libsoapysdr0.8 (Debian's gnuradio ships gr-soapy; "
                            "elsewhere the package is gr-soapy)")


# ---------------------------------------------------------------- radios

def _sysfs_attr(dev: Path, name: str) -> str | None:
    try:
        return (dev / name).read_text().strip() or None
    except OSError:
        return None


def scan_usb(root: Path = SYSFS_USB) -> list[dict]:
    """Known SDRs on USB, from sysfs ids only (the devices are not opened).

    Returns:
        ``[{"radio", "usb_id", "port", "product", "serial"}]`` (product/serial None when
        sysfs does not say).
    """
    found = []
    for dev in sorted(root.glob("*")):
        try:
            vid = (dev / "idVendor").read_text().strip().lower()
            pid = (dev / "idProduct").read_text().strip().lower()
        except OSError:
            continue  # interfaces (1-1:1.0) and hubs' ports have no ids
        radio = USB_RADIOS.get((vid, pid))
        if radio is not None:
            found.append({"radio": radio, "usb_id": f"{vid}:{pid}", "port": dev.name,
                          "product": _sysfs_attr(dev, "product"), "serial": _sysfs_attr(dev, "serial")})
    return found


def check_usb_radios(root: Path = SYSFS_USB) -> Check:
    """B2xx / HackRF One on USB (sysfs ids); none found is info."""
    if not root.is_dir():
        return Check("radios", "usb", "info", f"no USB bus visible ({root} absent: container or no USB)",
                     data={"devices": []})
    devices = scan_usb(root)
    if not devices:
        return Check("radios", "usb", "info", "no USRP B2xx or HackRF One on USB", data={"devices": []})
    detail = "; ".join(f"{d['radio']} [{d['usb_id']}] at {d['port']}"
                       + (f" serial {d['serial']}" if d["serial"] else "") for d in devices)
    return Check("radios", "usb", "ok", detail, data={"devices": devices})


def _parse_devices(text: str, header: str) -> list[dict]:
    """Devices listed by uhd_find_devices / SoapySDRUtil: one dict of ``key: value`` per header."""
    devices: list[dict] = []
    for line in text.splitlines():
        if re.search(header, line):
            devices.append({})
            continue
        m = re.match(r"\s+([\w ]+?)\s*[:=]\s*(.+?)\s*$", line)
        if m and devices:
            devices[-1][m.group(1).strip()] = m.group(2)
    return devices


def _describe(devices: list[dict], keys: tuple[str, ...]) -> str:
    return "; ".join(" ".join(f"{k} {d[k]}" for k in keys if d.get(k)) or "device" for d in devices)


def check_uhd_usb() -> Check:
    """``uhd_find_devices --args type=b200`` (USB B2xx only), if uhd-host is installed."""
    exe = shutil.which("uhd_find_devices")
    if exe is None:
        return Check("radios", "uhd (type=b200)", "missing", "uhd_find_devices not installed (B2xx tools and "
                     "FPGA images)", fix="apt-get install uhd-host && uhd_images_downloader -t b2xx")
    code, text = _run([exe, "--args", "type=b200"], TOOL_TIMEOUT_S)
    devices = _parse_devices(text, r"-- UHD Device \d+")
    if not devices:
        why = "timed out" if code is None and "timed out" in text else "no B2xx found"
        return Check("radios", "uhd (type=b200)", "info", why, data={"devices": []})
    return Check("radios", "uhd (type=b200)", "ok", _describe(devices, ("product", "serial", "name")),
                 data={"devices": devices})


def _soapy_hackrf_module() -> str | None:
    pats = ["/usr/lib/*/SoapySDR/modules*/libHackRFSupport.so", "/usr/lib/SoapySDR/modules*/libHackRFSupport.so",
            "/usr/local/lib/SoapySDR/modules*/libHackRFSupport.so", "/usr/local/lib/*/SoapySDR/modules*/libHackRFSupport.so"]
    hits = [h for p in pats for h in glob.glob(p)]
    return hits[0] if hits else None


def check_soapy_hackrf() -> Check:
    """``SoapySDRUtil --find=driver=hackrf`` (USB only), if SoapySDR's tool and HackRF module exist."""
    exe, module = shutil.which("SoapySDRUtil"), _soapy_hackrf_module()
    missing = [pkg for pkg, have in (("soapysdr-tools", exe), ("soapysdr-module-hackrf", module)) if not have]
    if missing:
        what = " and ".join(("SoapySDRUtil" if p == "soapysdr-tools" else "SoapySDR's HackRF module") for p in missing)
        return Check("radios", "soapy (driver=hackrf)", "missing", f"{what} not installed",
                     fix="apt-get install " + " ".join(missing))
    code, text = _run([exe, "--find=driver=hackrf"], TOOL_TIMEOUT_S)
    devices = _parse_devices(text, r"Found device \d+")
    if not devices:
        return Check("radios", "soapy (driver=hackrf)", "info",
                     "timed out" if code is None else "no HackRF found", data={"devices": []})
    return Check("radios", "soapy (driver=hackrf)", "ok", _describe(devices, ("label", "serial")),
                 data={"devices": devices})


def check_network_radios(probe: bool) -> Check:
    """Network USRPs (N2xx/X3xx): ``uhd_find_devices`` with no args, which broadcasts on
    every interface. Runs only when ``probe`` is True (``privsem doctor --network``)."""
    if not probe:
        return Check("radios", "network", "info", "not probed (privsem doctor --network broadcasts on the LAN)")
    exe = shutil.which("uhd_find_devices")
    if exe is None:
        return Check("radios", "network", "missing", "uhd_find_devices not installed", fix="apt-get install uhd-host")
    code, text = _run([exe], 2 * TOOL_TIMEOUT_S)
    devices = [d for d in _parse_devices(text, r"-- UHD Device \d+") if d.get("type") != "b200"]
    if not devices:
        return Check("radios", "network", "info", "timed out" if code is None else "no network USRP found",
                     data={"devices": []})
    return Check("radios", "network", "ok", _describe(devices, ("product", "type", "addr", "serial")),
                 data={"devices": devices})


# ---------------------------------------------------------------- models

def check_models(directory: Path | None = None) -> list[Check]:
    """Each file in ``MANIFEST.toml`` against its sha256 (the check :func:`privsem.weights.load_weights`
    makes on load); a missing or mismatching file is a failure. Files on disk that the manifest
    does not list are reported as info (they cannot be loaded)."""
    try:
        from .errors import PrivsemError
        from .weights import manifest, models_dir, sha256_file
    except ImportError as e:
        return [Check("models", "MANIFEST.toml", "missing", f"cannot check: {e}", failure=True)]
    d = directory or models_dir()
    try:
        files = manifest(d).get("files", {})
    except (PrivsemError, ValueError) as e:  # tomllib.TOMLDecodeError is a ValueError
        return [Check("models", "MANIFEST.toml", "missing", str(e), failure=True,
                      fix="restore models/ from the privsem repository")]
    checks = []
    for name, entry in files.items():
        path = d / name
        restore = f"restore {path} from the privsem repository (git checkout -- models/{name})"
        if not path.is_file():
            checks.append(Check("models", name, "missing", f"{path} not found", fix=restore, failure=True))
            continue
        digest = sha256_file(path)
        if digest != entry.get("sha256"):
            checks.append(Check("models", name, "MISMATCH", f"sha256 {digest[:12]}… but MANIFEST.toml says "
                                f"{str(entry.get('sha256'))[:12]}…", fix=restore, failure=True,
                                data={"path": str(path), "sha256": digest}))
        else:
            checks.append(Check("models", name, "ok", f"sha256 {digest[:12]}… ({path.stat().st_size / 2**20:.1f} MiB)",
                                data={"path": str(path), "sha256": digest}))
    unlisted = sorted(p.name for p in d.iterdir() if p.is_file() and p.name != "MANIFEST.toml" and p.name not in files)
    if unlisted:
        checks.append(Check("models", "unlisted", "info", f"not in MANIFEST.toml (not loadable): {', '.join(unlisted)}"))
    return checks


# ---------------------------------------------------------------- browser tests

_BROWSER = (("chromium", "chromium"), ("chromedriver", "chromium-driver"), ("Xvfb", "xvfb"))


def check_browser() -> list[Check]:
    """Chromium, chromedriver and Xvfb for the browser tests (tests/view); missing is not a failure."""
    checks = []
    for exe, pkg in _BROWSER:
        path = shutil.which(exe)
        if path:
            checks.append(Check("browser tests", exe, "ok", path))
        else:
            checks.append(Check("browser tests", exe, "missing", "not on PATH (the browser tests skip)",
                                fix=f"apt-get install {pkg}   (all three: apt-get install chromium chromium-driver xvfb)"))
    return checks


# ---------------------------------------------------------------- all

def run_checks(network: bool = False) -> list[Check]:
    """Every check, in report order. ``network=True`` also broadcasts for network USRPs."""
    probe = probe_gnuradio()
    return [check_privsem(), check_python(), check_numpy(), check_torch(),
            check_cpu(), check_cuda(), check_mps(),
            check_gnuradio(probe), check_gr_uhd(probe), check_gr_soapy(probe),
            check_usb_radios(), check_uhd_usb(), check_soapy_hackrf(), check_network_radios(network),
            *check_models(), *check_browser()]


def failures(checks: list[Check]) -> list[Check]:
    """The checks that make the install broken."""
    return [c for c in checks if c.failure]
