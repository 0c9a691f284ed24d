"""``privsem bench codec`` and ``privsem bench mcs``: the JSCC against separation.

Every codec sends the same number of complex symbols (``k/n``) through the same
pilot-block modem and the same seeded software channel (one realization per image,
shared by all codecs). The digital baseline picks, per SNR, channel, ``k/n`` and image
codec, the best MCS by trying them from the most efficient one under capacity down
until every image decodes (link adaptation on the average SNR, no CSI at the sender).
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..codec.link import send_jscc, send_zf
from ..codec.separated import (
    LDPC_N,
    MCS_TABLE,
    MCS_THRESHOLD_DB,
    SeparatedCodec,
    capacity,
    capacity_bound,
    channel_uses,
)

DEFAULT_SNRS = (0.0, 5.0, 10.0, 15.0, 20.0)
DEFAULT_KNS = ("1/6", "1/12", "1/24")
ANALOG = ("auto", "softcast", "hda", "superposed")  # the codes with softcast's interface, benched side by side


def label(row: dict) -> str:
    """A row's code as the progress lines and plots name it: ``digital/avif``, and hda or
    auto with a base-layer margin other than the default (:data:`~privsem.codec.hda.MARGIN_DB`)
    ``auto@2dB``."""
    from ..codec.hda import MARGIN_DB

    name = row["codec"] + (f"/{row['image_codec']}" if "image_codec" in row else "")
    m = row.get("margin_db")
    return name if m is None or m == MARGIN_DB else f"{name}@{m:g}dB"


def _quality(img: np.ndarray, rec: np.ndarray) -> tuple[float, float]:
    from ..metrics import psnr, ssim

    return psnr(img, rec), ssim(img, rec)


def _row(codec: str, channel: str, snr: float, kn: str, q: list[tuple[float, float]], **extra) -> dict:
    arr = np.array(q)
    return {"codec": codec, "channel": channel, "snr_db": snr, "kn": kn,
            "psnr": round(float(arr[:, 0].mean()), 2), "ssim": round(float(arr[:, 1].mean()), 4), **extra}


def _jscc_pass(view, images, channel: str, snr: float, design_snr: float, seed: int) -> list:
    """(PSNR, SSIM) per image: encoder told ``design_snr``, decoder the channel's SNR."""
    return [_quality(img, send_jscc(view, img, channel, snr, seed + i, design_snr)) for i, img in enumerate(images)]


def _digital_pass(sep, images, channel: str, snr: float, design_snr: float, seed: int):
    """(PSNR, SSIM) per image, CRC failures, and images for which nothing fits."""
    q, fails, no_fit = [], 0, 0
    for i, img in enumerate(images):
        rec = send_zf(sep, img, channel, snr, seed + i, design_snr)
        no_fit += sep.last_fits[0] is None
        fails += sep.last_fits[0] is not None and not sep.last_ok[0]
        q.append(_quality(img, rec))
    return q, fails, no_fit


def jscc_row(view, images, channel, snr, kn, seed) -> dict:
    return _row("jscc", channel, snr, kn, _jscc_pass(view, images, channel, snr, snr, seed))


def _softcast_pass(codec, images, channel: str, snr: float, design_snr: float, seed: int):
    """(PSNR, SSIM) per image, the number not wholly decoded (metadata or digital part
    lost) and, for ``auto``, how many images it sent with each hybrid (else {})."""
    from ..codec.auto import HYBRIDS

    q, lost, chosen = [], 0, []
    for i, img in enumerate(images):
        q.append(_quality(img, send_zf(codec, img, channel, snr, seed + i, design_snr)))
        lost += not codec.last_ok[0]
        chosen += getattr(codec, "last_choice", [])[:1]
    picks = {f"chose_{h}": f"{chosen.count(h)}/{len(images)}" for h in HYBRIDS} if hasattr(codec, "last_choice") else {}
    return q, lost, picks


