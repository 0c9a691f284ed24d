"""Option groups shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click


def recovery_options(f):
    """``--recovery --steps --scheduler --jumps --guidance --sd-path`` → a ``recovery``
    keyword holding :class:`~privsem.recovery.RecoveryOptions`."""
    import functools

    @click.option("--recovery", "kind", default="diffusion", show_default=True,
                  help="diffusion | sd | exemplar | telea | ns | pushpull (Eve runs the same kind without the DB).")
    @click.option("--steps", "rec_steps", type=int, default=20, show_default=True, help="Diffusion steps.")
    @click.option("--scheduler", default="ddpm", show_default=True, help="ddpm | ddim")
    @click.option("--exemplar-start", type=float, default=0.2, show_default=True,
                  help="Bob: start RePaint from the DB's exemplar diffused to this fraction of T (0: from noise).")
    @click.option("--harmonize", type=float, default=0.25, show_default=True,
                  help="Bob: share of the U-Net's change kept inside his exemplar beyond the seams (1: all, 0: seams only).")
    @click.option("--jumps", default="0,0", show_default=True,
                  help="RePaint resampling: jump length, repetitions (0,0: off).")
    @click.option("--guidance", type=float, default=1.0, show_default=True,
                  help="Classifier-free guidance scale (1: off).")
    @click.option("--sd-path", type=click.Path(path_type=Path), default=None,
                  help="Local Stable Diffusion inpainting folder (diffusers layout) for --recovery sd.")
    @functools.wraps(f)
    def wrapper(*args, kind, rec_steps, scheduler, exemplar_start, harmonize, jumps, guidance, sd_path, **kw):
        from ..errors import PrivsemError
        from ..recovery import RECOVERIES, SCHEDULERS, RecoveryOptions

        if kind not in RECOVERIES:
            raise PrivsemError(f"unknown recovery {kind!r} (known: {', '.join(RECOVERIES)})")
        if scheduler not in SCHEDULERS:
            raise PrivsemError(f"unknown scheduler {scheduler!r} (known: {', '.join(SCHEDULERS)})")
        if kind == "sd" and sd_path is None:
            raise PrivsemError("--recovery sd needs --sd-path DIR (a local Stable Diffusion inpainting folder)")

        try:
            jl, jn = (int(v) for v in jumps.split(","))
        except ValueError:
            raise PrivsemError(f"--jumps takes LENGTH,COUNT (e.g. 5,2), got {jumps!r}") from None
        if rec_steps < 1 or jl < 0 or jn < 0:
            raise PrivsemError("--steps must be ≥ 1 and --jumps non-negative")
        if not 0 <= exemplar_start <= 1:
            raise PrivsemError(f"--exemplar-start must lie in [0, 1], got {exemplar_start}")
        if not 0 <= harmonize <= 1:
            raise PrivsemError(f"--harmonize must lie in [0, 1], got {harmonize}")
        kw["recovery"] = RecoveryOptions(kind=kind, steps=rec_steps, scheduler=scheduler,
                                         exemplar_start=exemplar_start, harmonize=harmonize, jump_length=jl,
                                         jump_n=jn, guidance=guidance, sd_path=sd_path)
        return f(*args, **kw)

    return wrapper


def device_option(f):
    """``--device auto|cpu|cuda|cuda:N|mps`` (also ``$PRIVSEM_DEVICE``; the flag wins;
    default cpu): the command gets a ``device`` keyword, a checked :class:`torch.device`
    (:func:`~privsem.device.resolve_device`; an unknown or absent device is one line)."""
    import functools

    @click.option("--device", "device", default=None, envvar="PRIVSEM_DEVICE", show_envvar=True,
                  metavar="auto|cpu|cuda|cuda:N|mps",
                  help="Where the neural networks run [cpu]; auto: CUDA, else MPS, else CPU. "
                       "The PHY, channels, softcast/hda and OpenCV stay on the CPU (docs/scale.md).")
    @functools.wraps(f)
    def wrapper(*args, device, **kw):
        from ..device import ENV, resolve_device

        source = click.get_current_context().get_parameter_source("device")
        where = ENV if source == click.core.ParameterSource.ENVIRONMENT else "--device"
        return f(*args, device=resolve_device(device or "cpu", where), **kw)

    return wrapper


def train_options(f):
    """``--device``, ``--amp bf16|fp16`` and ``--accum N`` for the trainers: a
    ``train_opts`` keyword holding :class:`~privsem.training.TrainOptions` (fp16 needs
    CUDA; bf16 also runs on the CPU)."""
    import functools

    @click.option("--amp", "amp", default=None, metavar="bf16|fp16",
                  help="Mixed precision (torch.autocast): bf16, or fp16 with a gradient scaler (CUDA only). "
                       "Default: float32.")
    @click.option("--accum", "accum", type=int, default=1, show_default=True,
                  help="Gradient accumulation: micro-batches per optimizer step (--batch stays the crops per "
                       "step, split over the processes and the micro-batches).")
    @functools.wraps(f)
    def wrapper(*args, amp, accum, device, **kw):
        from ..training import TrainOptions

        return f(*args, train_opts=TrainOptions.make(device, amp, accum), **kw)

    return device_option(wrapper)


def view_option(command: str):
    """``--view [ENDPOINT]``: publish the run to ``privsem view`` (default endpoint
    :data:`~privsem.view.events.DEFAULT_EVENTS`; also ``$PRIVSEM_VIEW``). The command gets
    a ``pub`` keyword: a live :class:`~privsem.view.events.Publisher` or a null one,
    which announces the run and ends it with how the command ended."""
    import functools

    from ..view.events import DEFAULT_EVENTS

    def decorate(f):
        @click.option("--view", "view", default=None, is_flag=False, flag_value=DEFAULT_EVENTS,
                      envvar="PRIVSEM_VIEW", metavar="[ENDPOINT]",
                      help=f"Show the run live in `privsem view` (its events endpoint; default {DEFAULT_EVENTS}).")
        @functools.wraps(f)
        def wrapper(*args, view, **kw):
            from ..errors import PrivsemError
            from ..view.events import publisher

            if view is not None and "://" not in view:
                raise PrivsemError(f"--view takes an events endpoint like {DEFAULT_EVENTS}, not {view!r} "
                                   "(write --view=ENDPOINT, or put --view after the arguments)")
            with publisher(view, command) as pub:
                return f(*args, pub=pub, **kw)

        return wrapper

    return decorate


def gui_options(f):
    """``--gui`` and ``--gui-hold SECONDS``."""
    f = click.option("--gui-hold", type=float, default=None,
                     help="With --gui: close the GUI this many seconds after the run (default: when you close it).")(f)
    return click.option("--gui", is_flag=True,
                        help="Run the QT GUI flowgraph: spectrum, waterfall, equalized constellation "
                             "(needs a display).")(f)


def margin_option(f):
    """``--margin``: how far below the design SNR the hybrids' digital layer must still decode."""
    return click.option("--margin", "margin_db", type=click.FloatRange(0, 30), default=None,
                        help="hda/superposed/auto: dB below the design SNR at which the hybrid's digital layer "
                             "still decodes [5: no cliff through a 5 dB drop]; 1–2 for a link whose SNR is known "
                             "(docs/codec.md).")(f)
