"""``privsem bench recovery``: Bob against Eve on held-out entity scenes.

Each scene (:mod:`privsem.database.scenes`, backgrounds the DB never saw) goes through
the guard and the default codec (auto: softcast, hda or superposed, the removed region filled and
its mask sealed with the DB key together with the sender's placement hint,
:mod:`privsem.recovery.placement`) and the pilot-block modem over a seeded software
channel. Bob opens the seal: M̂ and the hint. Eve is given M̂ as well (her best case:
the link's default seals it from her), not the hint. Variants:

* ``bob`` — the DB's sample placed by the sender's hint, then a few low-noise steps of
  the U-Net fine-tuned on the DB, conditioned on the entity's prompt embedding
  (privsem's default for Bob);
* ``bob_noise`` — the same from pure noise (the paper's process as written);
* ``bob_notext`` — the same model with the zero token (the text ablation);
* ``eve`` — the base model, no DB and no prompt (privsem's default link does not send it);
* ``eve_text`` — the base model given the prompt embedding (the paper's link sends î);
* ``exemplar`` — Bob pasting the DB's sample by the hint, without the U-Net;
* ``exemplar_outline`` — Bob pasting the sample he fits to M̂'s outline himself (no hint:
  what a receiver gets from another codec, or an old recording);
* ``telea``, ``ns``, ``pushpull`` — classical inpainting without any prior;
* ``other`` — another individual of the same class (Grace Hopper for a person, the dog
  for an animal) pasted into M̂'s box: the judges' negatives.

Region metrics are inside the guard's mask M (what was removed). Two identity judges:
the guard's decision on the output (eq. 8), and, for people, dlib's face recogniser
(:mod:`privsem.metrics.face_judge`: the nearest face at least half inside M within 0.6
of the DB's faces: a face elsewhere in the picture is not the restored individual).
Per variant and judge: the rate, and the ROC AUC and true-accept rate at 1 % false
accept against the ``other`` baseline. Chance is the guard's rate of "entity present"
on held-out scenes without the entity (``chance_identity``), and the face judge's rate
of a face anywhere within 0.6 of a person's DB faces on those scenes
(``face_judge_chance``, with no region: an upper bound);
``face_judge_on_originals`` is the face judge on the untouched scenes: its ceiling.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ..metrics.image import mask_iou

VARIANTS = ("bob", "bob_noise", "bob_notext", "eve", "eve_text", "exemplar", "exemplar_outline", "telea", "ns",
            "pushpull", "other")
TAKES_HINT = {"bob", "exemplar"}  # the variants given the sender's placement hint
OTHER = {"astronaut": "grace_hopper", "chelsea": "dog"}  # the "random other individual" of each class


class OtherIndividual:
    """Pastes another individual's photo into M̂'s bounding box (inside M̂ only): what a
    judge must not mistake for the entity."""

    name = "other"

    def __init__(self) -> None:
        self.entity = None

    def __call__(self, image, mask, prompt_embedding=None, steps=0, seed=0):
        from ..database.distractors import available, distractor
        from ..database.scenes import _resize

        name = OTHER.get(self.entity, "grace_hopper")
        if not mask.any() or name not in available():
            return image.copy()
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        out = image.copy()
        pix = _resize(distractor(name), (y1 - y0, x1 - x0))
        m = mask[y0:y1, x0:x1]
        out[y0:y1, x0:x1][m] = pix[m]
        return out


def _recoveries(db, emb, steps: int, variants, scheduler: str = "ddpm", device=None) -> dict:
    """Every variant's recovery; ``emb`` float32 ``(N, d)`` are the DB prompts' embeddings."""
    from ..recovery import OpenCVRecovery, PushPullRecovery, RecoveryOptions
    from ..recovery.build import bob_model, db_exemplar
    from ..recovery.diffusion import load_recovery_model
    from ..recovery.generative import DiffusionRecovery

    base = load_recovery_model(device=device)
    tuned = bob_model(db, device)
    exemplar = db_exemplar(db, emb)
    opts = RecoveryOptions()
    make = {
        "bob": lambda: DiffusionRecovery(tuned, steps, scheduler, prompt_embeddings=emb, exemplar=exemplar,
                                         exemplar_t=opts.exemplar_start, harmonize=opts.harmonize),
        "bob_noise": lambda: DiffusionRecovery(tuned, steps, scheduler, prompt_embeddings=emb),
        "bob_notext": lambda: DiffusionRecovery(tuned, steps, scheduler),
        "eve": lambda: DiffusionRecovery(base, steps, scheduler),
        "eve_text": lambda: DiffusionRecovery(base, steps, scheduler),
        "exemplar": lambda: exemplar,
        "exemplar_outline": lambda: exemplar,
        "telea": lambda: OpenCVRecovery("telea"),
        "ns": lambda: OpenCVRecovery("ns"),
        "pushpull": lambda: PushPullRecovery(),
        "other": lambda: OtherIndividual(),
    }
    return {v: make[v]() for v in variants}


USES_PROMPT = {"bob", "bob_noise", "eve_text", "exemplar", "exemplar_outline"}


def time_recovery(recovery, size: int = 256, repeats: int = 3) -> float:
    """Median seconds to recover a ``size × size`` image with a centred elliptical hole
    covering about a third of it, at the recovery's default step count."""
    rng = np.random.default_rng(0)
    img = rng.random((size, size, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    mask = ((yy - size / 2) / (size * 0.35)) ** 2 + ((xx - size / 2) / (size * 0.3)) ** 2 <= 1
    recovery(img, mask, None)  # warm-up
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        recovery(img, mask, None, seed=i)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _rate(verdicts: list[bool]) -> dict:
    """``{"recognized": share, "n": count}`` (share None without verdicts)."""
    return {"recognized": round(float(np.mean(verdicts)), 4) if verdicts else None, "n": len(verdicts)}


def _summary(rows: list[dict], snrs, variants) -> dict:
    from ..metrics.face_judge import roc_auc, tar_at_far

    out = {}
    for snr in snrs:
        neg = [r for r in rows if r["snr_db"] == snr and r["variant"] == "other"]
        for v in variants:
            rs = [r for r in rows if r["snr_db"] == snr and r["variant"] == v]
            if not rs:
                continue
            e = {k: round(float(np.nanmean([r[k] for r in rs])), 4)
                 for k in ("psnr", "ssim", "psnr_region", "ssim_region", "identity_recognized")}
            faces = [r["face_recognized"] for r in rs if r["face_recognized"] is not None]
            e["face_recognized"] = round(float(np.mean(faces)), 4) if faces else None
            e["face_n"] = len(faces)
            for judge, key in (("guard", "guard_evidence"), ("face", "face_score")):
                pos, ng = [r[key] for r in rs], [r[key] for r in neg]
                auc, tar = roc_auc(pos, ng), tar_at_far(pos, ng, 0.01)
                e[f"{judge}_auc"] = None if auc is None else round(auc, 4)
                e[f"{judge}_tar_at_far1"] = None if tar is None else round(tar, 4)
            out[f"{v}@{snr:g}"] = e
    return out


def run(n_scenes: int = 24, snrs=(10.0, 20.0), channel: str = "awgn", steps: int = 20, seed: int = 0,
        variants=VARIANTS, examples: int = 3, scheduler: str = "ddpm", device=None) -> dict:
    """Figures on ``n_scenes`` held-out scenes with an entity, per SNR and variant.
    ``examples`` scenes' images are kept under ``"_examples"`` for :func:`plot_examples`.
    ``device``: where the JSCC, the guard's encoder and the U-Nets run (default CPU)."""
    from ..bench.guard import _evidence
    from ..codec.link import receive_zf
    from ..codec.registry import DEFAULT_CODEC, make_codec
    from ..database.example import build_example_db
    from ..database.scenes import scene_set
    from ..guard import Guard
    from ..guard.guard import apply_guard
    from ..metrics import psnr, region_psnr, region_ssim, ssim
    from ..metrics.face_judge import FaceJudge
    from ..recovery.placement import placement_hint
    from ..text import default_text_encoder

    text = default_text_encoder()
    codec = make_codec(DEFAULT_CODEC, fading=channel == "rayleigh")
    with tempfile.TemporaryDirectory() as tmp:
        db = build_example_db(Path(tmp) / "db")
        guard = Guard(db, device=device)
        judge = FaceJudge(db)
        gammas = {e.name: e.threshold for e in db.entities}
        emb = text.encode([e.prompt for e in db.entities])
        recs = _recoveries(db, emb, steps, variants, scheduler, device)
        prompt_emb = dict(zip([e.name for e in db.entities], emb))
        scenes = [s for s in scene_set("heldout", 2 * n_scenes, seed) if s.entity is not None]
        empty = [s for s in scene_set("heldout", 2 * n_scenes, seed + 1) if s.entity is None]
        chance = float(np.mean([guard.identify(s.image)[0] is not None for s in empty]))
        # the face judge's chance: a face within 0.6 of a person's DB faces where there is none of them
        face_chance = [judge.recognized(s.image, e) for s in empty for e in judge.faces]
        rows, masks, examples_out, guard_missed, originals, hints_ok = [], [], [], 0, [], []
        for i, s in enumerate(scenes):
            g = guard(s.image)
            if g.entity != s.entity:
                guard_missed += 1
                continue
            originals.append(judge.recognized(s.image, s.entity, g.mask))  # the face judge's ceiling
            a = apply_guard(s.image, g.mask).transpose(2, 0, 1)[None]
            hint = placement_hint(db, s.entity, s.image, g.mask)
            for snr in snrs:
                x = codec.encode(a, snr, mask=g.mask[None], seal_key=db.key, hints=[hint])[0]
                a_hat = receive_zf(codec, x, codec.last_side, s.image.shape[:2], channel, snr, seed + i, db.key)
                m_hat, got = codec.last_mask[0], codec.last_hint[0]
                hints_ok.append(got == hint)
                if m_hat is None:  # the metadata failed: Bob has no outline either
                    m_hat = np.zeros(s.mask.shape, bool)
                masks.append({"snr_db": snr, "iou_guard": mask_iou(m_hat, g.mask),
                              "iou_true": mask_iou(m_hat, s.mask)})
                outs = {}
                for v, rec in recs.items():
                    if isinstance(rec, OtherIndividual):
                        rec.entity = s.entity
                    t0 = time.perf_counter()
                    extra = {"placement": got} if v in TAKES_HINT else {}
                    out = rec(a_hat, m_hat, prompt_emb[s.entity] if v in USES_PROMPT else None, seed=i, **extra)
                    dt = time.perf_counter() - t0
                    outs[v] = out
                    verdict = guard(out)
                    dist = judge.distance(out, s.entity, g.mask)
                    rows.append({"scene": i, "entity": s.entity, "background": s.background, "snr_db": snr,
                                 "variant": v, "psnr": psnr(s.image, out), "ssim": ssim(s.image, out),
                                 "psnr_region": region_psnr(s.image, out, g.mask),
                                 "ssim_region": region_ssim(s.image, out, g.mask),
                                 "identity_recognized": float(verdict.entity == s.entity),
                                 "guard_evidence": _evidence(verdict, s.entity, gammas[s.entity]),
                                 "face_distance": dist, "face_score": None if dist is None else -dist,
                                 "face_recognized": None if dist is None else bool(dist < 0.6),
                                 "seconds": dt})
                if len(examples_out) < examples * len(snrs):
                    examples_out.append({"scene": i, "snr_db": snr, "original": s.image, "received": a_hat,
                                         "mask_hat": m_hat, **outs})
    summary = _summary(rows, snrs, list(recs))
    mask_summary = {f"{snr:g}": {k: round(float(np.mean([m[k] for m in masks if m["snr_db"] == snr])), 4)
                                 for k in ("iou_guard", "iou_true")} for snr in snrs}
    timing = {f"recover_{size}_s_{v}": round(time_recovery(recs[v], size), 3)
              for size in (256, 512) for v in ("bob", "eve") if v in recs}
    return {
        "data": "held-out scenes of privsem.database.scenes (new views of one photo each of chelsea and the "
                "astronaut, pasted along their true silhouettes on scikit-image pictures the DB never saw), "
                f"example DB, the default codec ({DEFAULT_CODEC}, k/n 1/6) with the mask and the placement hint "
                "sealed (Eve given M̂ all the same), pilot-block modem, "
                f"{channel} software channel; the guard, which has dlib's face path, is one judge, dlib's face "
                "recogniser the second (people only)",
        "n_scenes": len(scenes), "guard_missed": guard_missed, "steps": steps, "scheduler": scheduler,
        "channel": channel, "hint_received": round(float(np.mean(hints_ok)), 4) if hints_ok else None,
        "chance_identity": round(chance, 4), "mask_estimate_iou": mask_summary, "summary": summary,
        "face_judge_on_originals": _rate([o for o in originals if o is not None]),
        "face_judge_chance": _rate(face_chance),
        **timing, "rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
        "_examples": examples_out,
    }


def plot_examples(result: dict, path: Path, variants=("bob", "bob_notext", "eve", "telea")) -> None:
    """A grid: original, received Â, then each variant, one row per example."""
    from ..imageio import save_image

    rows = []
    for ex in result["_examples"]:
        cols = [ex["original"], ex["received"]] + [ex[v] for v in variants if v in ex]
        rows.append(np.concatenate([np.pad(c, ((2, 2), (2, 2), (0, 0)), constant_values=1) for c in cols], 1))
    if rows:
        save_image(path, np.concatenate(rows, 0))


def plot(result: dict, path: Path) -> None:
    """Region PSNR and identity recognition per variant and SNR (bar charts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summ = result["summary"]
    snrs = sorted({k.split("@")[1] for k in summ}, key=float)
    variants = list(dict.fromkeys(k.split("@")[0] for k in summ))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    w = 0.8 / len(snrs)
    for j, snr in enumerate(snrs):
        x = np.arange(len(variants)) + j * w
        axes[0].bar(x, [summ[f"{v}@{snr}"]["psnr_region"] for v in variants], w, label=f"{snr} dB")
        axes[1].bar(x, [100 * summ[f"{v}@{snr}"]["identity_recognized"] for v in variants], w, label=f"{snr} dB")
    for ax, title in zip(axes, ("privacy-region PSNR (dB)", "identity recognized (%)")):
        ax.set_xticks(np.arange(len(variants)) + 0.4 - w / 2, variants, rotation=30)
        ax.set_title(title)
        ax.legend()
    axes[1].axhline(100 * result["chance_identity"], color="k", ls=":", lw=1)
    fig.suptitle(f"recovery on {result['n_scenes']} held-out scenes, {result['channel']}, {result['steps']} steps")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
