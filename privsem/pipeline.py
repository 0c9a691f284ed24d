"""Transmitter, receivers and the stream in between: composition of the stages, no maths.

Data flow (DESIGN.md §1): image S → guard → A, entity → JSCC → symbols → frames
(keyed entity tag in the header) → samples ⇢ channel ⇢ stream → frames → message →
JSCC decoder → Â → M̂ → recovery → Ŝ. Bob resolves the tag with the privacy DB; Eve
receives the same samples and has no DB.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .codec.registry import CODEC_IDS, codec_for_header  # the header's codec id
from .errors import PrivsemError
from .phy import (
    Frame,
    Header,
    Message,
    Modem,
    Reassembler,
    entity_tag,
    resolve_tag,
    split,
    transmit,
)
from .phy.header import FLAG_EMBEDDING, FLAG_RESERVED_BLACK, NO_ENTITY


def embedding_to_symbols(e: np.ndarray) -> np.ndarray:
    """float32 ``(d,)`` (L2-normalised) → complex64 ``(d/2,)`` with unit mean power."""
    half = e.shape[0] // 2
    return ((e[:half] + 1j * e[half:]) * np.sqrt(half)).astype(np.complex64)


def symbols_to_embedding(s: np.ndarray) -> np.ndarray:
    """Inverse of :func:`embedding_to_symbols` (noisy input gives a noisy embedding)."""
    half = s.shape[0]
    return (np.concatenate([s.real, s.imag]) / np.sqrt(half)).astype(np.float32)


EMBED_SYMBOLS = 192  # a 384-d prompt embedding as complex symbols


@dataclass
class TxResult:
    """What the transmitter sent: samples, the guard's result and the guarded image."""

    samples: np.ndarray
    header: Header
    guard: object
    guarded: np.ndarray
    timings: dict[str, float]


def transmit_image(image: np.ndarray, guard, codec, key: bytes, design_snr_db: float = 10.0,
                   msg_id: int = 0, modem: Modem | None = None, text_encoder=None,
                   send_embedding: bool = False, seal_mask: bool = True, db=None) -> TxResult:
    """Guard, JSCC-encode and frame one image.

    Args:
        image: float32 ``(H, W, 3)`` in [0, 1].
        key: the DB's secret, for the keyed entity tag in the header.
        design_snr_db: the SNR the JSCC encoder is told (the link's expected SNR).
        send_embedding: also send the prompt's text embedding as 192 analog symbols at
            the start of the message (the paper's scheme; it reveals the prompt's meaning
            to anyone with the public text encoder — off by default).
        seal_mask: a codec that sends the removed region's mask (softcast, hda) seals it
            with ``key``: Bob reads the outline, Eve gets neither the entity nor its
            silhouette (False: the mask in the clear, and Eve knows the hole).
        db: the privacy DB the guard matched against (default: ``guard.db``); with a
            sealed mask, the sender's placement hint for Bob's exemplar (which DB sample,
            where, in what light: :mod:`privsem.recovery.placement`) is sealed with it.
    """
    from .guard import RESERVED_BLACK, apply_guard
    modem = modem or Modem()
    t0 = time.perf_counter()
    g = guard(image)
    guarded = apply_guard(image, g.mask)
    t1 = time.perf_counter()
    if getattr(codec, "sends_mask", False):  # the codec fills the hole and sends M itself
        hint = None
        db = db if db is not None else getattr(guard, "db", None)
        if seal_mask and db is not None and g.entity is not None:
            from .recovery.placement import placement_hint

            hint = placement_hint(db, g.entity, image, g.mask)
        x = codec.encode(guarded.transpose(2, 0, 1)[None], design_snr_db, mask=g.mask[None],
                         seal_key=key if seal_mask else None, hints=[hint])[0]
        flags = 0
    else:
        sent = apply_guard(image, g.mask, RESERVED_BLACK)  # black means "removed" (M̂ at the receiver)
        x = codec.encode(sent.transpose(2, 0, 1)[None], design_snr_db)[0]
        flags = FLAG_RESERVED_BLACK
    if send_embedding:
        if text_encoder is None:
            raise ValueError("send_embedding needs a text encoder")
        emb = text_encoder.encode([g.prompt])[0] if g.prompt else np.zeros(text_encoder.dim, np.float32)
        x = np.concatenate([embedding_to_symbols(emb), x])
        flags |= FLAG_EMBEDDING
    side = codec.last_side[0] if getattr(codec, "uses_side", False) else 0  # softcast: its metadata's code
    h = Header(codec_id=CODEC_IDS[codec.name], mcs=side, flags=flags, msg_id=msg_id, height=image.shape[0],
               width=image.shape[1], tag=entity_tag(key, g.entity))
    h = replace(h, n_frames=len(split(h, x)), total=len(x))
    samples = transmit(modem, h, x)
    t2 = time.perf_counter()
    return TxResult(samples=samples, header=h, guard=g, guarded=guarded,
                    timings={"guard": t1 - t0, "encode": t2 - t1})


