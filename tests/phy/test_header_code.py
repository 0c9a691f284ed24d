import numpy as np
import torch

from privsem.phy import header as H


def test_sc_with_frozen_shortcut_decides_as_plain_sc():
    """The header's SC decoder skips all-frozen subtrees: on noisy LLRs from clean to
    failing, its bits equal Sionna's plain SC decoder's, errors included."""
    import warnings

    from sionna.phy.fec.polar import Polar5GDecoder

    enc, sc, _ = H._polar()
    assert sc.polar_dec._use_fast_sc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = Polar5GDecoder(enc, "SC", precision="single", device="cpu")
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2, (24, H.INFO_BITS)).astype(np.float32)
    coded = enc(torch.from_numpy(bits)).numpy()
    errors = []
    for sigma in (0.5, 1.2, 1.6, 2.2):
        llr = (2 * (1 - 2 * coded) + sigma * rng.normal(size=coded.shape)) * 2 / sigma**2
        llr = torch.from_numpy(-llr.astype(np.float32))  # Sionna's LLRs: log p(1) / p(0)
        fast, slow = sc(llr).numpy(), plain(llr).numpy()
        assert np.array_equal(fast, slow)
        errors.append(int(np.any(fast != bits, axis=1).sum()))
    assert errors[0] == 0 and errors[-1] > 0  # the comparison covered decoding and failing
