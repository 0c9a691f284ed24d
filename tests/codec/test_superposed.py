"""The superposed hybrid code: the analog residual under the digital layer on the same
symbols, its power share in the metadata, and what happens when a part is lost."""

import numpy as np
import pytest

from privsem.channel import build_channel
from privsem.codec.data import named_image
from privsem.codec.registry import CODEC_IDS, codec_for_header, make_codec
from privsem.codec.separated import SeparatedCodec, mcs_by_name
from privsem.codec.superposed import (
    LAYER_MCS,
    SINR_MARGIN_DB,
    SuperposedCodec,
    block_share,
    candidates,
    layer_share,
)
from privsem.metrics import psnr
from privsem.phy import PilotBlockModem


@pytest.fixture(scope="module")
def photo():
    return np.ascontiguousarray(named_image("coffee")[60:252, 160:416])  # 192 × 256


def _send(codec, img, snr_db, design, seed=0, mask=None, seal_key=None, open_key=None):
    keys = {} if isinstance(codec, SeparatedCodec) else {"mask": mask, "seal_key": seal_key}
    x = codec.encode(img.transpose(2, 0, 1)[None], design, **keys)[0]
    modem = PilotBlockModem()
    ch = build_channel("awgn", seed=seed)(modem.modulate(x), snr_db)
    y, no = modem.demodulate_zf(ch.y, x.size, ch.no)
    keys = {} if isinstance(codec, SeparatedCodec) else {"seal_key": open_key}
    out = codec.decode(y[None], snr_db, img.shape[:2], codec.last_side, no=no[None], **keys)
    return x, out[0].transpose(1, 2, 0)


def test_share_leaves_the_digital_layer_its_margin():
    """α is the largest power share under which the digital layer's SINR, with the
    analog layer as noise, is SINR_MARGIN_DB above its threshold at the margin."""
    from privsem.codec.separated import MCS_THRESHOLD_DB

    for snr, margin, name in ((10.0, 1.0, "qpsk-3/4"), (15.0, 2.0, "16qam-1/2"), (20.0, 5.0, "16qam-2/3")):
        a = layer_share(snr, name, margin)
        s = 10 ** ((snr - margin) / 10)
        sinr_db = 10 * np.log10((1 - a) * s / (a * s + 1))
        assert 0 < a < 0.5 and sinr_db >= MCS_THRESHOLD_DB[name] + SINR_MARGIN_DB - 1e-9
        assert sinr_db < MCS_THRESHOLD_DB[name] + SINR_MARGIN_DB + 0.25  # α is floored to 1/255, no lower
    assert layer_share(5.0, "64qam-3/4", 5.0) == 0.0
    # the most efficient MCSs that leave room, most efficient first; the most robust if none does
    c = candidates(15.0, 1.0)
    effs = [mcs_by_name(LAYER_MCS[i]).efficiency for i in c]
    assert len(c) == 3 and effs == sorted(effs, reverse=True)
    assert candidates(-10.0, 5.0) == [0]


def test_beats_the_digital_code_at_its_own_mcs(photo):
    """At 15 dB, one dB of margin: the analog layer under the digital one adds over the
    digital code with every symbol at the same MCS (the point of the code), at unit
    power, and the header byte alone rebuilds the decoder."""
    codec = SuperposedCodec("1/6", margin_db=1.0)
    x, rec = _send(codec, photo, 15.0, 15.0)
    assert abs(np.mean(np.abs(x) ** 2) - 1) < 0.02 and codec.last_ok == [True]
    alpha, side = codec.last_alpha[0], codec.last_side[0]
    assert 0 < alpha < 0.5
    mcs = mcs_by_name(LAYER_MCS[side >> 5])
    ours = psnr(photo, rec)
    digital = SeparatedCodec("avif", "1/6", mcs.name)
    _, alone = _send(digital, photo, 15.0, 15.0)
    assert digital.last_ok == [True] and ours > psnr(photo, alone) + 0.5, (ours, psnr(photo, alone))
    # a receiver built from the header (codec id 5) decodes the same
    fresh = codec_for_header(CODEC_IDS["superposed"], x.size, photo.shape[:2])
    assert isinstance(fresh, SuperposedCodec)
    y = x + 0j
    a = fresh.decode(y[None], 40.0, photo.shape[:2], side, no=np.full((1, x.size), 1e-4))[0]
    b = codec.decode(y[None], 40.0, photo.shape[:2], side, no=np.full((1, x.size), 1e-4))[0]
    np.testing.assert_array_equal(a, b)


