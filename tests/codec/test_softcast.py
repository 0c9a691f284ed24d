"""The linear analog code (issue 21): budget, power, LMMSE decoding, metadata, the mask
as side information, header ids, and bad input."""

import numpy as np
import pytest

from privsem.channel import build_channel
from privsem.codec.data import named_image
from privsem.codec.registry import (
    CODEC_IDS,
    codec_for_header,
    kn_from_symbols,
    make_codec,
    resolve_codec,
)
from privsem.codec.separated import SeparatedCodec, channel_uses
from privsem.codec.softcast import (
    SoftCastCodec,
    despread_lmmse,
    pack_mask,
    spread,
    unpack_mask,
)
from privsem.errors import PrivsemError
from privsem.metrics import psnr
from privsem.phy import PilotBlockModem


@pytest.fixture(scope="module")
def photo():
    """A 160×200 crop of a held-out photo (not a multiple of the 16-coefficient chunk)."""
    return np.ascontiguousarray(named_image("coffee")[60:220, 180:380])


def _send(codec, img, snr_db, channel="awgn", seed=0, design=None, mask=None):
    x = codec.encode(img.transpose(2, 0, 1)[None], snr_db if design is None else design, mask=mask)[0]
    modem = PilotBlockModem()
    ch = build_channel(channel, seed=seed)(modem.modulate(x), snr_db)
    y, no = modem.demodulate_zf(ch.y, x.size, ch.no)
    return x, codec.decode(y[None], snr_db, img.shape[:2], codec.last_side, no=no[None])[0].transpose(1, 2, 0)


def test_budget_power_and_layout(photo):
    codec = SoftCastCodec("1/6")
    shape = photo.shape[:2]
    x = codec.encode(photo.transpose(2, 0, 1)[None], 10.0)[0]
    assert x.shape == (channel_uses(shape, codec.kn),) and x.dtype == np.complex64  # metadata included
    assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, abs=2e-3)
    lay = codec.layout(shape, codec.last_side[0])
    both = np.concatenate([lay.meta_pos, lay.analog_pos])
    assert np.array_equal(np.sort(both), np.arange(x.size))  # every symbol is metadata or analog, once
    assert lay.meta_cw == codec.last_side[0] & 0x7F and lay.sizes.sum() == 3 * shape[0] * shape[1]


def test_quality_rises_with_snr_without_a_cliff(photo):
    """LMMSE decoding: more SNR, more dB; a link built for 10 dB run at 5 dB loses a
    little, not everything (digital would be grey)."""
    codec = SoftCastCodec("1/6")
    q = {s: psnr(photo, _send(codec, photo, s)[1]) for s in (0.0, 10.0, 20.0)}
    assert codec.last_ok == [True]
    assert q[20.0] > q[10.0] + 2.0 > q[0.0] + 4.0
    assert q[0.0] > 20.0
    mismatched = psnr(photo, _send(codec, photo, 5.0, design=10.0)[1])
    assert mismatched > q[0.0] + 1.0


def test_rayleigh_fading_is_spread_over_every_coefficient(photo):
    """Block fading with pilots: Hadamard spreading and the per-symbol LMMSE keep the
    picture (without spreading the deep fades wipe out whole coefficients)."""
    codec = SoftCastCodec("1/6")
    rec = _send(codec, photo, 15.0, "rayleigh", seed=4)[1]
    assert codec.last_ok == [True] and psnr(photo, rec) > 24.0


def test_spreading_is_orthonormal_and_lmmse_inverts_it():
    rng = np.random.default_rng(0)
    s = (rng.normal(size=200) + 1j * rng.normal(size=200)) * np.repeat([3.0, 0.1], 100)
    z = spread(s)
    assert np.sum(np.abs(z) ** 2) == pytest.approx(np.sum(np.abs(s) ** 2))
    p = np.repeat(np.abs(np.repeat([3.0, 0.1], 100)) ** 2, 2)
    est = despread_lmmse(z, p, np.full(200, 1e-9))  # no noise: exact
    assert np.allclose(est[0::2] + 1j * est[1::2], s, atol=1e-6)


def test_mask_goes_as_side_information(photo):
    """The hole is filled before the transform and its mask comes back at the receiver,
    a superset of the true one by at most a cell."""
    mask = np.zeros(photo.shape[:2], bool)
    mask[40:120, 50:130] = True
    codec = SoftCastCodec("1/6")
    _, rec = _send(codec, photo, 10.0, mask=mask[None])
    got = codec.last_mask[0]
    assert got is not None and got[mask].all() and got.sum() <= mask.sum() * 1.2
    assert np.array_equal(unpack_mask(pack_mask(mask, 1), mask.shape, 1), mask)
    outside = ~got
    assert psnr(photo[outside], rec[outside]) > 24.0


