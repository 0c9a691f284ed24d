import json

import numpy as np
import pytest

from privsem.errors import PrivsemError
from privsem.transport.sigmf_io import read_sigmf, write_sigmf


def test_round_trip(tmp_path):
    x = (np.random.default_rng(0).standard_normal(1000) * (1 + 1j)).astype(np.complex64)
    data = write_sigmf(tmp_path / "rec.sigmf-data", x, 2e6, 2.45e9, extra={"msg_id": 3})
    meta = json.loads((tmp_path / "rec.sigmf-meta").read_text())
    assert meta["global"]["core:datatype"] == "cf32_le" and meta["global"]["core:sample_rate"] == 2e6
    assert meta["captures"][0]["core:frequency"] == 2.45e9
    assert data.stat().st_size == 8000
    y, info = read_sigmf(tmp_path / "rec")
    assert y.tobytes() == x.tobytes()
    assert info["sample_rate"] == 2e6 and info["center_freq"] == 2.45e9 and info["notes"]["msg_id"] == 3


def test_writing_again_replaces_the_recording(tmp_path):
    """A second `privsem tx --iq` to the same name replaces both files (it used to write
    the new data, then stop with sigmf's traceback before the meta file)."""
    write_sigmf(tmp_path / "rec", np.ones(100, np.complex64), 1e6, 1e9)
    x = np.full(40, 2 - 1j, np.complex64)
    write_sigmf(tmp_path / "rec", x, 2e6, 2.45e9)
    y, info = read_sigmf(tmp_path / "rec")
    assert y.tobytes() == x.tobytes() and info["sample_rate"] == 2e6 and info["center_freq"] == 2.45e9


def test_bad_files(tmp_path):
    x = np.zeros(10, np.complex64)
    write_sigmf(tmp_path / "a", x, 1e6)
    with open(tmp_path / "a.sigmf-data", "ab") as f:
        f.write(b"\x00\x01\x02")
    with pytest.raises(PrivsemError, match="not a whole number"):
        read_sigmf(tmp_path / "a.sigmf-data")
    write_sigmf(tmp_path / "b", x, 1e6)
    meta = json.loads((tmp_path / "b.sigmf-meta").read_text())
    meta["global"]["core:datatype"] = "ci16_le"
    (tmp_path / "b.sigmf-meta").write_text(json.dumps(meta))
    with pytest.raises(PrivsemError, match="ci16_le"):
        read_sigmf(tmp_path / "b")
    (tmp_path / "c.sigmf-data").write_bytes(b"")
    (tmp_path / "c.sigmf-meta").write_text("{not json")
    with pytest.raises(PrivsemError, match="not a valid SigMF"):
        read_sigmf(tmp_path / "c")
    with pytest.raises(PrivsemError, match="not found"):
        read_sigmf(tmp_path / "missing.sigmf-data")
