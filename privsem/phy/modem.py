"""OFDM modem: ``modulate(header, payload) -> samples``; ``demodulate(samples) -> frames``.

Frame = preamble (STF 160 + LTF 288 samples) | header (4 OFDM symbols, Polar-coded
QPSK) | payload (analog: JSCC symbols straight onto the data subcarriers; digital:
LDPC-coded QAM). The receiver finds frames in a stream it did not time, corrects the
carrier offset (coarse from the STF, fine from the LTF), times the FFT windows from the
LTF, estimates the channel per subcarrier and the noise from the two LTF copies, tracks
common phase and timing drift (sample-clock offset) from 8 pilots per symbol, and
MMSE-equalizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .digital import bytes_to_symbols, symbols_for_bytes
from .header import (
    MODE_DIGITAL,
    QPSK_SYMBOLS,
    Header,
    decode_header_list,
    decode_headers,
    encode_header,
)
from .ofdm import (
    DATA,
    N_DATA,
    N_FFT,
    PILOT_VALUES,
    PILOTS,
    SYMBOL_LEN,
    USED,
    bins,
    grid_to_samples,
    samples_to_grid,
    symbols_needed,
)
from .preamble import (
    LTF_CP,
    LTF_FREQ,
    PREAMBLE,
    PREAMBLE_LEN,
    STF_LEN,
    STF_PERIOD,
    WINDOW,
    autocorrelation_metric,
    find_plateaus,
    fine_timing,
)

HEADER_SYMBOLS = symbols_needed(QPSK_SYMBOLS)  # 10
MAX_PAYLOAD_SYMBOLS = 200  # OFDM symbols per frame (20 000 data values, ~30 k samples)
MAX_FRAME_LEN = PREAMBLE_LEN + (HEADER_SYMBOLS + MAX_PAYLOAD_SYMBOLS) * SYMBOL_LEN
BACKOFF = 4  # FFT window starts this many samples into the CP
LTF_MIN_CORRELATION = 0.25


def _delay_projection(first: int, last: int) -> np.ndarray:
    """Projection of a used-subcarrier response onto impulse responses with taps at
    delays ``first..last`` samples. The channel (plus the window back-off) is shorter
    than the CP, so this removes most of the estimation noise (108 → 25 dimensions)."""
    F = np.exp(-2j * np.pi * np.outer(USED, np.arange(first, last + 1)) / N_FFT)
    return (F @ np.linalg.pinv(F)).astype(np.complex64)


_SMOOTH = _delay_projection(-4, 16 + BACKOFF)
# Channel-estimate error variance relative to the per-bin noise: the LTF average
# halves it, the projection keeps (taps / used subcarriers) of it.
_H_ERR = 0.5 * (16 + BACKOFF + 5) / USED.size


def derotator(cfo: float, start: int, stop: int, block: int = 1024) -> np.ndarray:
    """complex64 ``exp(−j2π·cfo·n)`` for n in [start, stop): undoes a carrier offset of
    ``cfo`` cycles/sample. Built as (block phasors) × (in-block phasors), one complex
    multiply per sample instead of an exponential; phases wrapped in double precision."""
    n = stop - start
    rows = -(-n // block)
    inner = np.exp(-2j * np.pi * np.mod(cfo * np.arange(block, dtype=np.float64), 1.0)).astype(np.complex64)
    outer = np.exp(-2j * np.pi * np.mod(cfo * (start + block * np.arange(rows, dtype=np.float64)), 1.0))
    return (outer.astype(np.complex64)[:, None] * inner[None, :]).reshape(-1)[:n]


def _line_fit(y: np.ndarray) -> tuple[float, float]:
    x = np.arange(y.size) - (y.size - 1) / 2
    return float(y.mean()), float(np.dot(x, y - y.mean()) / np.dot(x, x))


def local_line(y: np.ndarray, win: int) -> np.ndarray:
    """Savitzky-Golay smoothing of order 1 (odd ``win``): the centre of a straight-line
    fit over each window, which for interior points is the window mean; the first and
    last half-windows take the end windows' lines."""
    half = win // 2
    c = np.concatenate([[0.0], np.cumsum(y)])
    out = np.empty_like(y, dtype=np.float64)
    out[half : y.size - half] = (c[win:] - c[:-win]) / win
    for sl, idx in ((slice(0, win), np.arange(half)), (slice(y.size - win, y.size), np.arange(win - half, win))):
        mean, slope = _line_fit(y[sl])
        out[idx + sl.start] = mean + slope * (idx - (win - 1) / 2)
    return out


