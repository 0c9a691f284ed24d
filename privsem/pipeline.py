"""Transmitter, Receiver and Loopback: composition of the stages, no maths here.

Data flow (DESIGN.md §1): image S → guard → A, entity, prompt → JSCC → symbols
(+ prompt-embedding symbols) → modem → samples → channel → modem → decoder → Â, î →
M̂ → recovery → Ŝ. Bob's recovery may read the privacy DB; Eve's is built without it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .codec import Codec
from .phy import PilotBlockModem
from .recovery import Recovery, estimate_mask

def embedding_to_symbols(e: np.ndarray) -> np.ndarray:
    """float32 ``(d,)`` (L2-normalised) → complex64 ``(d/2,)`` with unit mean power."""
    half = e.shape[0] // 2
    return ((e[:half] + 1j * e[half:]) * np.sqrt(half)).astype(np.complex64)


def symbols_to_embedding(s: np.ndarray) -> np.ndarray:
    """Inverse of :func:`embedding_to_symbols` (noisy input gives a noisy embedding)."""
    half = s.shape[0]
    return (np.concatenate([s.real, s.imag]) / np.sqrt(half)).astype(np.float32)


@dataclass
class Transmission:
    """What the transmitter puts on air and what it knows about it.

    Attributes:
        samples: complex64 ``(N,)`` baseband samples, unit mean power.
        shape: ``(H, W)`` of the image (header information).
        n_image_symbols, n_embed_symbols: payload layout (header information).
        guarded: float32 ``(H, W, 3)``, A = (1 − M) ⊙ S.
        guard: the guard's result (mask, entity, prompt, scores).
    """

    samples: np.ndarray
    shape: tuple[int, int]
    n_image_symbols: int
    n_embed_symbols: int
    guarded: np.ndarray
    guard: object
    timings: dict[str, float] = field(default_factory=dict)


class Transmitter:
    """``Transmitter(guard, codec, text_encoder, modem)(image, snr_db) -> Transmission``."""

    def __init__(self, guard, codec: Codec, text_encoder, modem: PilotBlockModem | None = None) -> None:
        self.guard, self.codec, self.text = guard, codec, text_encoder
        self.modem = modem or PilotBlockModem()

    def __call__(self, image: np.ndarray, snr_db: float) -> Transmission:
        from .guard import apply_guard

        t0 = time.perf_counter()
        result = self.guard(image)
        guarded = apply_guard(image, result.mask)
        t1 = time.perf_counter()
        x = self.codec.encode(guarded.transpose(2, 0, 1)[None], snr_db)[0]
        if result.prompt is not None:
            emb = self.text.encode([result.prompt])[0]
        else:  # nothing removed: send an all-zero index (no entity)
            emb = np.zeros(self.text.dim, np.float32)
        e = embedding_to_symbols(emb)
        samples = self.modem.modulate(np.concatenate([x, e]))
        t2 = time.perf_counter()
        return Transmission(samples=samples, shape=image.shape[:2], n_image_symbols=x.size,
                            n_embed_symbols=e.size, guarded=guarded, guard=result,
                            timings={"guard": t1 - t0, "encode": t2 - t1})


@dataclass
class Reception:
    """A receiver's output: Â, î, M̂ and the recovered Ŝ (float32 images, bool mask)."""

    a_hat: np.ndarray
    embedding: np.ndarray
    mask_hat: np.ndarray
    recovered: np.ndarray
    timings: dict[str, float]


class Receiver:
    """``Receiver(role, codec, recovery, modem)(samples, tx_layout, no, snr_db) -> Reception``.

    The same class serves Bob and Eve: only the ``recovery`` differs (Bob's is built
    from the DB, Eve's never sees it).
    """

    def __init__(self, role: str, codec: Codec, recovery: Recovery,
                 modem: PilotBlockModem | None = None, steps: int = 0, seed: int = 0) -> None:
        self.role, self.codec, self.recovery = role, codec, recovery
        self.modem = modem or PilotBlockModem()
        self.steps, self.seed = steps, seed

    def __call__(self, samples: np.ndarray, shape: tuple[int, int], n_image_symbols: int,
                 n_embed_symbols: int, no: float, snr_db: float) -> Reception:
        t0 = time.perf_counter()
        sym, _ = self.modem.demodulate(samples, n_image_symbols + n_embed_symbols, no)
        a_hat = self.codec.decode(sym[None, :n_image_symbols], snr_db, shape)[0].transpose(1, 2, 0)
        emb = symbols_to_embedding(sym[n_image_symbols:])
        t1 = time.perf_counter()
        mask_hat = estimate_mask(a_hat)
        recovered = self.recovery(a_hat, mask_hat, emb, steps=self.steps, seed=self.seed)
        t2 = time.perf_counter()
        return Reception(a_hat=a_hat, embedding=emb, mask_hat=mask_hat, recovered=recovered,
                         timings={"decode": t1 - t0, "recover": t2 - t1})


@dataclass
class LoopbackResult:
    """Everything one software loopback produced (images float32 (H,W,3), masks bool)."""

    original: np.ndarray
    tx: Transmission
    bob: Reception
    eve: Reception
    timings: dict[str, float]


class Loopback:
    """Transmitter → two independent channel realizations → Bob and Eve receivers.

    Args:
        transmitter, bob, eve: the three ends.
        channel_factory: ``seed -> Channel`` (Bob and Eve get different seeds).
        seed: Bob's channel uses ``seed``, Eve's ``seed + 1``.
    """

    def __init__(self, transmitter: Transmitter, bob: Receiver, eve: Receiver, channel_factory,
                 seed: int = 0) -> None:
        self.tx, self.bob, self.eve = transmitter, bob, eve
        self.channel_factory, self.seed = channel_factory, seed

    def __call__(self, image: np.ndarray, snr_db: float, eve_snr_db: float | None = None) -> LoopbackResult:
        eve_snr_db = snr_db if eve_snr_db is None else eve_snr_db
        t0 = time.perf_counter()
        tx = self.tx(image, snr_db)
        t1 = time.perf_counter()
        ch_bob = self.channel_factory(self.seed)(tx.samples, snr_db)
        ch_eve = self.channel_factory(self.seed + 1)(tx.samples, eve_snr_db)
        t2 = time.perf_counter()
        layout = (tx.shape, tx.n_image_symbols, tx.n_embed_symbols)
        bob = self.bob(ch_bob.y, *layout, ch_bob.no, snr_db)
        eve = self.eve(ch_eve.y, *layout, ch_eve.no, eve_snr_db)
        t3 = time.perf_counter()
        timings = {**tx.timings, "channel": t2 - t1, "decode": bob.timings["decode"],
                   "decode_eve": eve.timings["decode"], "recover_bob": bob.timings["recover"],
                   "recover_eve": eve.timings["recover"], "total": t3 - t0}
        return LoopbackResult(original=image, tx=tx, bob=bob, eve=eve, timings=timings)
