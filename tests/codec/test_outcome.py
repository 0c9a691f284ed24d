"""The sender's error model at any receive SNR (privsem.codec.outcome): what softcast and
hda deliver over a slowly fading link, and auto's choice for one (issue 21)."""

import numpy as np
import pytest

from privsem.codec.auto import AutoCodec
from privsem.codec.data import named_image
from privsem.codec.hda import HybridCodec
from privsem.codec.outcome import expected_psnr, rayleigh_snrs
from privsem.codec.softcast import SoftCastCodec
from privsem.metrics import psnr


@pytest.fixture(scope="module")
def cat():
    """A 192×256 crop of a held-out photo."""
    return np.ascontiguousarray(named_image("chelsea")[40:232, 100:356])


def test_rayleigh_quantiles():
    """Equally likely quantiles of an Exp(1) power gain: mean power 1 (the mean SNR),
    median at ln 2, and a deep fade in the lowest one."""
    s = rayleigh_snrs(10.0, 4096)
    assert np.mean(10 ** ((s - 10.0) / 10)) == pytest.approx(1.0, abs=2e-3)
    assert np.median(s) == pytest.approx(10 + 10 * np.log10(np.log(2)), abs=0.01)
    assert s[0] < -20 and np.all(np.diff(s) > 0)


def test_the_model_predicts_slow_fading(cat):
    """One fade per message, the receiver knowing it (zero-forcing): at eight equally
    likely fades around 10 dB, the mean PSNR measured is within 0.6 dB of the model's for
    both codes, and the hybrid's deepest fades lose the base layer (the model's
    threshold says which)."""
    x_img = cat.transpose(2, 0, 1)[None]
    rng = np.random.default_rng(3)
    snrs = rayleigh_snrs(10.0, 8)
    for codec in (SoftCastCodec("1/6", refiner=None), HybridCodec("1/6")):
        x = codec.encode(x_img, 10.0)
        outcome = codec.last_outcome[0]
        got, base_ok = [], []
        for s in snrs:
            no = 10 ** (-s / 10)
            y = x + np.sqrt(no / 2) * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
            out = codec.decode(y.astype(np.complex64), float(s), cat.shape[:2], codec.last_side,
                               no=np.full(x.shape, no))
            got.append(psnr(cat, out[0].transpose(1, 2, 0)))
            base_ok.append(getattr(codec, "last_base_ok", [True])[0])
        predicted = 10 * np.log10(1 / outcome.mse(snrs))
        assert abs(np.mean(got) - np.mean(predicted)) < 0.6, (codec.name, got, predicted)
        if codec.name == "hda":
            assert base_ok == list(snrs >= outcome.base_db) and not all(base_ok)
        assert expected_psnr(outcome, 10.0, fading=True) < expected_psnr(outcome, 10.0) - 2


def test_auto_for_a_fading_link_keeps_softcast():
    """On the coffee photo at 10 dB the hybrid is expected 1.6 dB better over AWGN, but over
    slow fading its base layer is lost in a quarter of the fades: auto built for fading
    sends softcast."""
    img = named_image("coffee").transpose(2, 0, 1)[None]
    awgn, fading = AutoCodec("1/6"), AutoCodec("1/6", fading=True)
    awgn.encode(img, 10.0)
    fading.encode(img, 10.0)
    assert awgn.last_choice == ["hda"] and fading.last_choice == ["softcast"]
    exp_a, exp_f = awgn.last_expected_psnr[0], fading.last_expected_psnr[0]
    assert exp_f["softcast"] > exp_f["hda"] + 1 and exp_a["hda"] > exp_a["softcast"] + 1
    assert fading.at("1/12").fading and not awgn.at("1/12").fading


def test_fading_reaches_auto_only():
    """--codec auto on a fading link is built for it; other codes have nothing to choose."""
    from privsem.codec.registry import resolve_codec

    assert resolve_codec(None, fading=True).fading and not resolve_codec(None).fading
    assert type(resolve_codec("softcast", fading=True)) is SoftCastCodec
