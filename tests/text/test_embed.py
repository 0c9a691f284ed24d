import numpy as np

from privsem.text import default_text_encoder


def test_minilm_offline_embeddings_are_semantic():
    enc = default_text_encoder()
    e = enc.encode(["the cat Chelsea", "a tabby cat named Chelsea", "the astronaut Eileen Collins"])
    assert e.shape == (3, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_registry():
    import pytest

    from privsem.errors import PrivsemError
    from privsem.text import build_text_encoder

    assert build_text_encoder("minilm") is default_text_encoder()
    with pytest.raises(PrivsemError, match="unknown text encoder"):
        build_text_encoder("clip")