def linear_row(name: str, images, channel, snr, kn, seed, design_snr: float | None = None,
               margin_db: float | None = None, **extra) -> dict:
    """A row of the linear analog code (``softcast``), the hybrid (``hda``) or the
    choice between them (``auto``), the hybrid's base layer ``margin_db`` below the
    design SNR (default :data:`~privsem.codec.hda.MARGIN_DB`; hda and auto rows say it);
    a point the code cannot serve (an image too small for its metadata at this k/n) is
    a row with ``psnr`` None and the reason in ``cannot_serve``."""
    from ..codec.hda import MARGIN_DB
    from ..codec.registry import make_codec
    from ..errors import PrivsemError

    design = snr if design_snr is None else design_snr
    if name != "softcast":
        extra["margin_db"] = MARGIN_DB if margin_db is None else margin_db
    try:
        # no CSIT: the sender knows the fade's law (a new fade every 256 samples), not the fade
        codec = make_codec(name, kn, margin_db=margin_db, fading="block" if channel == "rayleigh" else None)
        q, lost, picks = _softcast_pass(codec, images, channel, snr, design, seed)
    except PrivsemError as e:
        return {"codec": name, "channel": channel, "snr_db": snr, "kn": kn, "psnr": None, "ssim": None,
                "cannot_serve": str(e), **extra}
    return _row(name, channel, snr, kn, q, not_decoded=f"{lost}/{len(images)}", **picks, **extra)


def digital_row(images, channel, snr, kn, image_codec, seed, max_tries: int = 6) -> dict:
    """Best MCS for this (SNR, channel, k/n, image codec), with its outage count."""
    cap = capacity(snr, channel)
    cands = sorted((m for m in MCS_TABLE if m.efficiency < cap and MCS_THRESHOLD_DB[m.name] <= snr + 1.0),
                   key=lambda m: -m.efficiency) or [MCS_TABLE[0]]
    best = None
    for mcs in cands[:max_tries]:
        q, fails, no_fit = _digital_pass(SeparatedCodec(image_codec, kn, mcs.name), images, channel, snr, snr, seed)
        row = _row("digital", channel, snr, kn, q, image_codec=image_codec, mcs=mcs.name,
                   outages=f"{fails}/{len(images)}", nothing_fits=f"{no_fit}/{len(images)}")
        if best is None or row["psnr"] > best["psnr"]:
            best = row
        if fails == 0:
            break  # lower rates only carry fewer bytes
    return best


def capacity_row(images, channel, snr, kn, image_codec) -> dict:
    q = [_quality(img, capacity_bound(img, image_codec, channel_uses(img.shape[:2], Fraction(kn)),
                                      snr, channel)[0]) for img in images]
    return _row("capacity", channel, snr, kn, q, image_codec=image_codec)


def mismatch_rows(view, images, design_snr: float, snrs, kn: str, image_codecs, seed: int,
                  margins=(None,)) -> list[dict]:
    """Both schemes built for ``design_snr`` (the JSCC is told it, the digital link
    adapts to it) and run at other SNRs over AWGN: the JSCC degrades, separation falls
    off a cliff below its MCS's threshold. auto and hda at each of ``margins``."""
    from ..codec.separated import link_adaptation

    rows = []
    mcs = link_adaptation(design_snr).name
    for snr in snrs:
        q = _jscc_pass(view, images, "awgn", snr, design_snr, seed)
        rows.append(_row("jscc", "awgn", snr, kn, q, design_snr_db=design_snr))
        rows += _analog_rows(images, "awgn", snr, kn, seed, margins, design_snr, design_snr_db=design_snr)
        for ic in image_codecs:
            q, fails, _ = _digital_pass(SeparatedCodec(ic, kn, mcs), images, "awgn", snr, design_snr, seed)
            rows.append(_row("digital", "awgn", snr, kn, q, design_snr_db=design_snr, image_codec=ic,
                             mcs=mcs, outages=f"{fails}/{len(images)}"))
    return rows


