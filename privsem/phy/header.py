"""Frame header: fields, CRC-32, keyed entity tag, and its Polar code.

The header is 35 bytes plus a CRC-32, i.e. 312 bits, Polar-coded
(Sionna's 5G Polar code, rate 312/1000; SC decoding, then SCL-8 for headers whose
CRC-32 fails) and
sent twice as 1000 QPSK symbols on 10 OFDM symbols (the receiver adds the two
copies' LLRs: 3 dB and frequency diversity), in a fixed pseudo-random order across
subcarriers and symbols so that a frequency-selective fade hits scattered code bits,
not a burst.

The entity reference is a keyed tag, ``HMAC-SHA256(key, entity name)`` truncated to
8 bytes, with the DB's secret key: Bob resolves it against his DB; a listener without
the key learns nothing about which entity was removed (only whether two frames carry
the same one).

The CRC is CRC-32/BZIP2: the zlib polynomial 0x04C11DB7 computed most-significant bit
first, sent big-endian, so the bits go on the air in the order the CRC divides them and
its guarantee holds as sent: every burst of up to 32 bits is detected. Version 1 used
zlib's bit-reflected CRC-32 serialised most-significant bit first, which only
guaranteed 29-bit bursts (an 18-bit burst across the tag and the CRC could pass);
version 1 headers are refused.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct
from dataclasses import astuple, dataclass

import numpy as np
import torch

from .digital import MCS

VERSION = 2


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else (c << 1)
        table.append(c & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32(data: bytes) -> int:
    """CRC-32/BZIP2 of ``data``: polynomial 0x04C11DB7, most-significant bit first,
    init and final XOR 0xFFFFFFFF (``crc32(b"123456789") == 0xFC891918``)."""
    c = 0xFFFFFFFF
    for b in data:
        c = ((c << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[(c >> 24) ^ b]
    return c ^ 0xFFFFFFFF
_FMT = ">BBBBBHHHHHIII8s"
HEADER_BYTES = struct.calcsize(_FMT)  # 35
INFO_BITS = 8 * (HEADER_BYTES + 4)  # 312
CODED_BITS = 1000
COPIES = 2  # the codeword is sent twice (different positions) and the LLRs added
QPSK_SYMBOLS = COPIES * CODED_BITS // 2
_INTERLEAVE = np.random.default_rng(0x4EAD).permutation(QPSK_SYMBOLS)
_DEINTERLEAVE = np.argsort(_INTERLEAVE)

MODE_ANALOG, MODE_DIGITAL = 0, 1
FLAG_EMBEDDING = 1  # payload of frame 0 starts with the prompt embedding (paper's option)
FLAG_RESERVED_BLACK = 2  # the image was sent with black reserved for the removed region
NO_ENTITY = bytes(8)


@dataclass
class Header:
    """Frame header fields.

    Attributes:
        mode: 0 analog (JSCC symbols), 1 digital (LDPC + QAM bytes).
        codec_id: which codec produced the payload (registry index).
        mcs: digital modulation-and-coding index (0 for analog).
        flags: bit 0 = prompt embedding in the payload.
        msg_id: message (image) number; seq / n_frames: this frame's place in it.
        height, width: image size in pixels.
        n_units: payload units (symbols or bytes) in this frame.
        offset: index of this frame's first unit in the message.
        total: units in the whole message.
        tag: 8-byte keyed entity tag (zeros: nothing removed).
    """

    mode: int = MODE_ANALOG
    codec_id: int = 0
    mcs: int = 0
    flags: int = 0
    msg_id: int = 0
    seq: int = 0
    n_frames: int = 1
    height: int = 0
    width: int = 0
    n_units: int = 0
    offset: int = 0
    total: int = 0
    tag: bytes = NO_ENTITY
    version: int = VERSION

    def pack(self) -> bytes:
        """35 header bytes followed by their CRC-32 (big-endian)."""
        body = struct.pack(_FMT, self.version, self.mode, self.codec_id, self.mcs, self.flags,
                           self.msg_id, self.seq, self.n_frames, self.height, self.width,
                           self.n_units, self.offset, self.total, self.tag)
        return body + struct.pack(">I", crc32(body))

    @classmethod
    def unpack(cls, data: bytes) -> Header | None:
        """Parse 39 bytes; None when the CRC-32 or the version does not match, or the
        mode or (digital) MCS is not one this receiver knows."""
        body, crc = data[:HEADER_BYTES], data[HEADER_BYTES : HEADER_BYTES + 4]
        if len(data) < HEADER_BYTES + 4 or struct.unpack(">I", crc)[0] != crc32(body):
            return None
        f = struct.unpack(_FMT, body)
        if f[0] != VERSION or f[1] not in (MODE_ANALOG, MODE_DIGITAL) or (f[1] == MODE_DIGITAL and f[3] not in MCS):
            return None
        return cls(version=f[0], mode=f[1], codec_id=f[2], mcs=f[3], flags=f[4], msg_id=f[5], seq=f[6],
                   n_frames=f[7], height=f[8], width=f[9], n_units=f[10], offset=f[11], total=f[12],
                   tag=f[13])

    def __iter__(self):
        return iter(astuple(self))


def entity_tag(key: bytes, entity: str | None) -> bytes:
    """8-byte keyed tag of an entity name (zeros for None)."""
    if entity is None:
        return NO_ENTITY
    return hmac.new(key, entity.encode(), hashlib.sha256).digest()[:8]


def resolve_tag(key: bytes, tag: bytes, names: list[str]) -> str | None:
    """The entity among ``names`` whose tag is ``tag`` (constant-time compare), or None."""
    for n in names:
        if hmac.compare_digest(entity_tag(key, n), tag):
            return n
    return None


@functools.lru_cache(maxsize=1)
def _polar():
    import warnings

    from sionna.phy.fec.polar import Polar5GDecoder, Polar5GEncoder

    enc = Polar5GEncoder(INFO_BITS, CODED_BITS, precision="single", device="cpu")
    with warnings.catch_warnings():  # SC cannot use the code's CRC-11; our CRC-32 checks it
        warnings.simplefilter("ignore")
        sc = Polar5GDecoder(enc, "SC", precision="single", device="cpu")
    # Sionna's SC decoder can skip subtrees whose bits are all frozen (their decisions are
    # 0 either way: the same output), but the 5G wrapper does not turn it on. With 312 of
    # 1 024 bits free that halves a header's decoding (0.13 → 0.06 s on 2 cores), which
    # every received frame pays.
    if hasattr(sc.polar_dec, "_use_fast_sc"):
        sc.polar_dec._use_fast_sc = True
    return (enc, sc,
            Polar5GDecoder(enc, "SCL", list_size=8, precision="single", device="cpu"))


def _bits(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, np.uint8)).astype(np.float32)


def encode_header(h: Header) -> np.ndarray:
    """Header → 1000 QPSK symbols, complex64, unit power (Gray mapping, Sionna)."""
    from .digital import qam_map

    enc = _polar()[0]
    coded = enc(torch.from_numpy(_bits(h.pack()))[None])[0].numpy()
    return qam_map(np.tile(coded, COPIES), 2)[_INTERLEAVE]


def _header_llr(symbols: np.ndarray, no: np.ndarray) -> np.ndarray:
    from .digital import qam_llr

    llr = qam_llr(symbols[:, _DEINTERLEAVE], no[:, _DEINTERLEAVE], 2)
    return np.ascontiguousarray(llr.reshape(symbols.shape[0], COPIES, CODED_BITS).sum(axis=1))


def decode_headers(symbols: np.ndarray, no: np.ndarray, list_decode: bool = True) -> list[Header | None]:
    """Batch-decode headers: equalized QPSK symbols complex ``(B, 1000)`` with noise
    variance ``(B, 1000)`` → one :class:`Header` (or None on CRC failure) per row.
    Successive cancellation first (fast, one call for the batch); the list decoder only
    for rows that fail CRC-32, unless ``list_decode`` is False (the caller retries
    with :func:`decode_header_list` those it still needs)."""
    if symbols.shape[0] == 0:
        return []
    _, sc, scl = _polar()
    llr = _header_llr(symbols, no)
    out = _unpack_rows(sc(torch.from_numpy(llr)).numpy())
    retry = [i for i, h in enumerate(out) if h is None]
    if retry and list_decode:
        for i, h in zip(retry, _unpack_rows(scl(torch.from_numpy(llr[retry])).numpy())):
            out[i] = h
    return out


def decode_header_list(symbols: np.ndarray, no: np.ndarray) -> Header | None:
    """One header by the list decoder (SCL, list 8): complex ``(1000,)`` and ``(1000,)``."""
    llr = _header_llr(symbols[None], no[None])
    return _unpack_rows(_polar()[2](torch.from_numpy(llr)).numpy())[0]


def _unpack_rows(bits: np.ndarray) -> list[Header | None]:
    return [Header.unpack(np.packbits(row.astype(np.uint8)).tobytes()) for row in bits]
