"""A linear analog code in the manner of SoftCast (Jakubczak & Katabi, 2011).

The image is decorrelated (an orthonormal colour transform, then a full-frame DCT per
channel), the coefficients are cut into chunks of ``chunk × chunk`` frequencies, and
each chunk's energy λ goes to the receiver as digital metadata. The sender keeps the
chunks of highest energy that fit the channel-use budget and scales every coefficient
of chunk i by ``g_i ∝ λ_i^(−1/4)`` (the MSE-optimal power split of a linear code), at
unit mean power; two real coefficients make one complex symbol. The receiver's
estimate is the LMMSE one, ``x̂ = g λ / (g² λ + σ²) · y``, with σ² from its SNR
estimate (or a noise variance per symbol after equalization). Error falls smoothly as
the SNR rises, with no cliff: the analog half of the paper's JSCC promise without a
learned model.

Every transform is orthonormal, so the MSE of the coefficients is the MSE of the pixels.
As in SoftCast, the analog symbols are whitened by a Walsh–Hadamard transform over groups
of :data:`SPREAD` symbols scattered over the frame: a deep fade or a lost frame then
costs every coefficient a little instead of some coefficients everything; the receiver's
LMMSE estimate takes each symbol's own noise variance (after zero-forcing) into account.
Over AWGN the spreading changes nothing.

The removed region costs almost no power: given the guard's mask, the sender fills the
hole from its surroundings before the transform (no black hole whose sharp edge would
spend coefficients), and sends the mask, max-pooled to a grid of at most
:data:`MASK_SIDE` cells and deflated, with the metadata: both receivers then know M̂
(a superset of M by at most one cell) instead of estimating it from a noisy black area.
Sealed with the DB key, only Bob learns M̂; the fill then carries the background's own
texture, so that Eve finds no flat patch in its place either (:mod:`.fill`).

Metadata (the three colour means, each sent chunk's quantized log-energy, the mask; a CRC-32)
is 5G-LDPC coded with QPSK and spread evenly over the symbols; it is counted in the
budget: ``n_symbols(shape)`` is the same as the JSCC's and the digital baseline's. A
receiver whose metadata fails its CRC cannot tell which coefficients it holds: it says
so (``last_ok``) and returns mid-grey, like a digital outage.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import PrivsemError
from ..phy.digital import (
    LDPC_N,
    ldpc_decode_checked,
    ldpc_encode,
    qam_llr,
    qam_map,
)
from .base import MaskedLinearCode, parse_kn
from .outcome import LmmseError, SoftCastOutcome
from .separated import MCS_THRESHOLD_DB, ChannelUseBudget, deinterleave, interleaver

# Orthonormal colour transform (luma, blue–red, green–magenta): close to the KLT of
# natural photos' RGB, and unlike YCbCr it keeps pixel MSE equal to coefficient MSE.
COLOUR = np.array([[1, 1, 1], [1, 0, -1], [1, -2, 1]], np.float64) / np.sqrt([[3], [2], [6]])
CHUNK = 16  # smallest chunk side in coefficients (chosen by measurement, docs/codec.md)
MAX_GRID = 32  # chunks per side and channel at most: larger images get larger chunks, metadata stays small
LOG_STEPS = 2  # quantization steps per octave of chunk energy (1.5 dB)
LOG_MIN = -40  # log2 energies below this are "empty" (byte 0)
LOW_RATE_BELOW_DB = 12.5  # links built for less than this send the metadata at QPSK rate 1/4, others at 1/2 (docs/codec.md)
HEAD_BYTES, CRC_BYTES = 10, 4  # colour means, power trim, design SNR, flags; CRC-32
DESIGN_STEP, DESIGN_MIN = 0.25, -20.0  # the design SNR byte: dB = DESIGN_MIN + DESIGN_STEP·byte
FLAG_MASK = 1  # the removed region's mask follows the chunk energies
FLAG_SEALED = 2  # ... sealed with the DB key (AES-256-GCM): only Bob reads it
FLAG_LAYER = 4  # one byte after the head: the analog layer's power share under a digital one (superposed code)
SEAL_INFO = b"privsem-mask-seal-1"
MASK_SIDE = 128  # the mask is sent on a grid of at most this many cells on its long side
MAX_META_CW = 127  # the header byte holds the codeword count in 7 bits
SPREAD = 32  # analog symbols per Walsh–Hadamard group: each coefficient rides on 32 scattered symbols


@dataclass(frozen=True)
class Layout:
    """Where everything goes for one image size, budget and metadata size.

    Attributes:
        shape: (H, W) of the image; ``edges`` the chunk boundaries along H and W.
        n: complex symbols in all; ``meta_pos`` int64 indices of the metadata's QPSK
            symbols in them (spread evenly), ``analog_pos`` the rest in a fixed
            pseudo-random order (a fade or a lost frame hits scattered coefficients).
        meta_k: info bits per LDPC codeword; ``meta_cw`` codewords.
    """

    shape: tuple[int, int]
    edges: tuple[np.ndarray, np.ndarray]
    n: int
    meta_k: int
    meta_cw: int
    meta_pos: np.ndarray
    analog_pos: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        """Coefficients per chunk, channel-major then row, column: int64 ``(3·gh·gw,)``."""
        he, we = self.edges
        return np.tile(np.outer(np.diff(he), np.diff(we)).reshape(-1), 3)

    @property
    def side_byte(self) -> int:
        """The header's ``mcs`` byte for this layout: bit 7 rate 1/4, bits 0–6 codewords."""
        return (0x80 if self.meta_k < LDPC_N // 2 - 8 else 0) | self.meta_cw


def _edges(size: int, chunk: int) -> np.ndarray:
    return np.minimum(np.arange(0, size + chunk, chunk), size)[: -(-size // chunk) + 1]


@functools.lru_cache(maxsize=64)
def spread_positions(n: int, n_meta: int) -> tuple[np.ndarray, np.ndarray]:
    """Of ``n`` symbols: (``n_meta`` positions spread evenly; the rest in a fixed
    pseudo-random order), int64, read-only: encoder and decoder ask for the same few
    layouts again and again. A lost frame so takes an even share of both."""
    meta_pos = np.floor(np.arange(n_meta) * (n / n_meta)).astype(np.int64)
    free = np.ones(n, bool)
    free[meta_pos] = False
    rest = np.flatnonzero(free)
    analog_pos = rest[np.random.default_rng(n).permutation(rest.size)]
    meta_pos.flags.writeable = analog_pos.flags.writeable = False
    return meta_pos, analog_pos


@functools.lru_cache(maxsize=4)
def _hadamard(n: int) -> np.ndarray:
    from scipy.linalg import hadamard

    h = hadamard(n).astype(np.float64) / np.sqrt(n)
    h.flags.writeable = False
    return h


def _groups(m: int) -> np.ndarray:
    """int64 ``(G, SPREAD)``: the symbols of each Walsh–Hadamard group. Group ``j`` takes
    every ``G``-th symbol from ``j`` on, so that the few large low-frequency values (sent
    first) are shared out among all groups instead of filling one (whose sum would then
    peak: a high peak-to-average power turns channel-estimation error into noise)."""
    G = m // SPREAD
    return np.arange(G * SPREAD).reshape(SPREAD, G).T


def spread(s: np.ndarray) -> np.ndarray:
    """complex ``(m,)`` → complex ``(m,)``: Walsh–Hadamard over the groups of
    :func:`_groups` (a tail shorter than a group is sent as it is); orthonormal, so the
    power is kept."""
    idx = _groups(s.size)
    out = s.copy()
    out[idx] = s[idx] @ _hadamard(SPREAD)
    return out


def despread_lmmse(y: np.ndarray, p: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """LMMSE estimate of the real signal values under :func:`spread`.

    Args:
        y: complex ``(m,)`` zero-forced received symbols.
        p: float ``(2m,)`` prior variance of each real value (real, imaginary
            interleaved; 0 where nothing was sent).
        nu: float ``(m,)`` complex noise variance of each received symbol.

    Returns:
        float ``(2m,)`` estimates of the real values (the Hadamard matrix is real, so the
        real and imaginary parts are two separate problems ``y = H u + w``).
    """
    idx = _groups(y.size)
    H = _hadamard(SPREAD)  # symmetric: y = u H in row form is y = H u per group
    out = np.empty(2 * y.size)
    for part, yy in ((0, y.real), (1, y.imag)):
        pp, nn = p[part::2], nu / 2
        est = pp / (pp + nn) * yy  # the unspread tail
        if idx.size:
            P, N, Y = pp[idx], nn[idx], yy[idx]
            # û = P H (H P H + N)⁻¹ y per group; where N is one value n (AWGN), H P H + n I
            # = H (P + n I) H with H H = I, so û = P (P + n I)⁻¹ H y: no solve needed
            flat = np.ptp(N, axis=1) == 0
            est[idx[flat]] = P[flat] / (P[flat] + N[flat]) * (Y[flat] @ H)
            if not flat.all():
                g = ~flat
                A = (H[None] * P[g][:, None, :]) @ H
                A[:, np.arange(SPREAD), np.arange(SPREAD)] += N[g]
                z = np.linalg.solve(A, Y[g][..., None])[..., 0]
                est[idx[g]] = P[g] * (z @ H)
        out[part::2] = est
    return out


def mask_cell(shape: tuple[int, int]) -> int:
    """Pixels per side of a mask cell: the mask goes on a grid of at most :data:`MASK_SIDE`."""
    return max(1, -(-max(shape) // MASK_SIDE))


def _pooled(mask: np.ndarray, cell: int) -> np.ndarray:
    """bool ``(H, W)`` → bool ``(⌈H/cell⌉, ⌈W/cell⌉)``: a cell is set if any pixel is."""
    H, W = mask.shape
    gh, gw = -(-H // cell), -(-W // cell)
    pad = np.zeros((gh * cell, gw * cell), bool)
    pad[:H, :W] = mask
    return pad.reshape(gh, cell, gw, cell).any(axis=(1, 3))


def _upsampled(grid: np.ndarray, shape: tuple[int, int], cell: int) -> np.ndarray:
    return np.repeat(np.repeat(grid, cell, 0), cell, 1)[: shape[0], : shape[1]]


def known_hole(mask: np.ndarray) -> np.ndarray:
    """The removed region as the receivers will know it from :func:`pack_mask`: bool
    ``(H, W)``, ``mask`` rounded up to whole cells of :func:`mask_cell`."""
    cell = mask_cell(mask.shape)
    return _upsampled(_pooled(mask, cell), mask.shape, cell)


def pack_mask(mask: np.ndarray, cell: int) -> bytes:
    """bool ``(H, W)`` → deflated bits of its ``cell × cell`` max-pooled grid."""
    return zlib.compress(np.packbits(_pooled(mask, cell).reshape(-1)).tobytes(), 9)


def unpack_mask(packed: bytes, shape: tuple[int, int], cell: int) -> np.ndarray | None:
    """Inverse of :func:`pack_mask` (up to the pooling): bool ``(H, W)``, or None when
    the bytes are not such a mask."""
    return split_sealed(packed, shape, cell)[0]


def split_sealed(packed: bytes, shape: tuple[int, int], cell: int) -> tuple[np.ndarray | None, bytes | None]:
    """An unsealed blob → (the mask, or None if it is not one; the bytes sealed after it,
    or None)."""
    d = zlib.decompressobj()
    try:
        raw = d.decompress(packed, 1 << 22)
    except zlib.error:
        return None, None
    if not d.eof:
        return None, None
    return mask_from_bits(raw, shape, cell), (d.unused_data or None)


def mask_from_bits(raw: bytes, shape: tuple[int, int], cell: int) -> np.ndarray | None:
    """The grid's packed bits (inflated) → bool ``(H, W)``, or None if too few."""
    H, W = shape
    gh, gw = -(-H // cell), -(-W // cell)
    bits = np.unpackbits(np.frombuffer(raw, np.uint8))
    if bits.size < gh * gw:
        return None
    return _upsampled(bits[: gh * gw].reshape(gh, gw).astype(bool), shape, cell)


def _seal_keys(key: bytes) -> tuple[bytes, bytes]:
    import hashlib
    import hmac

    return (hmac.new(key, SEAL_INFO + b" aead", hashlib.sha256).digest(),
            hmac.new(key, SEAL_INFO + b" nonce", hashlib.sha256).digest())


def seal(packed: bytes, key: bytes) -> bytes:
    """The packed mask sealed with a DB key: nonce (12) | AES-256-GCM ciphertext | tag.
    The nonce is a keyed hash of the plaintext (deterministic, as in SIV: equal masks
    give equal blobs, and a nonce never serves two plaintexts)."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    k_aead, k_nonce = _seal_keys(key)
    nonce = hmac.new(k_nonce, packed, hashlib.sha256).digest()[:12]
    return nonce + AESGCM(k_aead).encrypt(nonce, packed, SEAL_INFO)


def unseal(blob: bytes, key: bytes) -> bytes | None:
    """Inverse of :func:`seal`; None for another key or a damaged blob."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(blob) < 12 + 16:
        return None
    try:
        return AESGCM(_seal_keys(key)[0]).decrypt(blob[:12], blob[12:], SEAL_INFO)
    except InvalidTag:
        return None


def design_byte(design_snr_db: float) -> int:
    """The design SNR as the metadata carries it: 0.25 dB steps from −20 dB (byte 0) to
    43.75 dB (255), clipped."""
    return int(np.clip(round((design_snr_db - DESIGN_MIN) / DESIGN_STEP), 0, 255))


def design_db(byte: int) -> float:
    """Inverse of :func:`design_byte`."""
    return DESIGN_MIN + DESIGN_STEP * byte


def meta_rate(design_snr_db: float) -> Fraction:
    """QPSK LDPC rate of the metadata for a link built for ``design_snr_db``."""
    return Fraction(1, 4) if design_snr_db < LOW_RATE_BELOW_DB else Fraction(1, 2)


def meta_threshold_db(design_snr_db: float) -> float:
    """The AWGN SNR (dB) below which the metadata of a link built for ``design_snr_db``
    is taken to fail (its MCS's threshold)."""
    return MCS_THRESHOLD_DB[f"qpsk-{meta_rate(design_snr_db)}"]


class SoftCastCodec(ChannelUseBudget, MaskedLinearCode):
    """The linear analog code with the JSCC's interface.

    Args:
        kn: bandwidth ratio (complex symbols per real pixel value), e.g. ``"1/6"``.
        refiner: the learned refinement applied after the LMMSE estimate
            (:mod:`privsem.codec.refine`): ``"default"`` the committed one when it is
            installed, None plain LMMSE, or a :class:`~privsem.codec.refine.RefineNet`.

    ``encode(img float32 (B,3,H,W) in [0,1], snr_db) -> complex64 (B, n)`` at unit mean
    power; ``snr_db`` is the SNR the link is built for (it sets the metadata's code
    rate). After it, ``last_side`` holds per image the byte the frame header carries
    (``mcs``: the metadata's rate and codeword count). ``decode(y, snr_db, shape,
    side, no=None)``: ``side`` that byte, ``no`` float ``(B, n)`` noise variance per
    symbol after zero-forcing (default ``10^(−SNR/10)``); after it ``last_ok`` says per
    image whether its metadata passed the CRC, ``last_mask`` the removed region it
    carried (bool ``(H, W)``, or None), and ``last_sealed`` whether it carried a sealed
    mask this receiver could not open (the hole is then filled with texture, not dark:
    no guess from dark pixels finds it).
    """

    name = "softcast"
    checked_parts = "metadata"
    uses_side = True  # the frame header's mcs byte carries the metadata's code
    decodes_zf = True  # decode() takes zero-forced symbols and their noise variances (no=)
    sends_mask = True  # encode(mask=...) sends the removed region; decode returns it in last_mask

    def __init__(self, kn: str | Fraction = "1/6", refiner="default") -> None:
        self.kn = parse_kn(kn)
        if isinstance(refiner, str) and refiner == "default":
            from .refine import default_refiner

            refiner = default_refiner()
        self.refiner = refiner
        self.last_ok: list[bool] = []
        self.last_side: list[int] = []
        self.last_outcome: list[SoftCastOutcome] = []  # per image: the error at any receive SNR (docs/codec.md "auto")
        self.last_mask: list = []
        self.last_sealed: list[bool] = []
        self.last_hint: list = []  # per image: the bytes sealed with the mask (placement hint), or None

    def at(self, kn) -> SoftCastCodec:
        return SoftCastCodec(kn, self.refiner)

    def layout(self, shape: tuple[int, int], side: int, n: int | None = None) -> Layout:
        """The :class:`Layout` for ``shape``, a header byte ``side`` and ``n`` symbols
        (default :meth:`n_symbols`; a hybrid code gives its analog share).

        Raises:
            PrivsemError: the metadata would leave no room for the analog part."""
        H, W = shape
        chunk = max(CHUNK, -(-max(H, W) // MAX_GRID))
        meta_k = int(LDPC_N * (Fraction(1, 4) if side & 0x80 else Fraction(1, 2))) // 8 * 8
        meta_cw = side & 0x7F
        n = self.n_symbols(shape) if n is None else n
        n_meta = meta_cw * LDPC_N // 2
        if not meta_cw or n_meta >= n:
            raise PrivsemError(f"a {H}×{W} image at k/n {self.kn} has {n} symbols, too few for softcast's "
                               f"metadata ({n_meta} or more): use a larger image or k/n")
        meta_pos, analog_pos = spread_positions(n, n_meta)
        return Layout((H, W), (_edges(H, chunk), _edges(W, chunk)), n, meta_k, meta_cw, meta_pos, analog_pos)

    # -- both ends -------------------------------------------------------------------

    @staticmethod
    def _chunks(coeffs: np.ndarray, lay: Layout) -> list[np.ndarray]:
        """float64 (3, H, W) → views of its chunks, channel-major then row, column."""
        he, we = lay.edges
        return [coeffs[c, he[i]:he[i + 1], we[j]:we[j + 1]]
                for c in range(3) for i in range(len(he) - 1) for j in range(len(we) - 1)]

    @staticmethod
    def _quantize(lam: np.ndarray) -> np.ndarray:
        """Chunk energies → bytes (0: empty; else 1 + LOG_STEPS·(log2 λ − LOG_MIN))."""
        with np.errstate(divide="ignore"):
            q = np.round((np.log2(lam) - LOG_MIN) * LOG_STEPS) + 1
        return np.where(lam > 2.0 ** LOG_MIN, np.clip(q, 1, 255), 0).astype(np.uint8)

    @staticmethod
    def _energy(q: np.ndarray) -> np.ndarray:
        return np.where(q > 0, 2.0 ** ((q.astype(np.float64) - 1) / LOG_STEPS + LOG_MIN), 0.0)

    def _plan(self, q: np.ndarray, sizes: np.ndarray, n_analog: int,
              design_snr_db: float) -> tuple[np.ndarray, np.ndarray]:
        """Chunks sent and their gains ``g``; both ends compute it from the metadata alone.

        Candidates are the chunks of highest quantized energy (ties by index) that fit the
        ``n_analog`` complex symbols. Their energies are split for the LMMSE receiver at
        the design SNR (reverse water-filling): a coefficient of chunk i gets energy
        ``p_i = max(0, t·√(λ_i N) − N)`` with N the noise variance per real value and t
        set by unit mean power, ``Σ size_i p_i = n_analog``. This minimizes the LMMSE
        error ``Σ size_i λ_i N / (p_i + N)``; chunks whose ``p_i`` would be 0 are not
        sent. At high SNR it tends to SoftCast's ``g ∝ λ^(−1/4)`` (``p ∝ √λ``); at low
        SNR it spends nothing on weak chunks (+0.6 dB at 0 dB over AWGN, +1.2 dB over
        Rayleigh fading: docs/codec.md)."""
        lam = self._energy(q)
        order = np.argsort(-lam, kind="stable")
        order = order[lam[order] > 0]
        sent = order[np.cumsum(sizes[order]) <= 2 * n_analog]
        if not sent.size:
            return sent, np.zeros(0)
        N = 10.0 ** (-design_snr_db / 10.0) / 2
        root = np.sqrt(lam[sent] * N)  # descending
        s = sizes[sent].astype(np.float64)
        # t for the first k chunks, then the largest k whose weakest chunk still gets p > 0
        t = (n_analog + N * np.cumsum(s)) / np.cumsum(s * root)
        k = int(np.flatnonzero(t * root > N)[-1]) + 1
        p = t[k - 1] * root[:k] - N
        return sent[:k], np.sqrt(p / lam[sent[:k]])

    # -- sender ----------------------------------------------------------------------

    def _encode(self, img, snr_db, mask, seal_key, hints=None) -> np.ndarray:
        shape = tuple(img.shape[-2:])
        n = self.n_symbols(shape)
        out = np.zeros((img.shape[0], n), np.complex64)
        masks = [None] * img.shape[0] if mask is None else np.broadcast_to(mask, (img.shape[0], *shape))
        self.last_side, self.last_outcome = [], []
        for b, im in enumerate(np.asarray(img, np.float64)):
            out[b], side = self.encode_one(im, n, snr_db, masks[b], seal_key=seal_key,
                                           hint=None if hints is None else hints[b])
            self.last_side.append(side)
            self.last_outcome.append(SoftCastOutcome(self.error, meta_threshold_db(snr_db),
                                                     float(np.mean((im - 0.5) ** 2))))
        return out

    def encode_one(self, im: np.ndarray, n: int, design_snr_db: float, mask: np.ndarray | None = None,
                   fill: bool = True, seal_key: bytes | None = None,
                   meta_low: bool | None = None, hint: bytes | None = None, layer: int | None = None,
                   min_meta_cw: int = 1) -> tuple[np.ndarray, int]:
        """float ``(3, H, W)`` (any range; a residual too) → (complex64 ``(n,)``, the
        header byte). ``design_snr_db``: the SNR the link is built for (it sets the
        power split and the metadata's code rate; it travels in the metadata); ``mask``: the
        removed region (sent with the metadata, sealed with ``seal_key`` if given; with
        ``fill`` the hole is filled first: smoothly, or with texture when sealed,
        :mod:`privsem.codec.fill`); ``meta_low``: send the metadata at QPSK 1/4 (True) or 1/2
        (False) whatever the design SNR (the hybrid ties it to its base layer); ``hint``:
        bytes sealed after the mask (with ``seal_key`` and a mask only); ``layer``: a byte
        the metadata carries for a code that puts this one under a digital layer
        (:mod:`~privsem.codec.superposed`: its power share); ``min_meta_cw``: send at least
        this many metadata codewords (that code fixes the layout before it knows the
        residual). Leaves the image's error model in ``error``
        (:class:`~privsem.codec.outcome.LmmseError`)."""
        from scipy.fft import dctn

        from .fill import smooth_fill, textured_fill

        shape = tuple(im.shape[-2:])
        if meta_low is None:
            meta_low = meta_rate(design_snr_db) == Fraction(1, 4)
        low = 0x80 if meta_low else 0
        design = design_byte(design_snr_db)
        packed_mask = None
        if mask is not None and mask.any():
            packed_mask = pack_mask(mask, mask_cell(shape))
            if fill:  # what the receivers will know as the hole, ⊇ mask; sealed: no flat patch to find
                im = (textured_fill if seal_key is not None else smooth_fill)(
                    im.transpose(1, 2, 0).astype(np.float32), known_hole(mask)).transpose(2, 0, 1)
        x = np.einsum("ij,jhw->ihw", COLOUR, np.asarray(im, np.float64))
        mean = x.mean(axis=(1, 2))
        coeffs = dctn(x - mean[:, None, None], axes=(1, 2), norm="ortho")
        lay = self.layout(shape, low | max(1, min_meta_cw), n)
        chunks = self._chunks(coeffs, lay)
        energy = np.array([np.sum(ch * ch) for ch in chunks])  # per chunk, summed over its coefficients
        q_all = self._quantize(energy / lay.sizes)
        # the metadata's size depends on what is sent and the reverse: grow it until it holds
        for _ in range(MAX_META_CW):
            sent, g = self._plan(q_all, lay.sizes, lay.analog_pos.size, design_db(design))
            q = np.zeros_like(q_all)
            q[sent] = q_all[sent]  # unsent chunks are 0: the receiver needs only the sent ones
            vals = np.concatenate([chunks[i].reshape(-1) * gi for i, gi in zip(sent, g)]) if sent.size else None
            # λ is quantized: trim to exactly unit power (the receiver applies the same trim)
            trim = np.sqrt(lay.analog_pos.size / max(np.sum(vals * vals), 1e-30)) if sent.size else 1.0
            trim = float(np.clip(np.round(trim * 32768) / 32768, 0.5, 65535 / 32768))
            data = self._meta_bytes(mean, trim, design, q, packed_mask, seal_key, hint, layer)
            need = -(-8 * len(data) // lay.meta_k)
            if need <= lay.meta_cw:
                break
            if need > MAX_META_CW:
                raise PrivsemError(f"softcast metadata of {len(data)} bytes does not fit the header's count")
            lay = self.layout(shape, low | need, n)
        reals = np.zeros(2 * lay.analog_pos.size)
        if sent.size:
            reals[: vals.size] = vals * trim
        # the LMMSE error model: unsent chunks lose their energy; the receiver's prior is the quantized λ
        self.error = LmmseError(energy[sent], lay.sizes[sent].astype(np.float64), (g * trim) ** 2,
                                self._energy(q_all)[sent], float(energy.sum() - energy[sent].sum()), im.size)
        out = np.zeros(n, np.complex64)
        out[lay.analog_pos] = spread(reals[0::2] + 1j * reals[1::2])
        out[lay.meta_pos] = self._meta_symbols(lay, data)
        return out, lay.side_byte

    @staticmethod
    def _meta_bytes(mean: np.ndarray, trim: float, design: int, q: np.ndarray, packed_mask: bytes | None,
                    seal_key: bytes | None = None, hint: bytes | None = None, layer: int | None = None) -> bytes:
        """CRC-32, then: colour means (luma in [0, √3], chroma in [−√2, √2]) and the
        power trim (in [0.5, 2)), 16 bits each; the design SNR byte; a flags byte; if
        flagged, the ``layer`` byte; the chunk bytes deflated
        (mostly zeros: most chunks are not sent); if flagged, the deflated mask, or its
        sealed blob (the mask, then ``hint`` if any) after a 2-byte length."""
        head = np.clip(np.round((mean + 2.0) / 4.0 * 65535), 0, 65535).astype(">u2").tobytes()
        head += np.array([round(trim * 32768)], ">u2").tobytes()
        flags, tail = 0, b""
        if packed_mask is not None:
            flags = FLAG_MASK
            tail = packed_mask
            if seal_key is not None:
                blob = seal(packed_mask + (hint or b""), seal_key)
                flags, tail = FLAG_MASK | FLAG_SEALED, len(blob).to_bytes(2, "big") + blob
        if layer is not None:
            flags |= FLAG_LAYER
        head += bytes([design, flags]) + (bytes([layer]) if layer is not None else b"")
        body = head + zlib.compress(q.tobytes(), 9) + tail
        return zlib.crc32(body).to_bytes(CRC_BYTES, "big") + body

    @staticmethod
    def _meta_symbols(lay: Layout, data: bytes) -> np.ndarray:
        bits = np.zeros(lay.meta_cw * lay.meta_k, np.float32)
        raw = np.unpackbits(np.frombuffer(data, np.uint8)).astype(np.float32)
        bits[: raw.size] = raw
        coded = ldpc_encode(bits.reshape(lay.meta_cw, lay.meta_k), lay.meta_k, LDPC_N).reshape(-1)
        # every coded bit to a pseudo-random place: a lost frame erases a scattered share of
        # every codeword (which LDPC repairs), not whole codewords nor a run of one
        # codeword's systematic bits (which it cannot)
        return qam_map(coded[interleaver(coded.size)], 2)

    # -- receiver --------------------------------------------------------------------

    @staticmethod
    def _read_meta(lay: Layout, sym: np.ndarray, no: np.ndarray, seal_key: bytes | None = None):
        """(colour means, power trim, design SNR (dB), chunk bytes, mask bool (H, W) or None, sealed) from
        the metadata symbols, or None when the metadata does not check out. A sealed
        mask is read only with the ``seal_key`` it was sealed with."""
        llr = deinterleave(qam_llr(sym, no.astype(np.float32), 2)).reshape(lay.meta_cw, LDPC_N)
        return ldpc_decode_checked(llr, lay.meta_k, LDPC_N,
                                   lambda bits: SoftCastCodec._parse_meta(lay, np.packbits(bits).tobytes(), seal_key))

    @staticmethod
    def _parse_meta(lay: Layout, data: bytes, seal_key: bytes | None):
        """:meth:`_read_meta` after the LDPC decoder: the fields, or None."""
        crc, body = data[:CRC_BYTES], data[CRC_BYTES:]
        head, rest = body[:HEAD_BYTES], body[HEAD_BYTES:]
        layer = None
        if len(head) == HEAD_BYTES and head[-1] & FLAG_LAYER:
            layer, rest = (rest[0], rest[1:]) if rest else (None, rest)
        n_chunks = lay.sizes.size
        sealed = bool(head[-1] & FLAG_SEALED)
        streams, blob = [], None
        for _ in range(1 if sealed or not head[-1] & FLAG_MASK else 2):
            d = zlib.decompressobj()
            try:
                streams.append(d.decompress(rest, 1 << 22))
            except zlib.error:
                return None
            if not d.eof:
                return None
            rest = d.unused_data
        if sealed:
            size = int.from_bytes(rest[:2], "big")
            blob, rest = rest[2:2 + size], rest[2 + size:]
        used = len(body) - len(rest)
        if zlib.crc32(body[:used]).to_bytes(CRC_BYTES, "big") != crc or len(streams[0]) != n_chunks:
            return None
        words = np.frombuffer(head[:8], ">u2").astype(np.float64)
        mask = hint = None
        cell = mask_cell(lay.shape)
        if len(streams) == 2:
            mask = mask_from_bits(streams[1], lay.shape, cell)
        elif sealed and seal_key is not None:
            packed = unseal(blob, seal_key)
            mask, hint = (None, None) if packed is None else split_sealed(packed, lay.shape, cell)
        return (words[:3] / 65535 * 4.0 - 2.0, words[3] / 32768, design_db(head[8]), np.frombuffer(streams[0], np.uint8),
                mask, sealed, hint, layer)

    def _decode(self, y, snr_db, shape, side, no, seal_key) -> np.ndarray:
        out = np.full((y.shape[0], 3, *shape), 0.5, np.float32)
        self.last_ok, self.last_mask, self.last_sealed, self.last_hint = [], [], [], []
        for b, yb, nob, sb in self.received(y, snr_db, shape, side, no):
            est, hole, sealed, hint = self.decode_one(yb, nob, shape, sb, seal_key)
            if est is not None:
                out[b] = np.clip(est, 0, 1)
                if self.refiner is not None:
                    from .refine import refine

                    out[b] = refine(self.refiner, out[b], snr_db, float(self.kn))
            self.last_ok.append(est is not None)
            self.last_mask.append(hole)
            self.last_sealed.append(sealed)
            self.last_hint.append(hint)
        return out

    def read_meta(self, y: np.ndarray, no: np.ndarray, shape: tuple[int, int], side: int,
                  seal_key: bytes | None = None) -> tuple[Layout, tuple | None]:
        """The layout and the metadata fields of ``n`` received symbols (``y``, ``no`` as
        for :meth:`decode_one`; None when the metadata fails its CRC): a code that puts
        the analog symbols under a digital layer reads its ``layer`` byte (the last
        field) before it can separate them."""
        lay = self.layout(shape, side, y.size)
        return lay, self._read_meta(lay, y[lay.meta_pos], no[lay.meta_pos], seal_key)

    def decode_one(self, y: np.ndarray, no: np.ndarray, shape: tuple[int, int], side: int,
                   seal_key: bytes | None = None, meta: tuple | None = None
                   ) -> tuple[np.ndarray | None, np.ndarray | None, bool, bytes | None]:
        """complex ``(n,)`` zero-forced symbols and their noise variances → (float64
        ``(3, H, W)`` LMMSE estimate, unclipped; the mask it carried: None when none was
        sent, or it was sealed and ``seal_key`` does not open it; whether a sealed mask
        came that ``seal_key`` did not open; the hint sealed with it, or None), or
        (None, None, False, None) when the metadata fails its CRC. ``meta``: the fields
        :meth:`read_meta` already read from these symbols."""
        from scipy.fft import idctn

        lay = self.layout(shape, side, y.size)
        if meta is None:
            meta = self._read_meta(lay, y[lay.meta_pos], no[lay.meta_pos], seal_key)
        if meta is None:
            return None, None, False, None
        mean, trim, design, q, hole, sealed, hint, _ = meta
        coeffs = np.zeros((3, *shape))
        chunks = self._chunks(coeffs, lay)
        sizes = lay.sizes
        sent, g = self._plan(q, sizes, lay.analog_pos.size, design)
        g = g * trim
        lam = self._energy(q)
        p = np.zeros(2 * lay.analog_pos.size)  # prior variance of each sent real value
        at = 0
        for i, gi in zip(sent, g):
            p[at:at + sizes[i]] = gi * gi * lam[i]
            at += sizes[i]
        u = despread_lmmse(y[lay.analog_pos], p, no[lay.analog_pos])
        at = 0
        for i, gi in zip(sent, g):  # x̂ = û / g: the LMMSE estimate of the coefficient itself
            chunks[i][...] = (u[at:at + sizes[i]] / gi).reshape(chunks[i].shape)
            at += sizes[i]
        x = idctn(coeffs, axes=(1, 2), norm="ortho") + mean[:, None, None]
        return np.einsum("ji,jhw->ihw", COLOUR, x), hole, bool(sealed and hole is None), hint
