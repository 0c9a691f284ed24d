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


def _tiny_codec(seed=0):
    torch.manual_seed(seed)
    enc, dec = JSCCEncoder(8, 4), JSCCDecoder(8, 4)
    state = {f"encoder.{k}": v for k, v in enc.state_dict().items()}
    state |= {f"decoder.{k}": v for k, v in dec.state_dict().items()}
    return codec_from_state(state, {"width": 8, "c_out": 4}), state


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


def test_bandwidth_ratio():
    codec, _ = _tiny_codec()
    assert codec.bandwidth_ratio == pytest.approx(4 / 96)
    assert codec.n_symbols((64, 64)) == 2 * 16 * 16


def test_user_checkpoint_round_trip(tmp_path):
    _, state = _tiny_codec(seed=3)
    f = tmp_path / "mine.safetensors"
    save_file(state, str(f), metadata={"config": '{"width": 8, "c_out": 4}'})
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


def test_trained_default_codec_on_held_out_image():
    """The committed JSCC on a held-out image (chelsea, never trained on), symbols
    only through AWGN; bounds sit a few dB under what the manifest reports."""
    from privsem.channel import build_channel

    codec = load_codec()
    img = skimage_image("chelsea")
    got = {}
    for snr in (0.0, 20.0):
        x = codec.encode(img.transpose(2, 0, 1)[None], snr)
        y = build_channel("awgn", seed=0)(x, snr).y
        got[snr] = psnr(img, codec.decode(y, snr, img.shape[:2])[0].transpose(1, 2, 0))
    assert got[20.0] > 26.0
    assert got[0.0] > 20.0
    assert got[20.0] > got[0.0] + 2.0