def _analog_rows(images, channel, snr, kn, seed, margins, design_snr=None, **extra) -> list[dict]:
    """auto, softcast and hda at the first of ``margins``, then auto and hda at the others."""
    rows = [linear_row(name, images, channel, snr, kn, seed, design_snr, margins[0], **extra) for name in ANALOG]
    return rows + [linear_row(name, images, channel, snr, kn, seed, design_snr, m, **extra)
                   for m in margins[1:] for name in ANALOG if name != "softcast"]


def default_codec(rows: list[dict], margin_db: float | None = None,
                  whole_mismatch: bool = False) -> tuple[str, dict[str, float]]:
    """The code ``--codec`` should default to: the highest mean PSNR over ``rows`` (every
    channel, SNR and k/n point, each code built for the SNR it runs at, and the
    mismatch run, every code built for one SNR), among what a link can send
    (``auto``, ``softcast``, ``hda``, ``superposed``, ``jscc``, and ``digital`` with AVIF,
    the image codec a receiver assumes); the hybrids at margin ``margin_db`` (default
    :data:`~privsem.codec.hda.MARGIN_DB`). Of the mismatch run only the points the
    default margin promises to serve count (down to ``margin_db`` below the design SNR,
    the same points for every code): below them every code with a digital part is lost
    by design, and a user who expects a deeper drop raises ``--margin``.
    ``whole_mismatch`` counts every mismatch point (the rule before session 10)."""
    from ..codec.hda import MARGIN_DB

    margin_db = MARGIN_DB if margin_db is None else margin_db

    def served(r):
        return whole_mismatch or "design_snr_db" not in r or r["snr_db"] >= r["design_snr_db"] - margin_db

    means = {}
    for name in (*ANALOG, "jscc", "digital"):
        vals = [r["psnr"] for r in rows if r["codec"] == name and r["psnr"] is not None and served(r)
                and (name != "digital" or r.get("image_codec") == "avif")
                and r.get("margin_db", margin_db) == margin_db]
        if vals:
            means[name] = round(float(np.mean(vals)), 2)
    return max(means, key=means.get), means


def time_codec(codec, size: int = 256, repeats: int = 5) -> float:
    """Median seconds to encode + decode one ``size × size`` crop of a held-out photo
    (no channel), as for a new picture each time: the image codecs' quality search is
    not kept between repeats."""
    from ..codec.data import named_image
    from ..codec.imagecodec import forget_fits

    img = np.ascontiguousarray(named_image("coffee")[:size, :size].transpose(2, 0, 1)[None])
    times = []
    for _ in range(repeats + 1):
        forget_fits()
        t0 = time.perf_counter()
        y = codec.encode(img, 10.0)
        side = (codec.last_side,) if getattr(codec, "uses_side", False) else ()
        codec.decode(y, 10.0, (size, size), *side)
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


