import json

from safetensors import safe_open

from privsem.codec import load_codec
from privsem.codec.train import CodecTrainConfig, train_codec


def _step(path):
    with safe_open(str(path), "pt") as f:
        return int(f.metadata()["step"])


def test_train_resume_and_export(tmp_path):
    out = tmp_path / "j.safetensors"
    cfg = CodecTrainConfig(width=8, c_out=4, crop=32, batch=4, steps=4)
    m = train_codec(out, cfg, checkpoint_every=2)
    assert _step(out.with_suffix(".ckpt")) == 4
    assert set(m) >= {"psnr_awgn_10db", "psnr_rayleigh_10db"}
    cfg.steps = 6
    train_codec(out, cfg, resume=True, checkpoint_every=2)
    assert _step(out.with_suffix(".ckpt")) == 6 and _step(out) == 6
    codec = load_codec(out)
    assert codec.c_out == 4
    with safe_open(str(out), "pt") as f:
        assert "optim" not in " ".join(f.keys())
        assert json.loads(f.metadata()["metrics"])["psnr_awgn_0db"] > 0