class StreamReceiver:
    """Feed it sample chunks as they arrive; it returns frames as they complete and
    keeps every frame it has seen (CRC failures included) for the report."""

    def __init__(self, modem: Modem | None = None, keep_frames: bool = True) -> None:
        self.modem = modem or Modem()
        self.buffer = np.zeros(0, np.complex64)
        self.base = 0  # absolute index of buffer[0]
        self.frames: list[Frame] = []
        self.keep_frames = keep_frames  # False: a long-running receiver keeps only the reassembler's frames
        self.reassembler = Reassembler()

    def feed(self, samples: np.ndarray, final: bool = False) -> list[Frame]:
        self.buffer = np.concatenate([self.buffer, np.asarray(samples, np.complex64)])
        frames, consumed = self.modem.demodulate(self.buffer, final=final)
        for f in frames:
            f.start += self.base
            if self.keep_frames:
                self.frames.append(f)
            self.reassembler.add(f)
        self.buffer = self.buffer[consumed:]
        self.base += consumed
        return frames

    def finish(self) -> list[Frame]:
        return self.feed(np.zeros(0, np.complex64), final=True)

    def forget(self, msg_id: int) -> None:
        """Drop a message that has been handled (its frames and the report's copies)."""
        self.reassembler.forget(msg_id)
        self.frames = [f for f in self.frames if f.header is None or f.header.msg_id != msg_id]


@dataclass
class RxResult:
    """A receiver's output for one message."""

    role: str
    message: Message
    a_hat: np.ndarray
    mask_hat: np.ndarray
    recovered: np.ndarray
    entity: str | None
    prompt: str | None
    snr_db: float
    timings: dict[str, float] = field(default_factory=dict)


def frame_report(frames: list[Frame], sample_rate: float | None = None) -> list[dict]:
    """Per-frame quality for report.json."""
    out = []
    for f in frames:
        out.append({"start": int(f.start), "crc_ok": bool(f.crc_ok), "complete": bool(f.complete),
                    "damaged": bool(f.damaged), **f.quality,
                    "msg_id": f.header.msg_id if f.header else None,
                    "seq": f.header.seq if f.header else None,
                    "snr_db": round(float(f.snr_db), 2), "cfo": round(float(f.cfo), 7),
                    **({"cfo_hz": round(float(f.cfo) * sample_rate, 1)} if sample_rate else {})})
    return out


