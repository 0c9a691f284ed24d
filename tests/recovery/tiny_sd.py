"""A tiny randomly initialised Stable Diffusion inpainting folder (diffusers layout,
safetensors), built offline for tests: the same component classes as a real checkpoint."""

from __future__ import annotations

import json
from pathlib import Path


def _tokenizer_files(d: Path) -> None:
    """A character-level CLIP BPE vocabulary (no merges) covering printable ASCII."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = sorted(set(bytes_to_unicode().values()))
    vocab = {}
    for c in chars:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    d.mkdir(parents=True, exist_ok=True)
    (d / "vocab.json").write_text(json.dumps(vocab))
    (d / "merges.txt").write_text("#version: 0.2\n")
    (d / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 16, "tokenizer_class": "CLIPTokenizer"}))


def build_tiny_sd(root: Path, seed: int = 0) -> Path:
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    root = Path(root)
    _tokenizer_files(root / "tokenizer")
    vocab_size = len(CLIPTokenizer.from_pretrained(str(root / "tokenizer")))
    UNet2DConditionModel(sample_size=8, in_channels=9, out_channels=4, layers_per_block=1,
                         block_out_channels=(16, 32), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                         up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                         attention_head_dim=4, norm_num_groups=8).save_pretrained(root / "unet", safe_serialization=True)
    AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), latent_channels=4,
                  norm_num_groups=8, sample_size=16).save_pretrained(root / "vae", safe_serialization=True)
    CLIPTextModel(CLIPTextConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                 num_attention_heads=4, max_position_embeddings=16, bos_token_id=vocab_size - 2,
                                 eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)
                  ).save_pretrained(root / "text_encoder", safe_serialization=True)
    DDIMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                  clip_sample=False, set_alpha_to_one=False).save_pretrained(root / "scheduler")
    return root