def run(images_dir: Path | None = None, snrs=DEFAULT_SNRS, kns=DEFAULT_KNS,
        channels=("awgn", "rayleigh"), image_codecs=("jpeg", "webp", "avif"),
        weights: Path | None = None, seed: int = 0, progress=print, design_snr: float | None = 10.0,
        mismatch_snrs=(-5.0, -2.5, 0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0), device=None,
        phy_vias=("software",), phy_snr: float = 10.0, margins=(None,)) -> dict:
    """All rows, the SNR-mismatch rows (both schemes built for ``design_snr``, AWGN, the
    first k/n; ``None`` skips them), the rows through the radio chain at ``phy_snr``
    (AWGN, the first k/n, each transport of ``phy_vias``: :mod:`privsem.bench.codec_phy`),
    the data used and each code's time per 256×256 image. ``margins``: hda's and auto's
    base-layer margins (dB; None the default); the first is the one the PHY rows, the
    timing and ``default_codec`` use, the others add auto and hda rows.
    ``device``: where the JSCC runs (default CPU); auto, softcast, hda and the digital
    baseline (Sionna's LDPC) are CPU code."""
    from ..codec import load_codec
    from ..codec.data import HELD_OUT, default_images, folder_images
    from ..codec.hda import MARGIN_DB

    margins = tuple(MARGIN_DB if m is None else m for m in margins)

    codecs = {kn: load_codec(weights, kn, device) for kn in kns}  # the committed model per k/n, or the user's
    if images_dir is None:
        images, data = default_images("heldout"), f"held-out default images: {', '.join(HELD_OUT)}"
    else:
        images = folder_images(images_dir, "all")
        data = f"{len(images)} images from {images_dir}"
    rows = []
    for channel in channels:
        for snr in snrs:
            for kn in kns:
                rows.append(jscc_row(codecs[kn], images, channel, snr, kn, seed))
                rows += _analog_rows(images, channel, snr, kn, seed, margins)
                for ic in image_codecs:
                    rows.append(digital_row(images, channel, snr, kn, ic, seed))
                    rows.append(capacity_row(images, channel, snr, kn, ic))
                progress(" | ".join(f"{label(r)} "
                                    f"{'-' if r['psnr'] is None else format(r['psnr'], '.2f')}" for r in rows if r["channel"] == channel
                                    and r["snr_db"] == snr and r["kn"] == kn) + f"  [{channel} {snr:g} dB {kn}]")
    mismatch = []
    if design_snr is not None:
        mismatch = mismatch_rows(codecs[kns[0]], images, design_snr, mismatch_snrs, kns[0], image_codecs, seed,
                                 margins)
        progress(f"mismatch (built for {design_snr:g} dB): " + " | ".join(
            f"{r['snr_db']:g} dB {label(r)} "
            f"{'-' if r['psnr'] is None else format(r['psnr'], '.2f')}"
            for r in mismatch))
    phy = []
    if phy_vias:
        from ..codec.registry import make_codec
        from .codec_phy import phy_rows

        kn0 = kns[0]
        phy = phy_rows({**{a: make_codec(a, kn0, margin_db=margins[0]) for a in ANALOG},
                        "jscc": codecs[kn0], "digital": make_codec("digital", kn0)},
                       images, phy_snr, kn0, seed, tuple(phy_vias), progress=progress)
    from ..codec.registry import make_codec

    winner, means = default_codec(rows + mismatch, margins[0])
    return {"default_codec": winner, "mean_psnr_per_codec": means,
            "mean_psnr_per_codec_whole_mismatch": default_codec(rows + mismatch, margins[0], whole_mismatch=True)[1],
            "data": data, "n_images": len(images),
            "seed": seed, "margins_db": list(margins),
            "jscc_encode_decode_s_256": {kn: round(time_codec(c), 4) for kn, c in codecs.items()},
            **{f"{a}_encode_decode_s_256": {kn: round(time_codec(make_codec(a, kn, margin_db=margins[0])), 4)
                                            for kn in kns}
               for a in ANALOG},
            "note": "same symbols per image for every codec; pilot-block modem (16 pilots per 256); "
                    "digital = image codec + 5G LDPC (n=1944, 20 BP iterations) + QAM, best MCS per point; "
                    "capacity = image codec at n·C(SNR) error-free bits (Rayleigh: ergodic capacity)",
            "rows": rows, "mismatch": mismatch, "phy": phy}


