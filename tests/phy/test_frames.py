import numpy as np
import pytest

from privsem.channel import CFO, Delay, Multipath, RadioChannel
from privsem.phy import MODE_DIGITAL, Header, Modem, Reassembler, entity_tag, resolve_tag, transmit
from privsem.phy.digital import symbols_to_bytes
from privsem.phy.header import Header as H


def test_header_pack_crc_and_fields():
    h = H(mode=1, codec_id=2, mcs=1, flags=1, msg_id=65535, seq=3, n_frames=9, height=300,
          width=451, n_units=1234567, offset=42, total=99, tag=b"12345678")
    raw = h.pack()
    assert len(raw) == 39 and H.unpack(raw) == h
    for i in range(len(raw)):  # every single-byte corruption is caught by the CRC-32
        bad = bytearray(raw)
        bad[i] ^= 0x5A
        assert H.unpack(bytes(bad)) is None


def test_entity_tag_needs_the_key():
    key = bytes(range(32))
    tag = entity_tag(key, "chelsea")
    assert len(tag) == 8 and tag != entity_tag(bytes(32), "chelsea")
    assert resolve_tag(key, tag, ["astronaut", "chelsea"]) == "chelsea"
    assert resolve_tag(bytes(32), tag, ["astronaut", "chelsea"]) is None
    assert b"chelsea" not in H(tag=tag).pack()


def test_multi_frame_message_and_loss_report():
    modem = Modem()
    rng = np.random.default_rng(1)
    x = ((rng.standard_normal(45_000) + 1j * rng.standard_normal(45_000)) / np.sqrt(2)).astype(np.complex64)
    y = RadioChannel(1, [Delay(), CFO(0.01), Multipath()])(transmit(modem, Header(msg_id=7), x), 20.0).y
    frames, _ = modem.demodulate(y)
    assert [f.header.seq for f in frames] == [0, 1, 2]
    r = Reassembler()
    for f in frames:
        if f.header.seq != 1:  # frame 1 "lost"
            r.add(f)
    r.add(frames[0])  # a duplicate changes nothing
    msg = r.message(7)
    assert msg.lost == [1] and msg.lost_units == [(20_000, 20_000)]
    assert msg.received.sum() == 25_000 and not msg.received[20_000:40_000].any()
    assert np.all(msg.values[20_000:40_000] == 0)
    err = np.mean(np.abs(msg.values[:20_000] - x[:20_000]) ** 2)
    assert 10 * np.log10(1 / err) > 12


def test_digital_payload_bytes_equal():
    modem = Modem()
    data = bytes(np.random.default_rng(2).integers(0, 256, 6000, dtype=np.uint8))
    y = RadioChannel(2, [Delay(), CFO(-0.01), Multipath()])(
        transmit(modem, Header(msg_id=8, mode=MODE_DIGITAL, mcs=1), data), 15.0).y
    frames, _ = modem.demodulate(y)
    assert all(f.crc_ok for f in frames) and len(frames) == 2
    out = b"".join(symbols_to_bytes(f.symbols, f.no, f.header.mcs, f.header.n_units) for f in frames)
    assert out == data


def test_streaming_keeps_an_incomplete_frame():
    modem = Modem()
    x = np.ones(5000, np.complex64)
    tx = np.concatenate([np.zeros(300, np.complex64), modem.modulate(Header(n_units=5000, total=5000), x)])
    frames, consumed = modem.demodulate(tx[: tx.size // 2], final=False)
    assert frames == [] and consumed <= 300
    frames, _ = modem.demodulate(tx[consumed:], final=True)
    assert len(frames) == 1 and frames[0].complete


def test_payload_mismatch_is_rejected():
    with pytest.raises(ValueError):
        Modem().modulate(Header(n_units=10), np.ones(11, np.complex64))


@pytest.mark.parametrize("n, win", [(214, 17), (10, 9), (3, 3), (17, 17)])
def test_local_line_is_savitzky_golay_order_1(n, win):
    from scipy.signal import savgol_filter

    from privsem.phy.modem import local_line

    y = np.random.default_rng(n).random(n) + 0.1 * np.arange(n)
    np.testing.assert_allclose(local_line(y, win), savgol_filter(y, win, 1, mode="interp"), atol=1e-12)
