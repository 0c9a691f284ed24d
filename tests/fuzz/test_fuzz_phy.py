"""Fuzzing the OFDM PHY: header bytes and their CRC-32, header decoding, demodulation of
random and damaged sample streams, and frame reassembly.

Whatever arrives over the air is outside our control: the receiver must never raise on
it, a corrupted header must never pass the CRC, frames that arrived intact must still
decode next to damaged ones, and a reassembled message must only hold what was sent.

The CRC-32 (CRC-32/BZIP2: polynomial 0x04C11DB7, most-significant bit first) covers 35
header bytes and is sent big-endian after them: 312 bits, carried most-significant bit
first by the Polar code, i.e. in the order the CRC divides them. What it guarantees is
proved exhaustively below from its linearity (a damaged header passes iff the XOR of
its flipped bits' syndromes is zero) and then fuzzed: every error of up to 4 bits, and
every burst of up to 32 bits as sent. (Header version 1 sent zlib's bit-reflected CRC
most-significant bit first; there the burst guarantee only reached 29 bits as sent.)
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from privsem.phy.digital import MCS, symbols_to_bytes
from privsem.phy.framing import Reassembler, transmit
from privsem.phy.header import (HEADER_BYTES, MODE_ANALOG, MODE_DIGITAL, QPSK_SYMBOLS, VERSION, Header, crc32,
                                decode_headers, encode_header)
from privsem.phy.modem import HEADER_SYMBOLS, Frame, Modem
from privsem.phy.ofdm import N_DATA, grid_to_samples
from privsem.phy.preamble import PREAMBLE
from privsem.pipeline import StreamReceiver

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

CODEWORD_BITS = 8 * (HEADER_BYTES + 4)  # 312
ON_AIR_BURST = 32  # longest burst (in the order the bits are sent) the CRC always catches


def fuzz(n: int, slow: bool = False):
    """Derandomized, so CI runs the same cases every time; the slow (demodulating)
    tests report a failing case as found instead of shrinking it for minutes."""
    if not slow:
        return settings(max_examples=n, derandomize=True, deadline=None, database=None, print_blob=False)
    return settings(max_examples=n, derandomize=True, deadline=None, database=None, print_blob=False,
                    phases=[Phase.explicit, Phase.generate])


U8, U16, U32 = st.integers(0, 2**8 - 1), st.integers(0, 2**16 - 1), st.integers(0, 2**32 - 1)
headers = st.builds(Header, mode=st.one_of(st.sampled_from([MODE_ANALOG, MODE_DIGITAL]), U8), codec_id=U8,
                    mcs=st.one_of(st.sampled_from(sorted(MCS)), U8), flags=U8, msg_id=U16, seq=U16,
                    n_frames=U16, height=U16, width=U16, n_units=U32, offset=U32, total=U32,
                    tag=st.binary(min_size=8, max_size=8), version=st.one_of(st.just(VERSION), U8))


def _receivable(h: Header) -> bool:
    return h.version == VERSION and (h.mode == MODE_ANALOG or (h.mode == MODE_DIGITAL and h.mcs in MCS))


def _crc_ok(data: bytes) -> bool:
    return crc32(data[:HEADER_BYTES]) == int.from_bytes(data[HEADER_BYTES : HEADER_BYTES + 4], "big")


def _flip(data: bytes, positions) -> bytes:
    """``data`` with the bits at ``positions`` flipped (bit 0: the first byte's MSB, as sent)."""
    b = bytearray(data)
    for p in positions:
        b[p // 8] ^= 0x80 >> (p % 8)
    return bytes(b)


@functools.cache
def _syndromes() -> tuple[int, ...]:
    zero = crc32(bytes(HEADER_BYTES))
    out = []
    for p in range(CODEWORD_BITS):
        e = _flip(bytes(HEADER_BYTES + 4), [p])
        out.append(crc32(e[:HEADER_BYTES]) ^ zero ^ int.from_bytes(e[HEADER_BYTES:], "big"))
    return tuple(out)


def _rank(vectors) -> int:
    pivots: dict[int, int] = {}
    for v in vectors:
        while v:
            top = v.bit_length() - 1
            if top not in pivots:
                pivots[top] = v
                break
            v ^= pivots[top]
    return len(pivots)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


# ---- header bytes -------------------------------------------------------------------------
@fuzz(2500)
@given(st.binary(max_size=3 * (HEADER_BYTES + 4)))
def test_unpack_of_random_bytes_is_none_or_a_header(data):
    h = Header.unpack(data)
    assert h is None or (h.pack() == data[: HEADER_BYTES + 4] and _receivable(h))


@fuzz(800)
@given(headers)
def test_unpack_returns_what_was_packed_if_receivable(h):
    assert Header.unpack(h.pack()) == (h if _receivable(h) else None)


# ---- the CRC-32's guarantees, proved over all error patterns --------------------------------
def test_crc_catches_every_error_of_up_to_4_bits():
    s = _syndromes()
    singles = set(s)
    assert 0 not in singles and len(singles) == CODEWORD_BITS
    pairs = [s[i] ^ s[j] for i in range(CODEWORD_BITS) for j in range(i + 1, CODEWORD_BITS)]
    assert singles.isdisjoint(pairs)
    assert len(set(pairs)) == len(pairs)


def test_crc_is_crc32_bzip2():
    assert crc32(b"123456789") == 0xFC891918  # the catalogue's check value


def test_crc_catches_every_burst_of_up_to_32_bits_as_sent():
    s = _syndromes()
    for start in range(CODEWORD_BITS):
        window = s[start : start + ON_AIR_BURST]
        assert _rank(window) == len(window), start


def test_the_first_version_is_refused():
    h = Header(msg_id=7)
    v1 = dataclasses.replace(h, version=1).pack()
    assert Header.unpack(h.pack()) == h and Header.unpack(v1) is None


def test_crc_catches_any_damage_within_3_consecutive_bytes():
    s = _syndromes()
    for first in range(HEADER_BYTES + 4 - 2):
        assert _rank(s[8 * first : 8 * first + 24]) == 24, first


# ---- the same guarantees, and random damage, through Header.unpack ------------------------
def _check_rejected(damaged: bytes, tally) -> None:
    tally["mutated"] += 1
    tally["accepted"] += _crc_ok(damaged)
    assert not _crc_ok(damaged)
    assert Header.unpack(damaged) is None


@fuzz(1000)
@given(headers, st.sets(st.integers(0, CODEWORD_BITS - 1), min_size=1, max_size=4))
def test_header_with_up_to_4_flipped_bits_is_rejected(crc_tally, h, positions):
    packed = h.pack()
    _check_rejected(_flip(packed, positions), crc_tally)


@st.composite
def bursts(draw, longest: int, bits: int) -> set[int]:
    length = draw(st.integers(1, longest))
    start = draw(st.integers(0, bits - length))
    inner = draw(st.lists(st.booleans(), min_size=max(length - 2, 0), max_size=max(length - 2, 0)))
    return {start, start + length - 1} | {start + 1 + i for i, b in enumerate(inner) if b}


@fuzz(1000)
@given(headers, bursts(ON_AIR_BURST, CODEWORD_BITS))
def test_header_with_a_short_burst_is_rejected(crc_tally, h, positions):
    packed = h.pack()
    _check_rejected(_flip(packed, positions), crc_tally)


@st.composite
def mutated_headers(draw) -> tuple[bytes, bytes]:
    packed = draw(headers).pack()
    n = len(packed)
    b = bytearray(packed)
    kind = draw(st.sampled_from(["xor", "overwrite", "slip", "swap", "random"]))
    if kind == "xor":
        for i, x in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, 255)), min_size=1, max_size=12)):
            b[i] ^= x
    elif kind == "overwrite":
        start = draw(st.integers(0, n - 1))
        chunk = draw(st.binary(min_size=1, max_size=n - start))
        b[start : start + len(chunk)] = chunk
    elif kind == "slip":
        i = draw(st.integers(0, n - 1))
        if draw(st.booleans()):
            b.insert(i, draw(U8))
            del b[n:]
        else:
            del b[i]
            b.append(draw(U8))
    elif kind == "swap":
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        b[i], b[j] = b[j], b[i]
    else:
        b = bytearray(draw(st.binary(min_size=n, max_size=n)))
    return packed, bytes(b)


