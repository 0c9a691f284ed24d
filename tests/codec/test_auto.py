"""--codec auto (issue 21): the sender's error model, the per-image choice, and receivers
that decode by the header's codec id."""

import numpy as np
import pytest

from privsem.channel import build_channel
from privsem.codec.auto import CHOICE_MARGIN_DB, AutoCodec
from privsem.codec.data import named_image
from privsem.codec.hda import HybridCodec
from privsem.codec.outcome import expected_psnr
from privsem.codec.registry import CODEC_IDS, codec_for_header, make_codec
from privsem.codec.softcast import SoftCastCodec
from privsem.metrics import psnr
from privsem.phy import PilotBlockModem


@pytest.fixture(scope="module")
def photos():
    """Two 192×256 crops of held-out photos: a smooth one (the cat) and a busy one."""
    return {"smooth": np.ascontiguousarray(named_image("chelsea")[40:232, 100:356]),
            "busy": np.ascontiguousarray(named_image("china")[100:292, 200:456])}


def _link(codec, img, snr_db, seed=0):
    """(symbols sent, zero-forced symbols and noise variances at the receiver)."""
    x = codec.encode(img.transpose(2, 0, 1)[None], snr_db)[0]
    modem = PilotBlockModem()
    ch = build_channel("awgn", seed=seed)(modem.modulate(x), snr_db)
    y, no = modem.demodulate_zf(ch.y, x.size, ch.no)
    return x, y, no


@pytest.mark.parametrize("snr", [0.0, 20.0])
def test_the_senders_error_model_predicts_what_arrives(photos, snr):
    """The expected MSE (softcast: unsent energy + LMMSE error; hda: its residual's) is
    within 0.75 dB of the PSNR measured through the pilot-block modem."""
    for codec in (SoftCastCodec("1/6", refiner=None), HybridCodec("1/6")):
        for img in photos.values():
            _, y, no = _link(codec, img, snr)
            predicted = expected_psnr(codec.last_outcome[0], snr)
            got = psnr(img, codec.decode(y[None], snr, img.shape[:2], codec.last_side, no=no[None])[0]
                       .transpose(1, 2, 0))
            assert codec.last_ok == [True]
            assert abs(got - predicted) < 0.75, (codec.name, snr, got, predicted)


def test_auto_takes_the_better_code_and_the_header_names_it(photos):
    """At 0 dB a digital base layer beside the analog coefficients is worth most (hda); at
    25 dB the smooth picture goes analog (softcast), the busy one to the superposed
    hybrid, whose digital layer is 64-QAM there. Whatever it chose, a receiver that knows only
    the header's codec id decodes the same picture as the sender's own shortcut."""
    auto = AutoCodec("1/6")
    seen = set()
    for snr, img, want in ((0.0, photos["smooth"], "hda"), (25.0, photos["smooth"], "softcast"),
                           (25.0, photos["busy"], "superposed")):
        x, y, no = _link(auto, img, snr)
        exp = auto.last_expected_psnr[0]
        assert auto.last_choice == [want] and auto.name == want and set(exp) == {"softcast", "hda", "superposed"}
        best = max(("hda", "superposed"), key=exp.get)
        assert want == (best if exp[best] >= exp["softcast"] + CHOICE_MARGIN_DB else "softcast")
        mine = auto.decode(y[None], snr, img.shape[:2], auto.last_side, no=no[None])[0]
        rx = codec_for_header(CODEC_IDS[auto.name], x.size, img.shape[:2])
        assert type(rx) is type(auto.members[want]) and rx is not auto
        theirs = rx.decode(y[None], snr, img.shape[:2], auto.last_side, no=no[None])[0]
        assert np.array_equal(mine, theirs) and rx.last_ok == [True]
        # the sender's own receiver reuses its members, at its k/n only
        assert codec_for_header(CODEC_IDS[want], x.size, img.shape[:2], current=auto) is auto.members[want]
        other = codec_for_header(CODEC_IDS[want], x.size // 2, img.shape[:2], current=auto)  # another k/n
        assert other is not auto.members[want] and other.kn == auto.kn / 2
        seen.add(want)
        q = psnr(img, mine.transpose(1, 2, 0))
        alone = psnr(img, _decode_alone(make_codec(want), img, snr))
        assert q == pytest.approx(alone, abs=1e-6) and q > (27.0 if snr == 0.0 else 30.0)
    assert seen == {"hda", "softcast", "superposed"}


def _decode_alone(codec, img, snr):
    _, y, no = _link(codec, img, snr)
    return codec.decode(y[None], snr, img.shape[:2], codec.last_side, no=no[None])[0].transpose(1, 2, 0)


def test_auto_falls_back_to_softcast_where_hda_cannot_serve():
    """96×128 at k/n 1/24 leaves hda's analog part too few symbols for its metadata:
    auto sends softcast or the superposed code instead of failing."""
    img = np.ascontiguousarray(named_image("chelsea")[60:156, 150:278])
    auto = make_codec("auto", "1/24")
    with pytest.raises(Exception, match="too few for softcast's metadata"):
        make_codec("hda", "1/24").encode(img.transpose(2, 0, 1)[None], 0.0)
    _, y, no = _link(auto, img, 0.0)
    assert auto.last_choice == ["softcast"] and set(auto.last_expected_psnr[0]) == {"softcast"}
    rec = auto.decode(y[None], 0.0, img.shape[:2], auto.last_side, no=no[None])[0]
    assert auto.last_ok == [True] and psnr(img, rec.transpose(1, 2, 0)) > 18.0
