"""The receiver gives softcast, hda and the digital code zero-forced symbols with their own
noise variances (lost frames as erasures), and only a sustained pilot error marks a frame
damaged (issue 21: through the PHY within 1 dB of the ideal link)."""

import warnings
from dataclasses import replace

import numpy as np

from privsem.bench.codec_phy import _keep, _no_guard, through_phy
from privsem.codec.data import named_image
from privsem.codec.link import send_zf
from privsem.codec.softcast import SoftCastCodec
from privsem.metrics import psnr
from privsem.phy import Header, Modem
from privsem.phy.framing import LOST_NO, split
from privsem.phy.modem import sustained, unbias
from privsem.pipeline import StreamReceiver, receive_image, transmit_image


def _img():
    return np.ascontiguousarray(named_image("coffee")[80:272, 200:456])  # 192×256, held out


def test_softcast_through_the_radio_chain_matches_the_ideal_link():
    img, codec = _img(), SoftCastCodec("1/6", refiner=None)
    ideal = psnr(img, send_zf(codec, img, "awgn", 10.0, seed=1))
    radio = psnr(img, through_phy(codec, img, "awgn", 10.0, seed=1, multipath=False))
    assert abs(radio - ideal) < 1.0, (radio, ideal)
    multipath = through_phy(codec, img, "awgn", 10.0, seed=1, multipath=True)
    assert psnr(img, multipath) > ideal - 4.0


def test_zero_forced_values_undo_the_mmse_shrink_and_mark_lost_frames():
    rng = np.random.default_rng(0)
    x = ((rng.standard_normal(50000) + 1j * rng.standard_normal(50000)) / np.sqrt(2)).astype(np.complex64)
    h = Header(msg_id=5)
    h = replace(h, n_frames=len(split(h, x)), total=x.size)
    frames = split(h, x)
    assert len(frames) >= 2
    modem = Modem()
    gap = np.zeros(256, np.complex64)
    # the second frame never arrives
    s = np.concatenate([np.concatenate([modem.modulate(fh, c), gap]) for i, (fh, c) in enumerate(frames) if i != 1])
    y = (s * 0.5 + (rng.standard_normal(s.size) + 1j * rng.standard_normal(s.size)) * 0.5 * 10 ** (-20 / 20) / np.sqrt(2))
    rx = StreamReceiver()
    rx.feed(np.concatenate([np.zeros(500, np.complex64), y.astype(np.complex64), np.zeros(4000, np.complex64)]))
    rx.finish()
    msg = rx.reassembler.message(5)
    assert msg.lost == [1]
    zf, no = msg.zero_forced()
    lost = ~msg.received
    assert lost.sum() == frames[1][0].n_units and np.all(no[lost] == LOST_NO) and np.all(zf[lost] == 0)
    ok = ~lost
    assert np.all(no[ok] < 0.1)
    # MMSE-equalized values are shrunk towards 0; zero-forced ones are unbiased
    gain = lambda v: np.real(np.vdot(x[ok], v[ok])) / np.vdot(x[ok], x[ok]).real
    assert gain(msg.values) < gain(zf) and abs(gain(zf) - 1) < 0.01
    np.testing.assert_allclose(zf, unbias(msg.values, no), rtol=1e-6)


def test_a_lost_frame_costs_softcast_part_of_the_picture_not_all_of_it():
    img, codec = named_image("coffee"), SoftCastCodec("1/6", refiner=None)  # 400×600: 6 frames
    tx = transmit_image(img, _no_guard, codec, b"key", 15.0)
    starts = [i for i in range(1, tx.samples.size) if tx.samples[i - 1] == 0 and tx.samples[i] != 0]
    assert tx.header.n_frames >= 3 and len(starts) == tx.header.n_frames - 1
    cut = tx.samples.copy()
    cut[starts[-1]:] = 0  # the last frame is lost
    rx = StreamReceiver()
    rx.feed(np.concatenate([cut, np.zeros(4000, np.complex64)]))
    rx.finish()
    msg = rx.reassembler.message(tx.header.msg_id)
    assert msg.lost == [tx.header.n_frames - 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the metadata survives: no CRC warning
        got = receive_image(msg, None, _keep, "eve").a_hat
    assert psnr(img, got) > 22.0


def test_only_a_sustained_pilot_error_marks_a_frame_damaged():
    one = np.array([1.0, 14.6, 1.2, 0.9], np.float32)
    two = np.array([1.0, 14.6, 12.0, 0.9], np.float32)
    assert sustained(one).max() < 10 < sustained(two).max()
    assert sustained(np.array([30.0], np.float32)).max() == 30.0


def test_nothing_removed_means_no_hole_even_in_dark_areas():
    """A picture the guard left whole (the header's tag says no entity) keeps its dark
    areas: the receiver does not take them for a hole and paint into them (it did, for
    codes that send the mask: `privsem eval`'s noguard rows on dark backgrounds fell to
    7 dB)."""
    img = _img().copy()
    img[40:150, 60:200] = 0.0  # a black area as large as a removed entity
    res = _eve_receives(img, _no_guard, b"key")
    assert not res.mask_hat.any() and np.array_equal(res.recovered, res.a_hat)
    assert psnr(img, res.recovered) > 30.0


def _eve_receives(img, guard, key: bytes):
    """Send ``img`` through the PHY with softcast at 15 dB; Eve (no DB) receives it with a
    recovery that paints whatever she takes for the hole white."""
    tx = transmit_image(img, guard, SoftCastCodec("1/6", refiner=None), key, 15.0)
    rx = StreamReceiver()
    rx.feed(np.concatenate([tx.samples, np.zeros(4000, np.complex64)]))
    rx.finish()
    painted = lambda a_hat, mask_hat, embedding, seed=0: np.where(mask_hat[..., None], 1.0, a_hat)
    return receive_image(rx.reassembler.message(tx.header.msg_id), None, painted, "eve")


def test_eve_without_the_key_does_not_take_dark_areas_for_the_sealed_hole():
    """With the mask sealed, the hole is filled with texture: Eve, who cannot open the
    mask, recovers nothing rather than painting the picture's own dark areas (she did:
    the black corners of the retina scenes in `privsem eval`'s Fig. 4)."""
    from types import SimpleNamespace

    img = _img().copy()
    img[:60, :80] = 0.0  # a dark corner of the picture itself
    removed = np.zeros(img.shape[:2], bool)
    removed[90:170, 120:220] = True
    guard = lambda image: SimpleNamespace(mask=removed, entity="cat", prompt="the cat", score=1.0)
    res = _eve_receives(img, guard, b"k" * 32)
    assert not res.mask_hat.any() and np.array_equal(res.recovered, res.a_hat)
    assert psnr(img[~removed], res.recovered[~removed]) > 28.0