@fuzz(1500)
@given(mutated_headers())
def test_randomly_mutated_header_is_rejected(crc_tally, pair):
    packed, damaged = pair
    assume(damaged != packed)
    _check_rejected(damaged, crc_tally)


# ---- Polar-coded headers -------------------------------------------------------------------
@fuzz(10, slow=True)
@given(headers, st.floats(-8, 20), st.integers(0, QPSK_SYMBOLS), st.integers(0, 2**32 - 1))
def test_decoded_header_is_the_sent_one_or_none(h, snr_db, erased, seed):
    rng = np.random.default_rng(seed)
    sigma2 = 10 ** (-snr_db / 10)
    y = encode_header(h) + np.sqrt(sigma2) * _unit(rng, QPSK_SYMBOLS)
    y[rng.permutation(QPSK_SYMBOLS)[:erased]] = 0
    got = decode_headers(y[None].astype(np.complex64), np.full((1, QPSK_SYMBOLS), sigma2, np.float32))
    assert got == [None] or (got == [h] and _receivable(h))


@fuzz(5, slow=True)
@given(st.integers(1, 3), st.sampled_from(["gauss", "zeros", "nonfinite", "huge"]), st.integers(0, 2**32 - 1))
def test_decode_headers_of_garbage_never_raises(rows, kind, seed):
    rng = np.random.default_rng(seed)
    y = _unit(rng, rows * QPSK_SYMBOLS).reshape(rows, QPSK_SYMBOLS)
    no = rng.uniform(-1, 2, y.shape).astype(np.float32)
    if kind == "zeros":
        y[:], no[:] = 0, 0
    elif kind == "nonfinite":
        y.flat[rng.integers(0, y.size, 50)] = np.nan
        no.flat[rng.integers(0, no.size, 50)] = np.inf
    elif kind == "huge":
        y *= np.float32(1e30)
    got = decode_headers(y, no)
    assert len(got) == rows and all(g is None or _receivable(g) for g in got)


