"""The hybrid digital–analog code (issue 21): a digital base layer plus the analog
residual, its header byte, and what happens when either part is lost."""

import numpy as np
import pytest

from privsem.channel import build_channel
from privsem.codec.data import named_image
from privsem.codec.hda import (
    BASE_MCS,
    SHARE,
    HybridCodec,
    base_mcs,
    block_base_mcs,
    meta_low_rate,
)
from privsem.codec.link import send_zf
from privsem.codec.outcome import decodes, rayleigh_snrs
from privsem.codec.separated import (
    MCS_THRESHOLD_DB,
    SeparatedCodec,
    channel_uses,
    mcs_by_name,
)
from privsem.codec.softcast import SoftCastCodec, spread_positions
from privsem.metrics import psnr
from privsem.phy import PilotBlockModem


@pytest.fixture(scope="module")
def photo():
    return np.ascontiguousarray(named_image("coffee")[60:220, 180:380])


def _send(codec, img, snr_db, design, seed=0, mask=None):
    x = codec.encode(img.transpose(2, 0, 1)[None], design, mask=mask)[0]
    modem = PilotBlockModem()
    ch = build_channel("awgn", seed=seed)(modem.modulate(x), snr_db)
    y, no = modem.demodulate_zf(ch.y, x.size, ch.no)
    return x, codec.decode(y[None], snr_db, img.shape[:2], codec.last_side, no=no[None])[0].transpose(1, 2, 0)


def test_block_fading_base_mcs_decodes_at_the_margin():
    """Built for block fading, the base layer's MCS is the most efficient whose layer the
    fading model says still decodes at a mean SNR the margin below the design's: a step or
    two more robust than over AWGN (the most robust where none does)."""
    assert [BASE_MCS[block_base_mcs(s)] for s in (0.0, 5.0, 10.0, 15.0, 20.0)] == \
        ["qpsk-1/4", "qpsk-1/4", "qpsk-1/2", "qpsk-1/2", "16qam-1/2"]
    assert [BASE_MCS[block_base_mcs(s, 2.0)] for s in (5.0, 10.0, 15.0, 20.0)] == \
        ["qpsk-1/3", "qpsk-1/2", "16qam-1/2", "16qam-3/4"]
    for s in (5.0, 10.0, 15.0, 20.0):
        fades = rayleigh_snrs(s - 5.0)
        chosen = mcs_by_name(BASE_MCS[block_base_mcs(s)])
        assert decodes(MCS_THRESHOLD_DB[chosen.name], chosen.bits, fades)
        assert not any(decodes(MCS_THRESHOLD_DB[m], mcs_by_name(m).bits, fades) for m in BASE_MCS
                       if mcs_by_name(m).efficiency > chosen.efficiency)
    assert HybridCodec("1/6", fading="block").at("1/12").fading == "block"
    assert HybridCodec("1/6", fading=True).fading == "slow"  # chooses as over AWGN


@pytest.mark.parametrize("name", ["coffee", "china"])
def test_block_fading_base_layer_survives_a_5_db_drop(name):
    """Built for 10 dB and sent over the bench's Rayleigh block fading (a new fade every
    256 samples, no CSIT) at a mean 5 dB: the base layer chosen for block fading decodes
    for every fade draw, the one chosen for AWGN (qpsk-3/4) for none."""
    img = np.ascontiguousarray(named_image(name)[:192, :192])
    for fading, want in ((None, False), ("block", True)):
        codec = HybridCodec("1/6", 5.0, fading)
        for seed in range(3):
            out = send_zf(codec, img, "rayleigh", 5.0, seed, design_snr_db=10.0)
            assert codec.last_base_ok == [want], (fading, seed)
            if want:
                assert psnr(img, out) > 29.0


def test_base_mcs_by_margin_and_split():
    """The base layer's MCS keeps the margin below the design SNR; with the default 5 dB
    the header indices 0–4 are the design classes 0 / 5 / 10 / 15 dB of earlier versions
    (their headers decode as before); 2 dB takes what the digital baseline's MCS search
    takes at a known SNR."""
    assert [BASE_MCS[base_mcs(s)] for s in (-3.0, 0.0, 5.0, 10.0, 15.0, 20.0)] == \
        ["qpsk-1/4", "qpsk-1/4", "qpsk-1/3", "qpsk-3/4", "16qam-1/2", "16qam-5/6"]
    assert [BASE_MCS[base_mcs(s, 2.0)] for s in (0.0, 5.0, 10.0, 15.0, 20.0, 40.0)] == \
        ["qpsk-1/4", "qpsk-1/2", "16qam-1/2", "16qam-5/6", "64qam-5/6", "64qam-5/6"]
    assert BASE_MCS[:5] == ("qpsk-1/4", "qpsk-1/3", "qpsk-3/4", "16qam-1/2", "16qam-3/4")
    # the metadata at rate 1/2 only where the base layer needs at least 5 dB more (as before for 0–4)
    assert [meta_low_rate(i) for i in range(8)] == [True, True, True, False, False, True, False, False]
    codec = HybridCodec("1/6")
    n = channel_uses((160, 200), codec.kn)
    n_d, mcs = codec.split(n, base_mcs(10.0))
    assert n_d * mcs.bits % 1944 == 0 and n_d <= SHARE * n  # whole LDPC codewords