def measure_thresholds(target: float = 0.02, n_codewords: int = 50, seed: int = 0) -> dict[str, float]:
    """AWGN Es/N0 (dB, 0.1 dB steps) where each MCS's codeword error rate drops below
    ``target``; bisection between the Shannon limit and +12 dB."""
    from ..phy.digital import ldpc_decode, ldpc_encode, qam_llr, qam_map

    rng = np.random.default_rng(seed)
    out = {}
    for mcs in MCS_TABLE:
        bits = rng.integers(0, 2, (n_codewords, mcs.k)).astype(np.float32)
        x = qam_map(ldpc_encode(bits, mcs.k, LDPC_N).reshape(-1), mcs.bits)
        noise = (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size)) / np.sqrt(2)

        def cer(snr_db: float) -> float:
            no = 10.0 ** (-snr_db / 10.0)
            llr = qam_llr((x + noise * np.sqrt(no)).astype(np.complex64), np.float32(no), mcs.bits)
            dec = ldpc_decode(llr.reshape(n_codewords, LDPC_N), mcs.k, LDPC_N)
            return float(np.mean(np.any(dec != bits, axis=1)))

        lo = 10 * np.log10(2 ** mcs.efficiency - 1)
        hi = lo + 12.0
        while hi - lo > 0.1:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if cer(mid) < target else (mid, hi)
        out[mcs.name] = round(hi, 1)
    return out


def plot(result: dict, path: Path) -> None:
    """PSNR vs SNR, one panel per (channel, k/n), like DeepJSCC's Fig. 3."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    channels = list(dict.fromkeys(r["channel"] for r in rows))
    kns = list(dict.fromkeys(r["kn"] for r in rows))
    fig, axes = plt.subplots(len(channels), len(kns), figsize=(4.2 * len(kns), 3.4 * len(channels)),
                             squeeze=False, sharey=True)
    styles = {"jscc": ("-", "o"), "auto": ("-", "*"), "softcast": ("-", "^"), "hda": ("-", "D"), "superposed": ("-", "P"),
              "digital": ("--", "s"),
              "capacity": (":", None)}
    for a, ch in enumerate(channels):
        for b, kn in enumerate(kns):
            ax = axes[a][b]
            sel = [r for r in rows if r["channel"] == ch and r["kn"] == kn]
            for name in dict.fromkeys(label(r) for r in sel):
                pts = sorted((r["snr_db"], r["psnr"]) for r in sel if label(r) == name and r["psnr"] is not None)
                if not pts:
                    continue
                ls, mk = styles[name.split("/")[0].split("@")[0]]
                ax.plot(*zip(*pts), linestyle="-." if "@" in name else ls, marker=mk, markersize=3,
                        label=name.replace("/", " ").upper() if name.startswith(("digital", "capacity")) else name)
            ax.set_title(f"{ch.upper()}, k/n = {kn}")
            ax.set_xlabel("SNR (dB)")
            ax.grid(alpha=0.3)
            if b == 0:
                ax.set_ylabel("PSNR (dB)")
    handles = {}
    for ax in axes.flat:  # one legend for all panels, beside them: inside, it hid curves
        for h, name in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(name, h)
    fig.suptitle(f"analog codes vs separation\n({result['data']})", fontsize=9)
    fig.tight_layout()
    fig.legend(list(handles.values()), list(handles), fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    if result.get("mismatch"):
        _plot_mismatch(result, path.with_name(path.stem + "_mismatch.png"), plt)


def _plot_mismatch(result: dict, path: Path, plt) -> None:
    rows = result["mismatch"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name in dict.fromkeys(label(r) for r in rows):
        pts = sorted((r["snr_db"], r["psnr"]) for r in rows if label(r) == name and r["psnr"] is not None)
        if not pts:
            continue
        analog = not name.startswith("digital")
        mcs = next(r["mcs"] for r in rows if r["codec"] == "digital")
        shown = name.replace("jscc", "JSCC").replace("softcast", "SoftCast").replace("hda", "HDA") if analog \
            else f"{name.split('/')[1].upper()} + {mcs}"
        ax.plot(*zip(*pts), marker="o" if analog else "s", markersize=3,
                linestyle=("-." if "@" in name else "-") if analog else "--", label=shown)
    ax.axvline(rows[0]["design_snr_db"], color="grey", lw=0.8)
    ax.set_xlabel("channel SNR (dB)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(f"Built for {rows[0]['design_snr_db']:g} dB, AWGN, k/n = {rows[0]['kn']}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