# ---- sample streams ----------------------------------------------------------------------------
SPECIALS = [complex(np.nan, 0), complex(0, np.nan), complex(np.inf, 0), complex(-np.inf, np.inf)]


@st.composite
def streams(draw) -> np.ndarray:
    n = draw(st.one_of(st.integers(0, 64), st.integers(0, 6000)))
    kind = draw(st.sampled_from(["gauss", "zeros", "constant", "periodic", "preamble", "tone", "real"]))
    scale = np.float32(10.0 ** draw(st.integers(-30, 30)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "gauss":
        x = _unit(rng, n)
    elif kind == "zeros":
        x = np.zeros(n, np.complex64)
    elif kind == "constant":
        x = np.full(n, complex(*rng.standard_normal(2)), np.complex64)
    elif kind == "periodic":
        x = np.resize(_unit(rng, 16), n).astype(np.complex64)
    elif kind == "preamble":
        x = np.concatenate([PREAMBLE, _unit(rng, n)])
    elif kind == "tone":
        x = np.exp(2j * np.pi * rng.uniform(-0.5, 0.5) * np.arange(n)).astype(np.complex64)
    else:
        x = rng.standard_normal(n).astype(np.complex64)
    x = x * scale
    for i, v in draw(st.lists(st.tuples(st.integers(0, max(x.size - 1, 0)), st.sampled_from(SPECIALS)),
                              max_size=5 if x.size else 0)):
        x[i] = v
    return x


@fuzz(150, slow=True)
@given(streams(), st.booleans())
def test_demodulate_never_raises_on_garbage(x, final):
    frames, consumed = Modem().demodulate(x, final=final)
    assert 0 <= consumed <= x.size
    for f in frames:
        assert f.crc_ok == (f.header is not None)
        assert f.header is None or _receivable(f.header)


@fuzz(30, slow=True)
@given(headers, st.integers(0, 12), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_frame_with_any_header_fields_never_raises(h, n_payload, keep, seed):
    rng = np.random.default_rng(seed)
    grid = np.zeros((HEADER_SYMBOLS + n_payload, N_DATA), np.complex64)
    grid[:HEADER_SYMBOLS].flat[:QPSK_SYMBOLS] = encode_header(h)
    grid[HEADER_SYMBOLS:] = _unit(rng, n_payload * N_DATA).reshape(n_payload, N_DATA)
    x = np.concatenate([np.zeros(100, np.complex64), PREAMBLE, grid_to_samples(grid), np.zeros(200, np.complex64)])
    frames, _ = Modem().demodulate(x[: max(1, int(keep * x.size))] if keep < 0.9 else x)
    ra = Reassembler()
    for f in frames:
        assert f.header is None or (f.header == h and _receivable(h))
        ra.add(f)
    for i in ra.msg_ids():
        ra.message(i)


# ---- intact frames next to damaged ones ------------------------------------------------------
@functools.cache
def _three_frames() -> list[tuple[Header, np.ndarray, np.ndarray]]:
    modem, rng = Modem(), np.random.default_rng(5)
    out = []
    for seq in range(3):
        h = Header(msg_id=9, seq=seq, n_frames=3, height=8, width=8, n_units=150, offset=150 * seq, total=450)
        pay = _unit(rng, 150)
        out.append((h, pay, modem.modulate(h, pay)))
    return out


DAMAGE = st.lists(st.tuples(st.sampled_from(["noise", "zero", "drop", "dup", "cut", "nan", "gain", "rotate"]),
                            st.floats(0, 1), st.floats(0, 1), st.floats(-30, 30)), min_size=1, max_size=4)


def _damage(x: np.ndarray, ops, rng: np.random.Generator) -> np.ndarray:
    for op, where, size, level in ops:
        i, n = int(where * x.size), max(1, int(size * min(x.size, 600)))
        x = x.copy()
        if op == "noise":
            x[i : i + n] += np.float32(10 ** (level / 20)) * _unit(rng, x[i : i + n].size)
        elif op == "zero":
            x[i : i + n] = 0
        elif op == "drop":
            x = np.delete(x, np.s_[i : i + n])
        elif op == "dup":
            x = np.concatenate([x[: i + n], x[i : i + n], x[i + n :]])
        elif op == "cut":
            x = x[:i]
        elif op == "nan":
            x[i : i + n] = np.nan
        elif op == "gain":
            x = x * np.float32(10.0 ** level)
        else:
            x = x * np.exp(2j * np.pi * level / 1000 * np.arange(x.size)).astype(np.complex64)
    return x


def _stream_around(damaged: np.ndarray) -> np.ndarray:
    (_, _, a), (_, _, b), (_, _, c) = _three_frames()
    z = np.zeros(256, np.complex64)
    return np.concatenate([z, a, z, damaged, np.zeros(b.size, np.complex64), z, c, z])


def _check_intact_frames(frames) -> None:
    (ha, pa, _), (hb, _, _), (hc, pc, _) = _three_frames()
    for f in frames:
        assert f.header in (None, ha, hb, hc)
    for h, pay in ((ha, pa), (hc, pc)):
        got = [f for f in frames if f.header == h]
        assert len(got) == 1 and got[0].complete
        assert np.max(np.abs(got[0].symbols - pay)) < 0.05


@fuzz(20, slow=True)
@given(DAMAGE, st.integers(0, 2**32 - 1))
def test_intact_frames_decode_next_to_a_damaged_one(ops, seed):
    rng = np.random.default_rng(seed)
    frames, _ = Modem().demodulate(_stream_around(_damage(_three_frames()[1][2], ops, rng)))
    _check_intact_frames(frames)


@fuzz(6, slow=True)
@given(DAMAGE, st.lists(st.integers(500, 6000), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_streamed_in_chunks_intact_frames_decode_once(ops, chunks, seed):
    rng = np.random.default_rng(seed)
    x = _stream_around(_damage(_three_frames()[1][2], ops, rng))
    rx, at = StreamReceiver(), 0
    for n in chunks:
        rx.feed(x[at : at + n])
        at += n
    rx.feed(x[at:])
    rx.finish()
    _check_intact_frames(rx.frames)


# ---- reassembly ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Sent:
    key: str
    frame: object


@functools.cache
def _pool() -> tuple[dict, list[_Sent]]:
    """Demodulated frames of four messages (two share msg_id 1), a cut-off frame and a
    header CRC failure: {key: payload}, [frames]."""
    modem, rng = Modem(), np.random.default_rng(3)
    sent, pool = {}, []
    for key, template, n in (("x", Header(msg_id=1, height=8, width=8), 45_000),
                             ("z", Header(msg_id=1, height=4, width=4), 25_000),
                             ("y", Header(msg_id=2, height=2, width=2), 300)):
        pay = _unit(rng, n)
        frames, _ = modem.demodulate(transmit(modem, template, pay))
        assert all(f.crc_ok and f.complete for f in frames)
        sent[key] = pay
        pool += [_Sent(key, f) for f in frames]
    data = rng.integers(0, 256, 200, dtype=np.uint8).tobytes()
    (frame,), _ = modem.demodulate(transmit(modem, Header(msg_id=3, mode=MODE_DIGITAL, mcs=1), data))
    assert symbols_to_bytes(frame.symbols, frame.no, 1, len(data)) == data
    sent["d"] = data
    pool.append(_Sent("d", frame))
    cut = transmit(modem, Header(msg_id=4), _unit(rng, 5000))
    pool += [_Sent("cut", f) for f in modem.demodulate(cut[: cut.size // 2])[0]]
    broken = cut.copy()
    broken[500:1500] = _unit(rng, 1000) * 3
    pool += [_Sent("broken", f) for f in modem.demodulate(broken)[0]]
    assert {s.key for s in pool} == {"x", "z", "y", "d", "cut", "broken"}
    assert not any(s.frame.complete for s in pool if s.key == "cut")
    assert not any(s.frame.crc_ok for s in pool if s.key == "broken")
    return sent, pool


def _usable(s: _Sent) -> bool:
    return s.frame.crc_ok and s.frame.complete and not getattr(s.frame, "damaged", False)


@fuzz(300)
@given(st.lists(st.integers(0, 10**6), max_size=24))
def test_reassembled_message_holds_only_what_was_sent(picks):
    sent, pool = _pool()
    order = [pool[i % len(pool)] for i in picks]
    ra = Reassembler()
    for s in order:
        ra.add(s.frame)
    assert ra.crc_failures == sum(not s.frame.crc_ok for s in order)
    for msg_id in ra.msg_ids():
        m = ra.message(msg_id)
        mine = [s for s in order if _usable(s) and s.frame.header.msg_id == msg_id]
        key = mine[0].key
        first = {}
        for s in mine:
            if s.key == key:
                first.setdefault(s.frame.header.seq, s.frame)
        assert m.frames.keys() == first.keys() and all(m.frames[q] is f for q, f in first.items())
        assert m.lost == [q for q in range(m.header.n_frames) if q not in first]
        if key == "d":
            continue
        expected = np.zeros(len(sent[key]), bool)
        for s in mine:
            if s.key == key:
                expected[s.frame.header.offset : s.frame.header.offset + s.frame.header.n_units] = True
        assert np.array_equal(m.received, expected)
        assert np.max(np.abs(m.values[m.received] - sent[key][m.received]), initial=0) < 0.05


receivable_headers = st.builds(
    Header, mode=st.sampled_from([MODE_ANALOG, MODE_DIGITAL]), mcs=st.sampled_from(sorted(MCS)),
    msg_id=st.integers(0, 3), seq=st.integers(0, 5), n_frames=st.integers(0, 6), n_units=st.integers(0, 3000),
    offset=st.integers(0, 6000), total=st.integers(0, 6000), height=st.integers(0, 2), width=st.integers(0, 2))


@fuzz(400)
@given(st.lists(st.tuples(receivable_headers, st.booleans()), max_size=12))
def test_reassembler_never_raises_on_any_header_fields(items):
    ra = Reassembler()
    for h, complete in items:
        n = h.n_units if h.mode == MODE_ANALOG else 0
        ra.add(Frame(header=h, symbols=np.ones(n, np.complex64), no=np.ones(n, np.float32), start=0,
                     snr_db=10.0, cfo=0.0, crc_ok=True, complete=complete))
    for msg_id in ra.msg_ids():
        m = ra.message(msg_id)
        assert m.received.size == m.header.total
        common = dataclasses.replace(m.header, seq=0, offset=0, n_units=0)
        for f in m.frames.values():
            assert dataclasses.replace(f.header, seq=0, offset=0, n_units=0) == common
            assert f.header.seq < f.header.n_frames and f.header.offset + f.header.n_units <= f.header.total