def test_lost_metadata_is_said_and_grey(photo):
    codec = SoftCastCodec("1/6")
    x = codec.encode(photo.transpose(2, 0, 1)[None], 10.0)
    lay = codec.layout(photo.shape[:2], codec.last_side[0])
    y = x.copy()
    y[0, lay.meta_pos] = -y[0, lay.meta_pos]  # every metadata bit flipped
    out = codec.decode(y, 30.0, photo.shape[:2], codec.last_side)
    assert codec.last_ok == [False] and np.all(out == 0.5)


@pytest.mark.parametrize("shape,kn,msg", [((16, 16), "1/24", "too few for softcast's metadata"),
                                          ((96, 96), "1/6", "too few for softcast's metadata")])
def test_bad_sizes_and_header_bytes_are_one_line(shape, kn, msg):
    codec = SoftCastCodec(kn)
    with pytest.raises(PrivsemError, match=msg):
        if shape == (16, 16):
            codec.encode(np.zeros((1, 3, *shape), np.float32), 10.0)
        else:
            codec.layout(shape, 0x7F)  # a header byte claiming 127 metadata codewords
    with pytest.raises(PrivsemError, match="do not fit"):
        SoftCastCodec("1/6").decode(np.zeros((1, 100), np.complex64), 10.0, (64, 64), 1)


def test_registry_and_header_ids(photo):
    from privsem.codec.auto import AutoCodec
    from privsem.codec.registry import DEFAULT_CODEC

    assert CODEC_IDS["softcast"] == 3 and "auto" not in CODEC_IDS  # auto is never in a header
    assert DEFAULT_CODEC == "auto" and isinstance(resolve_codec(None), AutoCodec)
    assert isinstance(resolve_codec("softcast"), SoftCastCodec)
    assert isinstance(make_codec("digital", "1/12"), SeparatedCodec)
    n = channel_uses(photo.shape[:2], SoftCastCodec("1/12").kn)
    assert str(kn_from_symbols(n, photo.shape[:2])) == "1/12"
    built = codec_for_header(CODEC_IDS["softcast"], n, photo.shape[:2], current=make_codec("jscc"))
    assert isinstance(built, SoftCastCodec) and str(built.kn) == "1/12"
    with pytest.raises(PrivsemError, match="codec id 9"):
        codec_for_header(9, n, photo.shape[:2])
    with pytest.raises(PrivsemError, match="neither a codec"):
        resolve_codec("nonesuch")
    with pytest.raises(PrivsemError, match="has no weights"):
        make_codec("softcast", None, "x.safetensors")


def test_digital_mcs_travels_in_the_header(photo):
    """The receiver demaps with the sender's MCS even when its own SNR estimate would
    pick another (before, Bob at 10.9 dB and a sender built for 10 dB disagreed)."""
    codec = SeparatedCodec("webp", "1/6")
    x = codec.encode(photo.transpose(2, 0, 1)[None], 10.0)
    side = codec.last_side
    rx = SeparatedCodec("webp", "1/6")
    out = rx.decode(x, 30.0, photo.shape[:2], side)  # noiseless, but told 30 dB
    assert rx.last_ok == [True] and psnr(photo, out.transpose(0, 2, 3, 1)[0]) > 25.0
    with pytest.raises(PrivsemError, match="MCS 99"):
        rx.decode(x, 10.0, photo.shape[:2], 99)


def test_sealed_mask_only_opens_with_the_db_key(photo):
    """Sealed with the DB key, the outline reaches Bob and not Eve (nor a wrong key); the
    picture itself decodes for both."""
    mask = np.zeros(photo.shape[:2], bool)
    mask[40:120, 50:130] = True
    codec = SoftCastCodec("1/6")
    key = bytes(range(32))
    x = codec.encode(photo.transpose(2, 0, 1)[None], 20.0, mask=mask[None], seal_key=key)
    side = codec.last_side
    bob = codec.decode(x, 30.0, photo.shape[:2], side, seal_key=key)
    assert codec.last_ok == [True] and codec.last_mask[0] is not None and codec.last_mask[0][mask].all()
    for other in (None, bytes(32)):
        eve = codec.decode(x, 30.0, photo.shape[:2], side, seal_key=other)
        assert codec.last_ok == [True] and codec.last_mask[0] is None
        assert np.array_equal(eve, bob)  # the same picture, without the outline
    # the same mask gives the same sealed bytes (a keyed-hash nonce), so runs stay reproducible
    assert np.array_equal(codec.encode(photo.transpose(2, 0, 1)[None], 20.0, mask=mask[None], seal_key=key), x)