def test_margin_reaches_the_hybrid_from_every_entry_point():
    """``--margin`` (loopback, tx, eval's margin_db) builds auto and hda with it; the
    receiver needs none: the header names the base layer's MCS."""
    from privsem.codec.registry import codec_for_header, make_codec, resolve_codec

    assert resolve_codec(None, "1/6", margin_db=2.0).members["hda"].margin_db == 2.0
    assert make_codec("hda", "1/12", margin_db=2.0).at("1/6").margin_db == 2.0
    assert resolve_codec("auto", "1/6").at("1/12").members["hda"].margin_db == 5.0
    assert codec_for_header(4, 5120, (160, 192)).margin_db == 5.0  # any: decoding reads the header


@pytest.mark.parametrize("margin,snr", [(5.0, 20.0), (2.0, 10.0), (2.0, 20.0)])
def test_each_base_mcs_decodes_at_its_margin(photo, margin, snr):
    """The MCSs new with the margin (16qam-5/6 at 20 dB with 5 dB, 64qam-5/6 at 20 dB with
    2 dB) and 16qam-1/2 at 10 dB with 2 dB decode at the design SNR, and a smaller margin
    gives a better picture there."""
    codec = HybridCodec("1/6", margin)
    rec = _send(codec, photo, snr, snr)[1]
    assert codec.last_ok == [True] and codec.last_side[0] >> 5 == base_mcs(snr, margin)
    assert psnr(photo, rec) > psnr(photo, _send(HybridCodec("1/6", margin + 3), photo, snr, snr)[1]) + 0.3


def test_base_plus_residual_beats_the_base_alone(photo):
    """Same symbols: the hybrid's picture is better than the base layer's alone, and the
    analog residual keeps adding as the SNR rises above the design SNR."""
    codec = HybridCodec("1/6")
    x, rec = _send(codec, photo, 10.0, 10.0)
    assert x.size == channel_uses(photo.shape[:2], codec.kn)
    assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, abs=0.02)
    assert codec.last_ok == [True] and codec.last_side[0] >> 5 == base_mcs(10.0)
    n_d, mcs = codec.split(x.size, base_mcs(10.0))
    base_only = SeparatedCodec("avif", "1/6").encode_one(photo, n_d, mcs)[1]
    assert psnr(photo, rec) > base_only.psnr + 0.5
    hi = psnr(photo, _send(codec, photo, 25.0, 10.0)[1])
    assert hi > psnr(photo, rec)


def test_no_cliff_five_db_below_the_design(photo):
    codec = HybridCodec("1/6")
    at_design = psnr(photo, _send(codec, photo, 10.0, 10.0)[1])
    below = psnr(photo, _send(codec, photo, 5.0, 10.0)[1])
    assert codec.last_base_ok == [True] and below > at_design - 1.5


def test_lost_base_layer_leaves_the_residual_and_says_so(photo):
    codec = HybridCodec("1/6")
    x = codec.encode(photo.transpose(2, 0, 1)[None], 20.0)
    n_d, _ = codec.split(x.shape[1], codec.last_side[0] >> 5)
    base_pos, _ = spread_positions(x.shape[1], n_d)
    y = x.copy()
    y[0, base_pos] = -y[0, base_pos]
    out = codec.decode(y, 30.0, photo.shape[:2], codec.last_side)
    assert codec.last_base_ok == [False] and codec.last_ok == [False]
    assert np.isfinite(out).all() and not np.all(out == 0.5)  # the (faint) residual on mid-grey, not a crash


@pytest.mark.parametrize("codec,design", [(SoftCastCodec("1/6"), 15.0), (HybridCodec("1/6"), 0.0),
                                          (HybridCodec("1/6"), 5.0)])
def test_a_lost_frame_leaves_the_digital_parts_decodable(photo, codec, design):
    """A lost frame erases a fifth of the message in one piece. Each part's bits are
    spread over the whole message, so every codeword loses a scattered fifth, which its
    LDPC code repairs (before: softcast's metadata at 15 dB and hda's base layer at 0 dB
    failed for 3 of 5 frame positions)."""
    x = codec.encode(photo.transpose(2, 0, 1)[None], design)[0]
    n, rng = x.size, np.random.default_rng(0)
    for k in range(5):
        no = np.full(n, 10 ** (-design / 10), np.float32)
        y = x + np.sqrt(no / 2) * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
        lost = slice(k * n // 5, (k + 1) * n // 5)
        y[lost], no[lost] = 0, 1e6  # what the PHY hands over for a lost frame (LOST_NO)
        out = codec.decode(y[None].astype(np.complex64), design, photo.shape[:2], codec.last_side, no=no[None])
        assert codec.last_ok == [True], f"frame {k} of 5 lost"
        assert psnr(photo, out[0].transpose(1, 2, 0)) > 15


def test_mask_goes_with_the_residual(photo):
    mask = np.zeros(photo.shape[:2], bool)
    mask[30:110, 40:120] = True
    codec = HybridCodec("1/6")
    _send(codec, photo, 15.0, 15.0, mask=mask[None])
    assert codec.last_mask[0] is not None and codec.last_mask[0][mask].all()