def receive_image(msg: Message, codec, recovery, role: str, db=None, text_encoder=None,
                  seed: int = 0, device=None) -> RxResult:
    """Decode a reassembled message and recover the removed region.

    Bob (``db`` given) resolves the keyed tag to the entity and its prompt; Eve has no
    DB and recovers without them. ``seed`` drives a generative recovery's noise.
    ``codec``: the receiver's codec, or None to build the one the header names (a
    given codec that the header does not name is replaced the same way; a JSCC built
    so runs on ``device``, default CPU). Demodulation and reassembly are numpy on the
    CPU; only the codec's networks and the recovery run on their device.
    """
    from .recovery import estimate_mask

    if role == "bob" and db is None:
        raise PrivsemError("Bob needs the privacy database (--db)")
    t0 = time.perf_counter()
    h = msg.header
    good = [f.snr_db for f in msg.frames.values()]
    start, embedding = 0, None
    if h.flags & FLAG_EMBEDDING:
        start, embedding = EMBED_SYMBOLS, symbols_to_embedding(msg.values[:EMBED_SYMBOLS])
    values = msg.values[start:]
    shape = (h.height, h.width)
    codec = codec_for_header(h.codec_id, values.size, shape, codec, device=device)
    noise = {}
    if getattr(codec, "decodes_zf", False) and msg.no is not None:
        # softcast, hda, digital: zero-forced values, each weighed by its own noise
        # (faded subcarriers; lost frames as erasures), as over the ideal link
        zf, no = msg.zero_forced()
        values, noise = zf[start:], {"no": no[start:][None]}
    # a learned code is told an SNR inside its trained range; the others want the estimate itself
    snr_db = float(np.clip(np.mean(good), *getattr(codec, "snr_range", (-10.0, 40.0))))
    codec.rate_of(values.size, shape)  # the k/n the sender chose; refuses sizes that fit none
    side = (h.mcs,) if getattr(codec, "uses_side", False) else ()  # the codec's header byte
    # the codes that send the mask (softcast, hda, superposed): Bob's key opens it when sealed; Eve has none
    sends_mask = getattr(codec, "sends_mask", False)
    seal = {"seal_key": db.key if db is not None else None} if sends_mask else {}
    a_hat = codec.decode(values[None], snr_db, shape, *side, **seal, **noise)[0].transpose(1, 2, 0)
    if getattr(codec, "uses_side", False) and not codec.last_ok[0]:
        import warnings

        what = getattr(codec, "checked_parts", "payload")
        warnings.warn(f"message {h.msg_id}: the {codec.name} {what} failed its CRC; what could not be decoded is "
                      "mid-grey", stacklevel=2)
    t1 = time.perf_counter()
    entity = prompt = None
    if db is not None and h.tag != NO_ENTITY:
        entity = resolve_tag(db.key, h.tag, [e.name for e in db.entities])
        prompt = next((e.prompt for e in db.entities if e.name == entity), None)
        if prompt is not None and text_encoder is not None:
            embedding = text_encoder.encode([prompt])[0]
    sent_mask = codec.last_mask[0] if sends_mask else None
    sealed = codec.last_sealed[0] if sends_mask else False
    if sent_mask is not None:
        mask_hat = sent_mask  # M̂ came as side information with the metadata
    elif sealed:  # Eve: the hole is sealed and filled with texture; dark pixels are the picture's own
        mask_hat = np.zeros(shape, bool)
    elif h.flags & FLAG_RESERVED_BLACK:  # also undoes the sender's mapping of the picture above black
        from .guard import RESERVED_BLACK
        from .recovery.mask_estimate import find_removed

        mask_hat, a_hat = find_removed(a_hat, RESERVED_BLACK)
    else:
        mask_hat = estimate_mask(a_hat)
    if h.tag == NO_ENTITY:  # the guard removed nothing: no dark patch of the picture is a hole
        mask_hat = np.zeros(shape, bool)
    hint = codec.last_hint[0] if sends_mask and db is not None else None
    # Bob's aligned exemplar takes the sender's sealed placement hint; other recoveries do not
    extra = {"placement": hint} if hint is not None and getattr(recovery, "takes_placement", False) else {}
    recovered = recovery(a_hat, mask_hat, embedding, seed=seed, **extra)
    t2 = time.perf_counter()
    return RxResult(role=role, message=msg, a_hat=a_hat, mask_hat=mask_hat, recovered=recovered,
                    entity=entity, prompt=prompt, snr_db=snr_db,
                    timings={"decode": t1 - t0, "recover": t2 - t1})