def test_below_the_margin_the_picture_is_lost_not_wrong(photo):
    """Built for 15 dB with 1 dB of margin, run at 5 dB: the digital layer fails its
    CRC, so nothing can be separated: mid-grey and last_ok False, no exception."""
    codec = SuperposedCodec("1/6", margin_db=1.0)
    _, rec = _send(codec, photo, 5.0, 15.0)
    assert codec.last_ok == [False] and codec.last_base_ok == [False]
    assert np.all(rec == 0.5)


def test_the_mask_is_sealed_as_softcast_seals_it(photo):
    """Bob opens the mask with the DB key; Eve, without it, gets the picture and no mask."""
    mask = np.zeros(photo.shape[:2], bool)
    mask[60:120, 80:160] = True
    key = bytes(range(32))
    codec = SuperposedCodec("1/6", margin_db=2.0)
    _, bob = _send(codec, photo, 20.0, 20.0, mask=mask, seal_key=key, open_key=key)
    assert codec.last_ok == [True] and codec.last_mask[0] is not None and codec.last_mask[0][mask].all()
    _, eve = _send(codec, photo, 20.0, 20.0, mask=mask, seal_key=key, open_key=None)
    assert codec.last_ok == [True] and codec.last_mask[0] is None and codec.last_sealed == [True]
    np.testing.assert_array_equal(bob, eve)  # the pixels do not depend on the key


def test_block_fading_plan_keeps_the_layer_decodable():
    """Built for block fading, each MCS tried is one the mutual-information model says
    decodes at a mean SNR ``margin`` below the design's, with the largest share that
    keeps it so (one more 1/255 and it would not); over AWGN the plan is the margin's
    candidates and shares."""
    from privsem.codec.outcome import decodes, layer_sinr_db, rayleigh_snrs
    from privsem.codec.separated import MCS_THRESHOLD_DB

    code = SuperposedCodec("1/6", margin_db=2.0, fading="block")
    plan = code.plan(10.0)
    assert [LAYER_MCS[i] for i, _ in plan] == ["qpsk-1/2", "qpsk-1/4"]
    fades = rayleigh_snrs(8.0)
    for i, (alpha,) in plan:
        mcs = mcs_by_name(LAYER_MCS[i])
        assert 0 < alpha < 0.5 and alpha == block_share(fades, mcs.name)
        for a, ok in ((alpha, True), (alpha + 1 / 255, False)):
            assert decodes(MCS_THRESHOLD_DB[mcs.name], mcs.bits, layer_sinr_db(fades, a)) == ok
    assert block_share(rayleigh_snrs(0.0), "16qam-1/2") is None
    assert SuperposedCodec("1/6", fading="block").plan(-10.0) == [(0, [0.0])]  # nothing decodes: the most robust
    awgn = SuperposedCodec("1/6", margin_db=2.0)
    assert awgn.plan(15.0) == [(i, [layer_share(15.0, LAYER_MCS[i], 2.0)]) for i in candidates(15.0, 2.0)]


def test_registry_and_margin():
    assert make_codec("superposed", "1/12", margin_db=2.0).at("1/6").margin_db == 2.0
    assert make_codec("superposed").margin_db == 5.0


def test_an_image_too_small_is_one_clear_error():
    from privsem.errors import PrivsemError

    tiny = np.full((1, 3, 40, 48), 0.5, np.float32)
    with pytest.raises(PrivsemError, match="too few"):
        SuperposedCodec("1/24").encode(tiny, 10.0)