AMP_FLOOR = 1e-3  # tracked amplitude floor (−60 dB): a symbol faded below it counts as noise alone
PILOT_ERROR_LIMIT = 10.0  # per-symbol pilot error ratio above which a payload is damaged
PILOT_EVM_FLOOR = 0.03  # −15 dB: model error (fading within the frame) allowed on top of the noise


def pilot_products(G: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pilots weighted by their channel gain (maximum-ratio: faded pilots count less),
    ``z`` complex ``(m, 8)``, and the products of neighbouring pilots ``(m,)``, whose
    angle is the timing-drift phase step between them."""
    z = G[:, bins(PILOTS)] * np.conj(H[bins(PILOTS)] * PILOT_VALUES)
    return z, np.sum(z[:, 1:] * np.conj(z[:, :-1]), axis=1)


def pilot_error(G: np.ndarray, H: np.ndarray, sigma2: float) -> np.ndarray:
    """Per-OFDM-symbol pilot error ratio of grid ``G`` complex ``(m, 128)`` against the
    LTF channel ``H``: what is left on the 8 pilots after one complex gain and one
    phase slope per symbol (common phase, timing drift, slow flat fading), relative to
    the noise plus a −15 dB model-error floor. About 1 for an intact symbol; far above
    :data:`PILOT_ERROR_LIMIT` when the symbol's samples are not the frame's (a slipped
    window after dropped or repeated samples, a noise burst, another signal).
    float32 ``(m,)``."""
    z, pairs = pilot_products(G, H)
    psi = np.angle(pairs) / np.diff(PILOTS)[0]
    zr = z * np.exp(-1j * np.outer(psi, PILOTS))
    p2 = np.abs(H[bins(PILOTS)]) ** 2  # |PILOT_VALUES| = 1
    g = np.sum(zr, axis=1, keepdims=True) / max(float(np.sum(p2)), 1e-20)
    resid = np.sum(np.abs(zr - g * p2) ** 2, axis=1)
    scale = np.sum(sigma2 * p2 + PILOT_EVM_FLOOR * p2**2)
    return (resid / max(float(scale), 1e-30)).astype(np.float32)


def unbias(eq: np.ndarray, no: np.ndarray) -> np.ndarray:
    """Zero-forced symbols from the analog payload's MMSE-equalized ones: ``eq`` complex
    and ``no`` (their :func:`zf_noise`) float, same shape. MMSE shrinks each symbol by
    |H|²/(|H|²+σ²), which is 1/(1 + no/(1+ε)) with ε the channel-estimate error share."""
    return (eq * (1 + no / (1 + _H_ERR))).astype(np.complex64)


def sustained(err: np.ndarray) -> np.ndarray:
    """The smaller of each two neighbouring symbols' pilot errors, float32 ``(m-1,)``
    (``err`` itself when ``m`` is 1). Dropped or repeated samples, a splice or a burst
    spoil every symbol after them or several in a row; one symbol alone above the limit
    is the tail of the model error (measured with multipath, CFO and clock offset at
    10 dB: single symbols up to 14.6, neighbouring pairs at most 7.9)."""
    return np.minimum(err[1:], err[:-1]) if err.size > 1 else err


def zf_noise(sigma2: float, Hd: np.ndarray) -> np.ndarray:
    """Noise variance of a zero-forced symbol on each data subcarrier, counting the
    channel-estimate error (which dominates on faded subcarriers)."""
    return (sigma2 * (1 + _H_ERR) / np.maximum(np.abs(Hd) ** 2, 1e-12)).astype(np.float32)


@dataclass
class Frame:
    """One received frame.

    Attributes:
        header: decoded header (None when its CRC failed).
        symbols: complex64 ``(n_units,)`` MMSE-equalized payload (analog), or the
            equalized QAM symbols (digital); empty if the payload was cut off.
        no: float32 per-symbol noise variance after zero-forcing (for LLRs).
        start: sample index of the frame's STF in the demodulated buffer.
        snr_db: post-FFT SNR estimate per subcarrier (dB) from the LTF.
        cfo: carrier offset estimate, cycles/sample (× sample rate = Hz).
        crc_ok: header CRC-32 passed.
        complete: the whole payload was inside the buffer.
        damaged: the payload's pilots say some of it is not this frame's signal (samples
            dropped, repeated or drowned in a burst after the header); see
            :func:`pilot_error`. The reassembler counts such a frame as lost.
        quality: ``pilot_error_max``, the largest per-symbol pilot error ratio.
    """

    header: Header | None
    symbols: np.ndarray
    no: np.ndarray
    start: int
    snr_db: float
    cfo: float
    crc_ok: bool
    complete: bool = True
    quality: dict = field(default_factory=dict)
    damaged: bool = False


def payload_symbols(header: Header) -> int:
    """Data-subcarrier values a frame's payload occupies."""
    if header.mode == MODE_DIGITAL:
        return symbols_for_bytes(header.n_units, header.mcs)
    return header.n_units


class Modem:
    """The OFDM modem. ``threshold`` is the detection level of the Schmidl-Cox metric.

    On the STF the metric is about (SNR/(1+SNR))², 0.25 at 0 dB, but over a 112-sample
    window it scatters widely; on noise it is about 1/112. At 0.15, 12 of 60 frames at
    0 dB (AWGN with radio impairments) were never detected; at 0.07 none were, and 2 M
    noise samples still gave no false frame (the LTF check rejects what passes)."""

    def __init__(self, threshold: float = 0.07) -> None:
        self.threshold = threshold

    # ---- transmit ---------------------------------------------------------------------
    def modulate(self, header: Header, payload: np.ndarray | bytes) -> np.ndarray:
        """One frame: complex64 samples with unit mean power.

        ``payload``: complex64 ``(n,)`` unit-power symbols (analog, ``header.n_units == n``)
        or bytes (digital, ``header.n_units == len(payload)``).
        """
        if header.mode == MODE_DIGITAL:
            values = bytes_to_symbols(bytes(payload), header.mcs)
        else:
            values = np.asarray(payload, np.complex64)
        if payload_symbols(header) != values.size:
            raise ValueError("header.n_units does not match the payload")
        m = symbols_needed(values.size)
        if m > MAX_PAYLOAD_SYMBOLS:
            raise ValueError(f"payload of {m} OFDM symbols exceeds {MAX_PAYLOAD_SYMBOLS}")
        hdr = np.zeros(HEADER_SYMBOLS * N_DATA, np.complex64)
        hdr[:QPSK_SYMBOLS] = encode_header(header)
        pay = np.zeros(m * N_DATA, np.complex64)
        pay[: values.size] = values
        grid = np.concatenate([hdr, pay]).reshape(-1, N_DATA)
        return np.concatenate([PREAMBLE, grid_to_samples(grid)])

    # ---- receive ----------------------------------------------------------------------
    def _sync(self, y: np.ndarray, run: tuple[int, int], P: np.ndarray):
        """Coarse CFO and start from an STF plateau, then LTF fine timing, fine CFO,
        channel and noise estimate. Returns None when the LTF is not where it should be."""
        mid = (run[0] + run[1] - 1) // 2
        a, b = run[0] * STF_PERIOD, (run[1] - 1) * STF_PERIOD + 1  # metric index → sample
        cfo = float(np.angle(P[mid]) / (2 * np.pi * STF_PERIOD))
        # Where the plateau lies depends on the SNR (at high SNR the metric rises as soon
        # as part of the STF enters the window), but the STF start s is always in
        # [b − STF_LEN, a + window]; search the LTF over the matching span.
        t_lo, t_hi = b + LTF_CP - 8, a + WINDOW + STF_LEN + LTF_CP + 8
        lo, hi = max(t_lo - 16, 0), min(t_hi + 2 * N_FFT + 16, y.size)
        if hi - lo < 2 * N_FFT:
            return None
        seg = y[lo:hi] * derotator(cfo, lo, hi)
        t = fine_timing(seg, t_lo - lo, t_hi - lo)
        if t < 0 or t + 2 * N_FFT > seg.size:
            return None
        # The LTF must really be there: its two copies correlate (normalised, lag 128)
        # ≈ SNR/(1+SNR) whatever the multipath (0.5 at 0 dB), ≈ 0.09 on data or noise.
        c1, c2 = seg[t : t + N_FFT], seg[t + N_FFT : t + 2 * N_FFT]
        rho = np.abs(np.vdot(c1, c2)) / np.sqrt(np.vdot(c1, c1).real * np.vdot(c2, c2).real + 1e-30)
        if rho < LTF_MIN_CORRELATION:
            return None
        fine = np.angle(np.vdot(seg[t : t + N_FFT], seg[t + N_FFT : t + 2 * N_FFT])) / (2 * np.pi * N_FFT)
        return lo + t, cfo + float(fine)

    def _estimate(self, z: np.ndarray, t: int):
        """Channel per used subcarrier and per-bin noise variance from the two LTFs."""
        w = t - BACKOFF
        scale = np.sqrt(USED.size) / N_FFT
        Y1 = np.fft.fft(z[w : w + N_FFT])[bins(USED)] * scale
        Y2 = np.fft.fft(z[w + N_FFT : w + 2 * N_FFT])[bins(USED)] * scale
        H = np.zeros(N_FFT, np.complex64)
        H[bins(USED)] = _SMOOTH @ (0.5 * (Y1 + Y2) / LTF_FREQ)
        sigma2 = max(float(np.mean(np.abs(Y1 - Y2) ** 2) / 2), 1e-12)
        return H, sigma2

    @staticmethod
    def _track(G: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-symbol correction from the pilots: common phase φ_m, timing-drift slope ψ_m
        (rad per subcarrier) and the channel's amplitude relative to the LTF's, a_m.
        Returns complex64 ``(m, 100)`` phase multipliers for the data subcarriers and
        float32 ``(m,)`` amplitudes (a fade within the frame: without a_m, symbols in it
        would be equalized, and their noise reckoned, with the LTF's stronger channel)."""
        z, pairs = pilot_products(G, H)
        spacing = np.diff(PILOTS)[0]
        m = np.arange(G.shape[0])
        if G.shape[0] >= 16:  # timing drift is linear in time (clock offset): fit a line
            psi = np.angle(pairs) / spacing
            w = np.abs(pairs) + 1e-12  # weighted least-squares line, closed form
            mm, pm = np.average(m, weights=w), np.average(psi, weights=w)
            slope = np.sum(w * (m - mm) * (psi - pm)) / max(np.sum(w * (m - mm) ** 2), 1e-12)
            psi = pm + slope * (m - mm)
        else:  # a few symbols: drift is negligible, average
            psi = np.full(G.shape[0], np.angle(np.sum(pairs)) / spacing)
        zr = z * np.exp(-1j * np.outer(psi, PILOTS))
        common = np.sum(zr, axis=1)
        # Residual CFO makes the common phase drift linearly; fading bends it slowly.
        # A local straight-line fit (Savitzky-Golay, order 1) over up to 17 symbols
        # follows both without the lag of a plain average; the same for the amplitude,
        # measured along the fitted phase (unbiased by the noise, unlike |common|).
        phi = np.unwrap(np.angle(common))
        win = min(17, phi.size if phi.size % 2 else phi.size - 1)
        if phi.size >= 3:
            phi = local_line(phi, win)
        amp = np.real(common * np.exp(-1j * phi)) / max(float(np.sum(np.abs(H[bins(PILOTS)]) ** 2)), 1e-20)
        if amp.size >= 3:
            amp = local_line(amp, win)
        theta = phi[:, None].astype(np.float32) + np.outer(psi.astype(np.float32), DATA.astype(np.float32))
        C = np.empty(theta.shape, np.complex64)  # exp(−jθ) via cos/sin: 20× faster than complex exp
        C.real, C.imag = np.cos(theta), -np.sin(theta)
        return C, np.maximum(amp, AMP_FLOOR).astype(np.float32)

    def demodulate(self, y: np.ndarray, final: bool = True) -> tuple[list[Frame], int]:
        """Find and demodulate every frame in ``y`` (complex64 stream).

        Args:
            y: received samples.
            final: when False (streaming), a frame whose payload runs past the end of
                ``y`` is not returned and ``consumed`` stops before it, so the caller can
                call again with more samples appended.

        Returns:
            ``(frames, consumed)``: frames in time order (header-CRC failures included,
            with ``header=None``), and how many leading samples of ``y`` are done with.
        """
        y = np.ascontiguousarray(y, np.complex64)
        finite = np.isfinite(y)
        if not finite.all():  # NaN/inf samples (a corrupt file) carry nothing: erase them
            y = np.where(finite, y, np.complex64(0))
        metric, P = autocorrelation_metric(y)
        runs = find_plateaus(metric, self.threshold)
        cands = []
        last, last_len = -(10**9), 0
        for run in runs:
            same = run[0] * STF_PERIOD < last + STF_LEN  # the same STF, split into runs by noise ...
            if same and run[1] - run[0] <= last_len:
                continue
            s = self._sync(y, run, P)  # ... or a blip just before it: the longest run decides
            if s is None:
                continue
            if same:
                cands.pop()
            t, cfo = s
            end_hdr = t + 2 * N_FFT + HEADER_SYMBOLS * SYMBOL_LEN
            if end_hdr > y.size:
                break  # header not fully received yet
            lo = t - (STF_LEN + LTF_CP)
            z = y[lo:end_hdr] * derotator(cfo, lo, end_hdr)
            H, sigma2 = self._estimate(z, t - lo)
            G = samples_to_grid(z[t - lo + 2 * N_FFT :], HEADER_SYMBOLS, BACKOFF)
            C, amp = self._track(G, H)
            Hd = H[bins(DATA)] * amp[:, None]  # the channel of each symbol
            hdr = (G[:, bins(DATA)] * C / Hd).reshape(-1)[:QPSK_SYMBOLS]
            no = zf_noise(sigma2, Hd).reshape(-1)[:QPSK_SYMBOLS]
            cands.append((lo, t, cfo, H, sigma2, hdr, no))
            last, last_len = run[0] * STF_PERIOD, run[1] - run[0]
        # SC for all at once; the slower list decoder only for a failure that is not inside a
        # frame already decoded (below): at a low threshold, data inside frames yields
        # candidates whose headers would all fail
        headers = decode_headers(np.stack([c[5] for c in cands]) if cands else np.zeros((0, QPSK_SYMBOLS)),
                                 np.stack([c[6] for c in cands]) if cands else np.zeros((0, QPSK_SYMBOLS)),
                                 list_decode=False)
        frames: list[Frame] = []
        hold = None  # start of a frame whose payload has not fully arrived
        busy_until = -1
        for (lo, t, cfo, H, sigma2, hdr_sym, hdr_no), h in zip(cands, headers):
            if lo < busy_until:
                continue  # a detection inside a frame already decoded
            if h is None:
                h = decode_header_list(hdr_sym, hdr_no)
            # |Ĥ|² carries the estimate's own error (_H_ERR·σ²): without it 0 dB read +0.5 dB
            snr_db = float(10 * np.log10(max(np.mean(np.abs(H[bins(USED)]) ** 2) / sigma2 - _H_ERR, 1e-3)))
            base = Frame(header=h, symbols=np.zeros(0, np.complex64), no=np.zeros(0, np.float32),
                         start=lo, snr_db=snr_db, cfo=cfo, crc_ok=h is not None)
            if h is None:
                frames.append(base)
                continue
            n_vals = payload_symbols(h)
            m = HEADER_SYMBOLS + symbols_needed(n_vals)
            end = t + 2 * N_FFT + m * SYMBOL_LEN
            if end > y.size:
                if not final:
                    hold = lo
                    break
                base.complete = False
                frames.append(base)
                continue
            z = y[lo:end] * derotator(cfo, lo, end)
            G = samples_to_grid(z[t - lo + 2 * N_FFT :], m, BACKOFF)
            C, amp = self._track(G, H)
            Hd = H[bins(DATA)] * amp[HEADER_SYMBOLS:, None]  # the channel of each symbol
            D = G[HEADER_SYMBOLS:, bins(DATA)] * C[HEADER_SYMBOLS:]
            eq = (np.conj(Hd) * D / (np.abs(Hd) ** 2 + sigma2)).reshape(-1)[:n_vals]
            zf_no = zf_noise(sigma2, Hd).reshape(-1)[:n_vals]
            if h.mode == MODE_DIGITAL:  # unbiased symbols for the demapper
                eq = (D / Hd).reshape(-1)[:n_vals]
            base.symbols, base.no = eq.astype(np.complex64), zf_no.astype(np.float32)
            err = pilot_error(G[HEADER_SYMBOLS:], H, sigma2)
            base.quality["pilot_error_max"] = round(float(err.max()), 2) if err.size else 0.0
            base.damaged = bool(err.size) and float(sustained(err).max()) > PILOT_ERROR_LIMIT
            frames.append(base)
            if not base.damaged:  # a damaged frame may be shorter than its header says: look inside it
                busy_until = end
        if final:
            return frames, y.size
        # Streaming: keep the tail that may still hold the start of a frame; frames that
        # begin there (a CRC failure too) are reported when they are seen again.
        consumed = hold if hold is not None else max(y.size - MAX_FRAME_LEN, busy_until, 0)
        frames = [f for f in frames if f.start < consumed]
        return frames, consumed
