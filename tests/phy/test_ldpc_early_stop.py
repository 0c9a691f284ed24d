"""CRC-aided early stopping of the 5G LDPC decoder: resumed stages give plain BP's bits."""

import numpy as np

from privsem.phy.digital import (
    CHECK_AFTER,
    LDPC_N,
    ldpc_decode,
    ldpc_decode_checked,
    ldpc_encode,
)

K = LDPC_N // 2


def _noisy(sigma: float, n_cw: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n_cw, K)).astype(np.float32)
    coded = ldpc_encode(bits, K, LDPC_N)
    # Sionna's convention: a positive LLR says bit 1
    llr = (2 * coded - 1) * (2 / sigma**2) + rng.normal(0, 2 / sigma, coded.shape)
    return bits.astype(np.uint8), llr.astype(np.float32)


def test_stages_resume_and_end_at_plain_bp():
    """Where no stage checks out, each stage's bits are plain BP's after that many
    iterations (the messages carry over), the last the 20-iteration decoder's."""
    for sigma in (0.6, 0.8, 1.0):
        _, llr = _noisy(sigma)
        seen = []
        assert ldpc_decode_checked(llr, K, LDPC_N, lambda b, seen=seen: seen.append(b.copy())) is None
        assert len(seen) == len(CHECK_AFTER) and CHECK_AFTER[-1] == 20
        for bits, iters in zip(seen, CHECK_AFTER, strict=True):
            np.testing.assert_array_equal(bits, ldpc_decode(llr, K, LDPC_N, iters).reshape(-1))


def test_stops_at_the_first_stage_that_checks_out():
    """Clean codewords check out after 3 iterations, noisier ones after more (here 4 and
    7: where BP needs them, not 20); below the code's threshold nothing checks out (None,
    not wrong bits)."""
    used = {}
    for sigma in (0.3, 0.5, 0.7):
        truth, llr = _noisy(sigma, seed=1)
        calls = []

        def crc(bits, truth=truth, calls=calls):
            calls.append(1)
            return "ok" if np.array_equal(bits, truth.reshape(-1)) else None

        assert ldpc_decode_checked(llr, K, LDPC_N, crc) == "ok"
        used[sigma] = CHECK_AFTER[len(calls) - 1]
    assert used[0.3] == 3 and 3 < used[0.5] < used[0.7] < 20, used
    truth, llr = _noisy(1.6, seed=2)
    assert ldpc_decode_checked(llr, K, LDPC_N, lambda b: "ok" if np.array_equal(b, truth.reshape(-1)) else None) is None
