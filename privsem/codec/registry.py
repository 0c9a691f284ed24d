"""Codecs by name and by the frame header's codec id: what ``--codec`` accepts and what
a receiver builds from a header (Bob and Eve decode whatever the header says)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ..errors import PrivsemError

CODEC_IDS = {"jscc": 0, "digital": 1, "multitask": 2, "softcast": 3, "hda": 4, "superposed": 5}  # the header's codec id
# what --codec offers (auto: softcast, hda or superposed per image)
CODECS = ("auto", "softcast", "hda", "superposed", "jscc", "digital")
DEFAULT_CODEC = "auto"  # the winner of `privsem bench codec` (docs/bench_codec_auto.json: default_codec)
CODEC_CHOICES = " | ".join(CODECS)  # for help texts
DIGITAL_IMAGE_CODEC = "avif"  # the digital baseline a receiver assumes from the header alone


def make_codec(name: str, kn: str | None = None, path: str | Path | None = None, device=None,
               fading: bool | str = False, margin_db: float | None = None):
    """The codec ``name`` at bandwidth ratio ``kn`` (default 1/6). ``path``: the user's
    JSCC weights (``jscc`` only). ``device``: where the JSCC's networks run (default
    CPU); auto, softcast, hda and the digital baseline are numpy/Sionna code on the CPU.
    ``fading``: the link fades (Rayleigh, unknown to the sender; True or ``"slow"``: one
    fade per message, ``"block"``: many): auto and superposed choose for that instead of
    AWGN, hda its base layer's MCS for block fading; other codes ignore it.
    ``margin_db``: hda's and auto's base-layer margin below the design SNR (default
    :data:`~privsem.codec.hda.MARGIN_DB`); other codes ignore it.

    Raises:
        PrivsemError: an unknown name, or ``path`` with a codec that has no weights."""
    from .base import load_codec

    if name not in CODECS:
        raise PrivsemError(f"unknown codec {name!r} (known: {', '.join(CODECS)})")
    if path is not None and name != "jscc":
        raise PrivsemError(f"--codec {name} has no weights to load; a weights file is for --codec jscc")
    if name == "jscc":
        return load_codec(path, kn, device=device)
    if name == "softcast":
        from .softcast import SoftCastCodec

        return SoftCastCodec(kn or "1/6")
    if name == "hda":
        from .hda import HybridCodec

        return HybridCodec(kn or "1/6", margin_db, fading)
    if name == "superposed":
        from .superposed import SuperposedCodec

        return SuperposedCodec(kn or "1/6", margin_db, fading)
    if name == "auto":
        from .auto import AutoCodec

        return AutoCodec(kn or "1/6", fading=fading, margin_db=margin_db)
    from .separated import SeparatedCodec

    return SeparatedCodec(DIGITAL_IMAGE_CODEC, kn or "1/6")


def resolve_codec(spec: str | Path | None = None, kn: str | None = None, device=None, fading: bool = False,
                  margin_db: float | None = None):
    """What ``--codec`` names: None for :data:`DEFAULT_CODEC`, a name of :data:`CODECS`,
    or a path to a JSCC weights file (the learned code with the user's weights), with
    the JSCC on ``device`` (default CPU); ``fading`` and ``margin_db`` as for
    :func:`make_codec`."""
    if spec is None:
        return make_codec(DEFAULT_CODEC, kn, device=device, fading=fading, margin_db=margin_db)
    if str(spec) in CODECS:
        return make_codec(str(spec), kn, device=device, fading=fading, margin_db=margin_db)
    p = Path(spec)
    if p.suffix != ".safetensors" and not p.is_file():
        raise PrivsemError(f"--codec {spec}: neither a codec ({', '.join(CODECS)}) nor a JSCC weights file")
    return make_codec("jscc", kn, p, device=device)


def kn_from_symbols(n: int, shape: tuple[int, int]) -> Fraction:
    """The bandwidth ratio at which an ``(H, W)`` image gets ``n`` symbols (the inverse of
    :func:`~privsem.codec.separated.channel_uses`)."""
    from .separated import channel_uses

    return Fraction(n, channel_uses(shape, Fraction(1))).limit_denominator(1000)


def codec_for_header(codec_id: int, n: int, shape: tuple[int, int], current=None, device=None):
    """The codec a receiver needs for a message: ``current`` if it is that codec, else
    one built from the header's codec id at the k/n its symbol count implies (a JSCC on
    ``device``, default CPU).

    Raises:
        PrivsemError: a codec id this privsem does not know or cannot decode here."""
    names = {v: k for k, v in CODEC_IDS.items()}
    name = names.get(codec_id)
    if name in getattr(current, "members", {}):  # auto: the code the header names, at auto's k/n
        member = current.members[name]
        if member.n_symbols(shape) == n:
            return member
    elif current is not None and getattr(current, "name", None) == name:
        return current
    if name not in CODECS:
        raise PrivsemError(f"message uses codec id {codec_id} ({name or 'unknown'}), which this receiver "
                           "cannot decode")
    return make_codec(name, str(kn_from_symbols(n, shape)), device=device)
