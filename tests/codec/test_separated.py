import math
from fractions import Fraction

import numpy as np
import pytest

from privsem.codec.data import named_image
from privsem.codec.imagecodec import FORMATS, compress, decompress, fit
from privsem.codec.separated import (MCS_TABLE, MCS_THRESHOLD_DB, SeparatedCodec, capacity,
                                     capacity_bound, channel_uses, link_adaptation, mcs_by_name)
from privsem.errors import PrivsemError
from privsem.metrics import psnr
from privsem.phy import PilotBlockModem


@pytest.fixture(scope="module")
def small():
    """A 96×120 crop of a held-out photo (odd multiple of 4 on one side, on purpose)."""
    return np.ascontiguousarray(named_image("coffee")[100:196, 200:322])


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_fit_respects_budget_and_improves_with_it(small, fmt):
    lo, hi = fit(small, fmt, 1200), fit(small, fmt, 6000)
    assert lo is not None and hi is not None
    assert len(lo.data) <= 1200 and len(hi.data) <= 6000
    assert hi.psnr > lo.psnr + 2.0
    rec = decompress(hi.data, fmt, small.shape[:2])
    assert rec.shape == small.shape and psnr(small, rec) == pytest.approx(hi.psnr, abs=1e-6)
    assert fit(small, fmt, 20) is None


def test_damaged_bytes_are_a_user_error(small):
    data = bytearray(compress(small, "jpeg", 50))
    with pytest.raises(PrivsemError, match="do not decode"):
        decompress(bytes(data[:40]), "jpeg", small.shape[:2])
    with pytest.raises(PrivsemError, match="unknown image codec"):
        compress(small, "bpg", 50)


def test_capacity_formulas():
    assert capacity(10.0) == pytest.approx(math.log2(11))
    assert capacity(0.0) == pytest.approx(1.0)
    # ergodic Rayleigh capacity is below AWGN (Jensen) by a known ~0.5 bit at 10 dB
    assert capacity(10.0, "rayleigh") == pytest.approx(2.9, abs=0.05)
    with pytest.raises(PrivsemError):
        capacity(10.0, "rician")


def test_same_channel_uses_as_the_jscc():
    from privsem.codec import load_codec

    for kn in ("1/6", "1/12", "1/24"):
        jscc = load_codec(kn=kn)
        for shape in ((300, 451), (64, 64), (37, 53)):
            assert SeparatedCodec("jpeg", kn).n_symbols(shape) == jscc.n_symbols(shape)
    assert channel_uses((64, 64), Fraction(1, 6)) == 64 * 64 * 3 // 6


def test_mcs_table_and_link_adaptation():
    assert len({m.name for m in MCS_TABLE}) == len(MCS_TABLE) == len(MCS_THRESHOLD_DB)
    eff = [link_adaptation(s).efficiency for s in range(-5, 25)]
    assert eff == sorted(eff) and eff[-1] > 6
    for m in MCS_TABLE:  # no MCS works below the Shannon limit
        assert MCS_THRESHOLD_DB[m.name] > 10 * math.log10(2 ** m.efficiency - 1)
    with pytest.raises(PrivsemError, match="unknown MCS"):
        mcs_by_name("8psk-1/2")


def _over_awgn(codec, img, snr_db, seed=0):
    from privsem.channel import build_channel

    x = codec.encode(img.transpose(2, 0, 1)[None], snr_db)[0]
    modem = PilotBlockModem()
    ch = build_channel("awgn", seed=seed)(modem.modulate(x), snr_db)
    y, no = modem.demodulate_zf(ch.y, x.size, ch.no)
    return x, codec.decode(y[None], snr_db, img.shape[:2], no=no[None])[0].transpose(1, 2, 0)


def test_digital_round_trip_is_exact_above_threshold(small):
    """16-QAM 3/4 at 14 dB: LDPC removes every error, so the picture is exactly what the
    image codec made (same PSNR as the sender's fit)."""
    codec = SeparatedCodec("webp", "1/6", "16qam-3/4")
    x, rec = _over_awgn(codec, small, 14.0)
    assert x.shape == (codec.n_symbols(small.shape[:2]),)
    assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, abs=0.03)
    assert codec.last_ok == [True]
    assert psnr(small, rec) == pytest.approx(codec.last_fits[0].psnr, abs=1e-6)
    assert len(codec.last_fits[0].data) <= codec.payload_bytes(small.shape[:2], 14.0)


def test_digital_outage_below_threshold_gives_grey(small):
    codec = SeparatedCodec("jpeg", "1/6", "64qam-5/6")
    _, rec = _over_awgn(codec, small, 6.0)
    assert codec.last_ok == [False]
    assert np.all(rec == 0.5)


def test_image_too_small_for_one_codeword_is_an_outage_not_a_crash():
    codec = SeparatedCodec("jpeg", "1/24", "qpsk-1/2")
    tiny = np.full((16, 20, 3), 0.3, np.float32)
    x, rec = _over_awgn(codec, tiny, 20.0)
    assert x.shape == (codec.n_symbols((16, 20)),) and codec.last_fits == [None]
    assert codec.last_ok == [False] and np.all(rec == 0.5)


def test_capacity_bound_beats_practical_digital(small):
    n = channel_uses(small.shape[:2], Fraction(1, 6))
    rec, f = capacity_bound(small, "jpeg", n, 10.0)
    codec = SeparatedCodec("jpeg", "1/6")
    _, digital = _over_awgn(codec, small, 10.0)
    assert codec.last_ok == [True]
    assert psnr(small, rec) > psnr(small, digital)
