"""Digital payload: bits ↔ QAM symbols (Sionna mapper/demapper) and 5G LDPC coding.

Used by the header (QPSK) and by the separated digital baseline (bytes → LDPC → QAM).
MCS table: index → (bits per symbol, code rate).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch

MCS = {0: (2, 1 / 2), 1: (4, 1 / 2), 2: (4, 3 / 4), 3: (6, 2 / 3)}
LDPC_N = 1944  # coded bits per codeword: a multiple of 2, 4, 6 and 8 (QPSK to 256-QAM)
T = TypeVar("T")


@functools.lru_cache(maxsize=8)
def _mapper(bits_per_symbol: int):
    from sionna.phy.mapping import Demapper, Mapper

    # For Gray QPSK each bit sees one axis, so max-log is the exact APP (and 3× faster).
    method = "maxlog" if bits_per_symbol == 2 else "app"
    return (Mapper("qam", bits_per_symbol, precision="single", device="cpu"),
            Demapper(method, "qam", bits_per_symbol, precision="single", device="cpu"))


def qam_map(bits: np.ndarray, bits_per_symbol: int) -> np.ndarray:
    """float/int bits ``(n·b,)`` → complex64 ``(n,)`` unit-power Gray QAM."""
    mapper, _ = _mapper(bits_per_symbol)
    return mapper(torch.as_tensor(np.asarray(bits, np.float32))[None])[0].numpy().astype(np.complex64)


def qam_llr(symbols: np.ndarray, no: np.ndarray, bits_per_symbol: int) -> np.ndarray:
    """LLRs float32 ``(..., n·b)`` of equalized symbols with per-symbol noise variance."""
    _, demapper = _mapper(bits_per_symbol)
    y = torch.from_numpy(np.ascontiguousarray(symbols, np.complex64))
    n0 = torch.from_numpy(np.array(np.broadcast_to(no, symbols.shape), np.float32))
    return demapper(y, n0).numpy().astype(np.float32)


@functools.lru_cache(maxsize=8)
def _ldpc(k: int, n: int):
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

    enc = LDPC5GEncoder(k, n, precision="single", device="cpu")
    # one decoder per code: the iterations are given per call, and it returns its messages
    # so that a CRC-checked decode can resume them (ldpc_decode_checked)
    return enc, LDPC5GDecoder(enc, hard_out=True, num_iter=20, return_state=True, precision="single", device="cpu")


def mcs_params(mcs: int) -> tuple[int, int, int]:
    """(bits per symbol, info bits k, coded bits n) of one LDPC codeword."""
    b, rate = MCS[mcs]
    return b, int(LDPC_N * rate) // 8 * 8, LDPC_N


def bytes_to_symbols(data: bytes, mcs: int) -> np.ndarray:
    """Bytes → LDPC codewords → QAM symbols complex64 (zero-padded to whole codewords)."""
    b, k, n = mcs_params(mcs)
    bits = np.unpackbits(np.frombuffer(data, np.uint8)).astype(np.float32)
    n_cw = max(1, -(-bits.size // k))
    bits = np.concatenate([bits, np.zeros(n_cw * k - bits.size, np.float32)]).reshape(n_cw, k)
    return qam_map(ldpc_encode(bits, k, n).reshape(-1), b)


def symbols_to_bytes(symbols: np.ndarray, no: np.ndarray, mcs: int, n_bytes: int) -> bytes:
    """Inverse of :func:`bytes_to_symbols` given per-symbol noise variance."""
    b, k, n = mcs_params(mcs)
    bits = ldpc_decode(qam_llr(symbols, no, b).reshape(-1, n), k, n).reshape(-1)
    return np.packbits(bits).tobytes()[:n_bytes]


def symbols_for_bytes(n_bytes: int, mcs: int) -> int:
    """QAM symbols that :func:`bytes_to_symbols` produces for ``n_bytes``."""
    b, k, n = mcs_params(mcs)
    return max(1, -(-8 * n_bytes // k)) * n // b


def ldpc_encode(bits: np.ndarray, k: int, n: int) -> np.ndarray:
    """float32 info bits ``(c, k)`` → float32 coded bits ``(c, n)`` (5G LDPC, Sionna)."""
    enc, _ = _ldpc(k, n)
    return enc(torch.from_numpy(np.ascontiguousarray(bits, np.float32))).numpy()


def ldpc_decode(llr: np.ndarray, k: int, n: int, num_iter: int = 20) -> np.ndarray:
    """LLRs float32 ``(c, n)`` (Sionna's sign convention) → hard info bits uint8 ``(c, k)``
    after ``num_iter`` belief-propagation iterations."""
    bits, _ = _ldpc(k, n)[1](torch.from_numpy(np.ascontiguousarray(llr, np.float32)), num_iter=num_iter)
    return bits.numpy().astype(np.uint8)


#: BP iterations after which a CRC-checked decoder looks at its output; it stops at the
#: first that checks out. Each stage resumes the last one's messages, so the 20th
#: iteration's bits are those of a plain 20-iteration decoder.
CHECK_AFTER = (3, 4, 5, 7, 10, 14, 20)


def ldpc_decode_checked(llr: np.ndarray, k: int, n: int, check: Callable[[np.ndarray], T | None]) -> T | None:
    """CRC-aided early stopping: ``check(bits)`` on the hard info bits uint8 ``(c·k,)``
    after each stage of :data:`CHECK_AFTER`; its first non-None answer, or None if
    even 20 iterations do not check out. Well above its threshold a code needs 3
    iterations, 5 dB above it about 4–8, near it up to 20 (the puncturing of 5G's first
    two systematic columns costs the first few); a stage costs one CRC."""
    dec = _ldpc(k, n)[1]
    x = torch.from_numpy(np.ascontiguousarray(llr, np.float32))
    state, done = None, 0
    for upto in CHECK_AFTER:
        bits, state = dec(x, num_iter=upto - done, msg_v2c=state)
        done = upto
        found = check(bits.numpy().astype(np.uint8).reshape(-1))
        if found is not None:
            return found
    return None
