"""The codec interface and the learned JSCC behind it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from ..errors import PrivsemError
from ..weights import load_weights
from .jscc import DOWNSCALE, JSCCDecoder, JSCCEncoder, from_symbols, to_symbols

DEFAULT_WEIGHTS = "jscc_small.safetensors"


class Codec:
    """``encode(img float32 (B,3,H,W) in [0,1], snr_db) -> complex64 (B, n)``, mean power 1;
    ``decode(y complex64 (B, n), snr_db, shape=(H, W)) -> float32 (B,3,H,W) in [0,1]``."""

    name = "codec"

    def n_symbols(self, shape: tuple[int, int]) -> int:  # pragma: no cover
        raise NotImplementedError


class JSCCCodec(Codec):
    """The learned JSCC (:mod:`privsem.codec.jscc`), any image size (reflect-padded to ×4)."""

    name = "jscc"

    def __init__(self, encoder: JSCCEncoder, decoder: JSCCDecoder, c_out: int) -> None:
        self.encoder, self.decoder, self.c_out = encoder.eval(), decoder.eval(), c_out

    @property
    def bandwidth_ratio(self) -> float:
        """k/n: complex channel uses per real source value."""
        return self.c_out / (2 * 3 * DOWNSCALE * DOWNSCALE)

    def _latent_hw(self, shape: tuple[int, int]) -> tuple[int, int]:
        return -(-shape[0] // DOWNSCALE), -(-shape[1] // DOWNSCALE)

    def n_symbols(self, shape: tuple[int, int]) -> int:
        """Complex symbols per image of ``shape = (H, W)``."""
        h, w = self._latent_hw(shape)
        return self.c_out // 2 * h * w

    @torch.inference_mode()
    def encode(self, img: np.ndarray, snr_db: float) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
        h, w = x.shape[-2:]
        ph, pw = (-h) % DOWNSCALE, (-w) % DOWNSCALE
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        snr = torch.full((x.shape[0],), float(snr_db))
        return to_symbols(self.encoder(x, snr)).numpy().astype(np.complex64)

    @torch.inference_mode()
    def decode(self, y: np.ndarray, snr_db: float, shape: tuple[int, int]) -> np.ndarray:
        lh, lw = self._latent_hw(shape)
        s = torch.from_numpy(np.ascontiguousarray(y, dtype=np.complex64))
        z = from_symbols(s, self.c_out, lh, lw)
        snr = torch.full((s.shape[0],), float(snr_db))
        out = self.decoder(z, snr)[..., : shape[0], : shape[1]]
        return out.numpy().astype(np.float32)


def codec_from_state(state: dict[str, torch.Tensor], config: dict) -> JSCCCodec:
    """Build a :class:`JSCCCodec` from a flat state dict (``encoder.*``, ``decoder.*``)."""
    width, c_out = int(config["width"]), int(config["c_out"])
    enc, dec = JSCCEncoder(width, c_out), JSCCDecoder(width, c_out)
    enc.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
    dec.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("decoder.")})
    return JSCCCodec(enc, dec, c_out)


def load_codec(path: str | Path | None = None) -> JSCCCodec:
    """The default committed JSCC (verified by sha256), or a user's safetensors file."""
    from safetensors import safe_open

    if path is None:
        state = load_weights(DEFAULT_WEIGHTS)
        from ..weights import models_dir

        file = models_dir() / DEFAULT_WEIGHTS
    else:
        file = Path(path)
        if not file.is_file():
            raise PrivsemError(f"codec weights not found: {file}")
        try:
            state = load_file(str(file))
        except Exception as e:  # safetensors raises several types for a bad file
            raise PrivsemError(f"not a safetensors codec file: {file} ({e.__class__.__name__})") from None
    with safe_open(str(file), "pt") as f:
        meta = f.metadata() or {}
    try:
        config = json.loads(meta["config"])
        return codec_from_state(state, config)
    except (KeyError, ValueError, RuntimeError) as e:
        raise PrivsemError(f"{file}: not a privsem JSCC checkpoint ({e.__class__.__name__})") from None
