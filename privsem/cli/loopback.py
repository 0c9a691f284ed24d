"""``privsem loopback``: the whole chain over a software channel."""

from __future__ import annotations

from pathlib import Path

import click

from ..codec.registry import CODEC_CHOICES, DEFAULT_CODEC
from . import cli
from .options import device_option, gui_options, margin_option, recovery_options, view_option


@cli.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--db", "db_dir", required=True, type=click.Path(path_type=Path), help="Privacy DB directory.")
@click.option("--snr", "snr_db", type=float, default=10.0, show_default=True, help="Es/N0 in dB (Bob).")
@click.option("--eve-snr", "eve_snr_db", type=float, default=None, help="Eve's Es/N0 in dB (default: --snr).")
@click.option("--channel", default="awgn", show_default=True, help="awgn | rayleigh")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Output directory.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--via", type=str, default="software", show_default=True,
              help="software (in-process channel) | gnuradio (the sim_channel flowgraph over ZMQ)")
@click.option("--impairments", is_flag=True,
              help="Add what radios do: ±2 % CFO, ±50 ppm clock offset, 3-tap multipath, unknown gain.")
@click.option("--design-snr", "design_snr_db", type=float, default=None,
              help="SNR (dB) the link is built for: the JSCC is told it, softcast splits its power for it, auto "
                   "chooses its code by it (default: --snr).")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
              help="Seconds to wait for samples from GNU Radio.")
@click.option("--codec", "codec_path", default=None,
              help=f"{CODEC_CHOICES}, or a JSCC .safetensors file [{DEFAULT_CODEC}, the winner of bench codec].")
@click.option("--kn", default=None, help="Bandwidth ratio k/n (softcast and digital: any; the committed JSCC: 1/6, "
                                         "1/12, 1/24) [1/6].")
@click.option("--open-mask", is_flag=True,
              help="softcast/hda: send the removed region's mask in the clear (default: sealed with the DB key, "
                   "so Eve does not learn the outline).")
@margin_option
@recovery_options
@gui_options
@device_option
@view_option("loopback")
def loopback(image, db_dir, snr_db, eve_snr_db, channel, out_dir, seed, via, impairments, design_snr_db,
             timeout_s, codec_path, kn, open_mask, margin_db, recovery, gui, gui_hold, device, pub) -> None:
    """Send IMAGE through guard → JSCC → OFDM → channel → Bob and Eve; write images and report.json."""
    from ..loopback import run_loopback

    r = run_loopback(image, db_dir, snr_db, channel, out_dir, seed=seed, eve_snr_db=eve_snr_db,
                     codec_path=codec_path, via=via, impairments=impairments,
                     design_snr_db=design_snr_db, timeout_s=timeout_s, kn=kn, recovery=recovery,
                     seal_mask=not open_mask, margin_db=margin_db,
                     pub=pub, gui=gui, gui_hold=gui_hold, device=device)
    g = r["guard"]
    click.echo(f"guard: entity={g['entity']} prompt={g['prompt']!r} score={g['score']:.3f} "
               f"mask={100 * g['mask_fraction']:.1f}%")
    for role in ("bob", "eve"):
        m = r[role]
        fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
        click.echo(f"{role}: PSNR {fmt(m['psnr'])} dB (region {fmt(m['psnr_region'])}), "
                   f"SSIM {fmt(m['ssim'])} (region {fmt(m['ssim_region'])}), "
                   f"identity recognized: {m['identity_recognized']}; frames "
                   f"{m['link']['frames_received']}/{m['link']['frames_sent']}, "
                   f"SNR est {fmt(m['link']['snr_est_db'])} dB")
    click.echo(f"codec {r['codec']}; total {r['timings_s']['total']:.2f} s; wrote {out_dir}/report.json")