def _lmmse_mse(lam, sizes, sent, p, N):
    """Expected coefficient error of a linear code: Σ size λ N / (p + N), unsent chunks λ."""
    err = lam * sizes
    err[sent] = err[sent] * N / (p + N)
    return err.sum()


@pytest.mark.parametrize("design", [0.0, 10.0, 25.0])
def test_power_split_is_water_filling_for_the_lmmse_receiver(photo, design):
    """The plan spends exactly the budget, gives stronger chunks more energy, satisfies the
    water-filling condition (λ N / (p + N)² equal over the sent chunks), drops weak chunks
    at low design SNR and beats SoftCast's plain g ∝ λ^(−1/4) in expected MSE."""
    codec = SoftCastCodec("1/6", refiner=None)
    codec.encode(photo.transpose(2, 0, 1)[None], design)
    lay = codec.layout(photo.shape[:2], codec.last_side[0])
    from scipy.fft import dctn

    from privsem.codec.softcast import COLOUR

    x = np.einsum("ij,jhw->ihw", COLOUR, photo.transpose(2, 0, 1).astype(np.float64))
    coeffs = dctn(x - x.mean(axis=(1, 2), keepdims=True), axes=(1, 2), norm="ortho")
    q = codec._quantize(np.array([np.mean(c * c) for c in codec._chunks(coeffs, lay)]))
    lam, sizes, n_a = codec._energy(q), lay.sizes, lay.analog_pos.size
    sent, g = codec._plan(q, sizes, n_a, design)
    p = g * g * lam[sent]
    N = 10 ** (-design / 10) / 2
    assert np.sum(sizes[sent] * p) == pytest.approx(n_a, rel=1e-9)
    assert np.all(np.diff(p[np.argsort(-lam[sent], kind="stable")]) <= 1e-12) and np.all(p > 0)
    slope = lam[sent] * N / (p + N) ** 2
    assert slope.max() / slope.min() == pytest.approx(1.0, abs=1e-9)
    # the strongest unsent candidate would not be worth a first joule: its slope λ/N is ≤ the level
    fits = np.argsort(-lam, kind="stable")
    fits = fits[(lam[fits] > 0) & (np.cumsum(sizes[fits]) <= 2 * n_a)]
    dropped = np.setdiff1d(fits, sent)
    if dropped.size:
        assert lam[dropped].max() / N <= slope[0] * (1 + 1e-9)
    # SoftCast's split over every candidate that fits, for comparison
    c = np.sqrt(n_a / np.sum(sizes[fits] * np.sqrt(lam[fits])))
    mse_wf = _lmmse_mse(lam, sizes, sent, p, N)
    mse_sc = _lmmse_mse(lam, sizes, fits, c * c * np.sqrt(lam[fits]), N)
    assert mse_wf <= mse_sc * (1 + 1e-12)
    if design == 0.0:
        assert dropped.size > 0.3 * fits.size and mse_wf < 0.9 * mse_sc  # a real gain where it matters
    if design == 25.0:
        assert dropped.size < 0.05 * fits.size


def test_design_snr_travels_in_the_metadata(photo):
    """The receiver rebuilds the power split from the metadata: links built for 0 and for
    20 dB both decode at 20 dB by a receiver told nothing else; the 0-dB link sends fewer
    chunks, so the 20-dB link gains more from the clean channel."""
    codec = SoftCastCodec("1/6", refiner=None)
    q0 = psnr(photo, _send(codec, photo, 20.0, design=0.0)[1])
    assert codec.last_ok == [True]
    q20 = psnr(photo, _send(codec, photo, 20.0, design=20.0)[1])
    assert codec.last_ok == [True]
    assert q20 > q0 + 2.0 and q0 > 24.0


def test_placement_hint_travels_only_sealed(photo):
    """Bytes given as a hint ride in the sealed blob after the mask: Bob reads them, a
    wrong key reads nothing, and a mask sent in the clear takes no hint along."""
    mask = np.zeros(photo.shape[:2], bool)
    mask[40:120, 50:130] = True
    hint = bytes(range(100, 160))
    codec = SoftCastCodec("1/6")
    key = bytes(range(32))
    img = photo.transpose(2, 0, 1)[None]
    x = codec.encode(img, 20.0, mask=mask[None], seal_key=key, hints=[hint])
    side = codec.last_side
    codec.decode(x, 30.0, photo.shape[:2], side, seal_key=key)
    assert codec.last_hint == [hint] and codec.last_mask[0][mask].all()
    codec.decode(x, 30.0, photo.shape[:2], side, seal_key=bytes(32))
    assert codec.last_hint == [None] and codec.last_mask == [None]
    x = codec.encode(img, 20.0, mask=mask[None], hints=[hint])
    codec.decode(x, 30.0, photo.shape[:2], codec.last_side)
    assert codec.last_hint == [None] and codec.last_mask[0][mask].all()
