"""Radio profiles (sdr/*.yaml): they load, accept values in range, reject the rest with
one-line PrivsemErrors, and name flowgraphs and parameters that exist."""

import re
from pathlib import Path

import pytest

from privsem.errors import PrivsemError
from privsem.radio import RadioProfile, list_profiles, load_profile, sdr_dir

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted(p.stem for p in (ROOT / "sdr").glob("*.yaml"))


def _cli_options(flowgraph: str) -> set[str]:
    """``--kebab`` options the generated flowgraph's argparse defines (read, not run)."""
    text = (ROOT / "flowgraphs" / f"{flowgraph}.py").read_text()
    return {m.replace("-", "_") for m in re.findall(r'"--([a-z0-9-]+)", dest=', text)}


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


def test_expected_profiles_exist():
    assert {"usrp_b200", "usrp_b210", "usrp_n210", "hackrf_one"} <= set(PROFILES)
    assert sdr_dir().resolve() == (ROOT / "sdr").resolve()
    assert list_profiles() == PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_profile_loads_and_is_consistent(name):
    p = load_profile(name)
    assert isinstance(p, RadioProfile) and p.name == name
    assert load_profile(ROOT / "sdr" / f"{name}.yaml") == p  # by path too
    for r in (p.sample_rate, p.tx_gain, p.rx_gain):
        assert r.min <= r.default <= r.max
    assert 0 < p.frequency.min < p.frequency.max
    if p.driver == "uhd":
        assert p.device_args.strip(), "UHD device args must never be empty"
    for role in ("tx", "rx"):
        fg = p.flowgraph_name(role)
        assert (ROOT / "flowgraphs" / f"{fg}.py").is_file() and (ROOT / "flowgraphs" / f"{fg}.grc").is_file()
        params = p.flowgraph_params(role, freq=(p.frequency.min + p.frequency.max) / 2)
        # every parameter the profile passes is a CLI option of that flowgraph
        assert set(params) <= _cli_options(fg), (fg, set(params) - _cli_options(fg))


def test_published_ranges():
    b200, n210, hackrf = load_profile("usrp_b200"), load_profile("usrp_n210"), load_profile("hackrf_one")
    assert (b200.frequency.min, b200.frequency.max) == (70e6, 6e9)
    assert b200.sample_rate.max == 56e6 and b200.tx_gain.max == 89.75 and b200.rx_gain.max == 76
    assert (n210.frequency.min, n210.frequency.max) == (50e6, 2.2e9) and n210.sample_rate.max == 25e6
    assert (hackrf.frequency.min, hackrf.frequency.max) == (1e6, 6e9)
    assert (hackrf.sample_rate.min, hackrf.sample_rate.max) == (2e6, 20e6)
    assert hackrf.rx_gain.max == 40 and hackrf.rx_gain.step == 8 and hackrf.tx_gain.max == 47
    assert not hackrf.full_duplex and b200.full_duplex
    assert hackrf.driver == "soapy-hackrf" and b200.driver == "uhd"


def test_values_in_range_accepted():
    p = load_profile("hackrf_one")
    got = p.flowgraph_params("tx", freq=2.45e9, samp_rate=8e6, gain=30, zmq_addr="tcp://127.0.0.1:6000")
    assert got == {"freq": 2.45e9, "samp_rate": 8e6, "gain": 30.0, "dev_args": "",
                   "zmq_addr": "tcp://127.0.0.1:6000", "amp": 0}
    got = p.flowgraph_params("rx", freq=433.92e6)  # defaults
    assert got["samp_rate"] == 2e6 and got["gain"] == 16 and got["vga_gain"] == 20
    b = load_profile("usrp_b200").flowgraph_params("rx", 70e6, 56e6, 76.0)  # the edges are inside
    assert b["dev_args"] == "type=b200" and b["antenna"] == "RX2"


