import json
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from privsem.codec import load_codec
from privsem.codec.base import codec_from_state
from privsem.codec.data import skimage_image
from privsem.codec.jscc import JSCCDecoder, JSCCEncoder
from privsem.errors import IntegrityError, PrivsemError
from privsem.metrics import psnr


TINY = {"width": 8, "c_out": 8, "depth": 3, "rates": [2, 4]}


def _tiny_codec(seed=0):
    torch.manual_seed(seed)
    enc, dec = JSCCEncoder(8, 8, 3), JSCCDecoder(8, 8, 3)
    state = {f"encoder.{k}": v for k, v in enc.state_dict().items()}
    state |= {f"decoder.{k}": v for k, v in dec.state_dict().items()}
    return codec_from_state(state, TINY), state


@pytest.mark.parametrize("shape", [(64, 64), (37, 53), (5, 9)])
def test_any_size_unit_power(shape):
    codec, _ = _tiny_codec()
    img = np.random.default_rng(0).random((2, 3, *shape), dtype=np.float32)
    x = codec.encode(img, 10.0)
    assert x.dtype == np.complex64 and x.shape == (2, codec.n_symbols(shape))
    np.testing.assert_allclose(np.mean(np.abs(x) ** 2, axis=1), 1.0, rtol=1e-5)
    out = codec.decode(x, 10.0, shape)
    assert out.shape == img.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_bandwidth_ratios_share_a_prefix():
    """k/n = m/48: the 1/24 code is the first half of the 1/12 code up to one gain, and
    each is sent at mean power 1."""
    codec, _ = _tiny_codec()
    assert codec.kn == Fraction(1, 12) and codec.kn_choices == [Fraction(1, 24), Fraction(1, 12)]
    assert codec.n_symbols((64, 64)) == 4 * 16 * 16
    low = codec.at("1/24")
    assert low.n_symbols((64, 64)) == 2 * 16 * 16 == round(64 * 64 * 3 / 24)
    img = np.random.default_rng(2).random((1, 3, 64, 64), dtype=np.float32)
    full, half = codec.encode(img, 10.0), low.encode(img, 10.0)
    prefix = full[:, : half.shape[1]]
    np.testing.assert_allclose(prefix / np.sqrt(np.mean(np.abs(prefix) ** 2)), half, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.mean(np.abs(full) ** 2), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.mean(np.abs(half) ** 2), 1.0, rtol=1e-5)
    # the decoder infers the ratio from the symbol count and refuses a count that fits none
    assert codec.decode(half, 10.0, (64, 64)).shape == (1, 3, 64, 64)
    with pytest.raises(PrivsemError, match="do not fit"):
        codec.decode(full[:, :100], 10.0, (64, 64))
    with pytest.raises(PrivsemError, match="offers k/n"):
        codec.at("1/6")
    with pytest.raises(PrivsemError, match="not a bandwidth ratio"):
        codec.at("a/b")


def test_snr_outside_training_range_warns_once():
    codec, _ = _tiny_codec()
    img = np.zeros((1, 3, 8, 8), np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        codec.encode(img, 25.0)
        codec.encode(img, -3.0)
        codec.encode(img, 10.0)
    assert len(caught) == 1 and "outside the codec's trained range 0–20 dB" in str(caught[0].message)


def test_user_checkpoint_round_trip(tmp_path):
    _, state = _tiny_codec(seed=3)
    f = tmp_path / "mine.safetensors"
    save_file(state, str(f), metadata={"config": json.dumps(TINY)})
    codec = load_codec(f)
    ref, _ = _tiny_codec(seed=3)
    img = np.random.default_rng(1).random((1, 3, 16, 16), dtype=np.float32)
    np.testing.assert_array_equal(codec.encode(img, 5.0), ref.encode(img, 5.0))


def test_bad_checkpoints_are_user_errors(tmp_path):
    with pytest.raises(PrivsemError, match="not found"):
        load_codec(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(PrivsemError, match="not a safetensors"):
        load_codec(junk)
    _, state = _tiny_codec()
    wrong = tmp_path / "wrong.safetensors"
    save_file(state, str(wrong), metadata={"config": json.dumps(TINY | {"width": 16})})
    with pytest.raises(PrivsemError, match="has shape"):
        load_codec(wrong)
    noconf = tmp_path / "noconf.safetensors"
    save_file(state, str(noconf))
    with pytest.raises(PrivsemError, match="no valid config"):
        load_codec(noconf)


def test_default_weights_are_verified(tmp_path, monkeypatch):
    import shutil

    from privsem.weights import models_dir

    for f in ("MANIFEST.toml", "jscc_small.safetensors"):
        shutil.copy(models_dir() / f, tmp_path / f)
    with open(tmp_path / "jscc_small.safetensors", "r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\x01\x02\x03\x04")
    monkeypatch.setenv("PRIVSEM_MODELS", str(tmp_path))
    with pytest.raises(IntegrityError, match="sha256"):
        load_codec()


def test_trained_default_codecs_on_held_out_image():
    """The committed JSCCs on a held-out image (chelsea, never trained on), symbols only
    through AWGN: quality rises with SNR and with k/n; the encoder's output power stays
    near 1 before normalization (the training keeps it there)."""
    import torch

    from privsem.channel import build_channel

    img = skimage_image("chelsea")
    got = {}
    for kn in ("1/24", "1/12", "1/6"):
        codec = load_codec(kn=kn)
        assert codec.kn == Fraction(kn)
        for snr in (0.0, 20.0):
            x = codec.encode(img.transpose(2, 0, 1)[None], snr)
            y = build_channel("awgn", seed=0)(x, snr).y
            got[kn, snr] = psnr(img, codec.decode(y, snr, img.shape[:2])[0].transpose(1, 2, 0))
        with torch.no_grad():
            z = codec.encoder(torch.from_numpy(img.transpose(2, 0, 1)[None].copy()), torch.tensor([10.0]))
        assert 0.01 < z.pow(2).mean().item() < 100
    assert got["1/6", 20.0] > 28.0  # measured 29.7
    assert got["1/6", 0.0] > 23.5  # measured 25.4
    assert got["1/6", 20.0] > got["1/6", 0.0] + 1.0
    assert got["1/6", 20.0] > got["1/12", 20.0] > got["1/24", 20.0]