@pytest.mark.parametrize("kwargs, words", [
    (dict(role="tx", freq=7e9), "frequency"),
    (dict(role="tx", freq=0.5e6), "frequency"),
    (dict(role="rx", freq=2.45e9, samp_rate=1e6), "sample rate"),
    (dict(role="rx", freq=2.45e9, samp_rate=25e6), "sample rate"),
    (dict(role="tx", freq=2.45e9, gain=48), "TX gain"),
    (dict(role="rx", freq=2.45e9, gain=41), "RX gain"),
    (dict(role="rx", freq=2.45e9, gain=-1), "RX gain"),
    (dict(role="rx", freq=float("nan")), "frequency"),
    (dict(role="rx", freq="fast"), "frequency"),
    (dict(role="rx", freq=True), "frequency"),
    (dict(role="both", freq=2.45e9), "role"),
    (dict(role="rx", freq=2.45e9, zmq_addr="5555"), "ZMQ"),
])
def test_out_of_range_rejected(kwargs, words):
    p = load_profile("hackrf_one")
    with pytest.raises(PrivsemError) as e:
        p.flowgraph_params(**kwargs)
    assert words in _one_line(e)


def test_out_of_range_usrp():
    p = load_profile("usrp_n210")
    with pytest.raises(PrivsemError, match="frequency 2.45e"):
        p.flowgraph_params("tx", 2.45e9)  # above the WBX
    with pytest.raises(PrivsemError, match="TX gain"):
        p.flowgraph_params("tx", 915e6, gain=40)


def test_missing_profile():
    with pytest.raises(PrivsemError) as e:
        load_profile("no_such_radio")
    msg = _one_line(e)
    assert "no_such_radio" in msg and "hackrf_one" in msg  # lists what exists
    with pytest.raises(PrivsemError):
        load_profile("/nonexistent/radio.yaml")
    with pytest.raises(PrivsemError):
        load_profile("../etc/passwd")


def test_env_overrides_dir(tmp_path, monkeypatch):
    (tmp_path / "mine.yaml").write_text((ROOT / "sdr" / "usrp_b200.yaml").read_text())
    monkeypatch.setenv("PRIVSEM_SDR_DIR", str(tmp_path))
    assert list_profiles() == ["mine"]
    assert load_profile("mine").driver == "uhd"
    with pytest.raises(PrivsemError):
        load_profile("hackrf_one")


GOOD = (ROOT / "sdr" / "usrp_b200.yaml").read_text()


@pytest.mark.parametrize("text, words", [
    ("", "mapping"),
    ("name: [unclosed\n", "not valid YAML"),
    ("- a\n- b\n", "mapping"),
    (GOOD.replace("driver: uhd", "driver: gnuradio"), "driver"),
    (GOOD.replace("device_args: type=b200", 'device_args: ""'), "device_args"),
    (GOOD.replace("full_duplex: true", "full_duplex: maybe"), "full_duplex"),
    (GOOD.replace("rx_flowgraph: usrp_rx\n", ""), "lacks rx_flowgraph"),
    (GOOD + "colour: blue\n", "unknown keys: colour"),
    (GOOD.replace("max: 76, default: 30", "max: 76, default: 80"), "rx_gain.default"),
    (GOOD.replace("min: 70_000_000, max: 6_000_000_000", "min: 6_000_000_000, max: 70_000_000"), "frequency"),
    (GOOD.replace("max: 56_000_000", "max: lots"), "sample_rate.max"),
    (GOOD.replace("rx: {antenna: RX2}", "rx: {freq: 1}"), "flowgraph_params.rx.freq"),
    (GOOD.replace("tx_flowgraph: usrp_tx", "tx_flowgraph: ../evil"), "tx_flowgraph"),
])
def test_bad_profile_rejected(tmp_path, text, words):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(PrivsemError) as e:
        load_profile(f)
    msg = _one_line(e)
    assert words in msg and "bad.yaml" in msg


def test_yaml_floats_written_as_2e6_are_accepted(tmp_path):
    # PyYAML reads 2e6 as a string (YAML 1.1); profiles may still write it that way.
    f = tmp_path / "r.yaml"
    f.write_text(GOOD.replace("default: 2_000_000", "default: 2e6"))
    assert load_profile(f).sample_rate.default == 2e6
