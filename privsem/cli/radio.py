"""``privsem tx`` and ``privsem rx``."""

from __future__ import annotations

from pathlib import Path

import click

from ..codec.registry import CODEC_CHOICES, DEFAULT_CODEC
from . import cli
from .options import device_option, gui_options, margin_option, recovery_options, view_option


@cli.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--db", "db_dir", required=True, type=click.Path(path_type=Path), help="Privacy DB directory.")
@click.option("--zmq", "zmq_endpoint", default=None, help="Bind a ZMQ PUSH here, e.g. tcp://127.0.0.1:5555.")
@click.option("--iq", "iq_path", type=click.Path(path_type=Path), default=None, help="Write FILE.sigmf-data.")
@click.option("--design-snr", "design_snr_db", type=float, default=10.0, show_default=True,
              help="SNR (dB) the link is built for (the JSCC is told it; softcast splits its power and codes its "
                   "metadata for it; auto chooses its code by it).")
@click.option("--msg-id", type=int, default=0, show_default=True)
@click.option("--repeat", type=int, default=1, show_default=True, help="Send the image N times.")
@click.option("--sample-rate", type=float, default=2e6, show_default=True, help="Recorded in SigMF (S/s).")
@click.option("--freq", "center_freq", type=float, default=0.0, show_default=True, help="Centre frequency (Hz), SigMF.")
@click.option("--send-embedding", is_flag=True, help="Also send the prompt embedding (the paper's scheme).")
@click.option("--codec", default=None,
              help=f"{CODEC_CHOICES}, or a JSCC .safetensors file [{DEFAULT_CODEC}]; receivers follow the header.")
@click.option("--kn", default=None, help="Bandwidth ratio k/n (the committed JSCC: 1/6, 1/12, 1/24) [1/6].")
@click.option("--open-mask", is_flag=True, help="softcast/hda: the removed region's mask in the clear (default: sealed).")
@click.option("--fading", is_flag=True,
              help="auto/superposed: the link fades slowly (moving radios, no line of sight): choose the code, "
                   "and the superposed code its digital layer, for Rayleigh fading around --design-snr instead of "
                   "AWGN (robust digital parts, or softcast, which has no cliff).")
@margin_option
@click.option("--radio", default=None, help="Radio profile (sdr/*.yaml name or a YAML path): transmit over it.")
@click.option("--gain", type=float, default=None, help="TX gain in dB (radio; default: the profile's).")
@click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True,
              help="Seconds to wait for the ZMQ peer to take the samples.")
@device_option
def tx(image, db_dir, zmq_endpoint, iq_path, design_snr_db, msg_id, repeat, sample_rate, center_freq,
       send_embedding, codec, kn, open_mask, fading, margin_db, radio, gain, timeout_s, device) -> None:
    """Guard, encode and frame IMAGE; send it over ZMQ or write it as SigMF."""
    from ..txrx import send

    info = send(image, db_dir, zmq_endpoint, iq_path, design_snr_db, msg_id, sample_rate, center_freq,
                send_embedding, timeout_s, repeat,
                on_bound=lambda ep: click.echo(f"sending on {ep}", err=True), radio=radio, gain=gain,
                kn=kn, codec=codec, seal_mask=not open_mask, device=device, fading=fading,
                margin_db=margin_db)
    where = info.get("iq") or info.get("zmq")
    click.echo(f"sent message {info['msg_id']}: {info['frames']} frames, {info['samples']} samples "
               f"→ {where}; codec {info['codec']}; entity removed: {info['entity_removed']}")


@cli.command()
@click.option("--role", required=True, help="bob | eve")
@click.option("--db", "db_dir", type=click.Path(path_type=Path), default=None, help="Privacy DB (Bob only).")
@click.option("--zmq", "zmq_endpoint", default=None, help="Connect a ZMQ PULL to this endpoint.")
@click.option("--iq", "iq_path", type=click.Path(path_type=Path), default=None, help="Read FILE.sigmf-data.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True,
              help="Give up after this many seconds (ZMQ).")
@click.option("--idle", "idle_s", type=float, default=2.0, show_default=True,
              help="Stop after this many seconds without samples once data has arrived (ZMQ).")
@click.option("--messages", type=int, default=1, show_default=True, help="Stop after N complete messages (ZMQ).")
@click.option("--record", type=click.Path(path_type=Path), default=None,
              help="Also save the received samples as SigMF (ZMQ).")
@click.option("--sample-rate", type=float, default=2e6, show_default=True, help="For ZMQ streams and radios (S/s).")
@click.option("--radio", default=None, help="Radio profile (sdr/*.yaml name or a YAML path): receive from it.")
@click.option("--freq", "center_freq", type=float, default=0.0, show_default=True, help="Centre frequency (Hz).")
@click.option("--gain", type=float, default=None, help="RX gain in dB (radio; default: the profile's).")
@click.option("--reference", type=click.Path(path_type=Path), default=None,
              help="The image that was sent: score each message (PSNR, SSIM; region and identity with a DB).")
@click.option("--score-db", type=click.Path(path_type=Path), default=None,
              help="DB used only to score against --reference (Eve; Bob scores with --db). Never used to decode.")
@recovery_options
@gui_options
@device_option
@view_option("rx")
def rx(role, db_dir, zmq_endpoint, iq_path, out_dir, timeout_s, idle_s, messages, record, sample_rate, radio,
       center_freq, gain, reference, score_db, recovery, gui, gui_hold, device, pub) -> None:
    """Receive, decode and recover; write the image(s) and report.json to --out."""
    from ..txrx import receive

    r = receive(role, out_dir, db_dir, zmq_endpoint, iq_path, timeout_s, idle_s, messages, record, sample_rate,
                radio=radio, center_freq=center_freq, gain=gain, recovery_opts=recovery, reference=reference,
                score_db=score_db, pub=pub, gui=gui, gui_hold=gui_hold, device=device)
    for m in r["messages"]:
        click.echo(f"{role}: message {m['msg_id']} {m['shape'][0]}×{m['shape'][1]}: frames "
                   f"{m['frames_received']}/{m['frames_sent']} (lost {m['frames_lost']}), "
                   f"SNR est {m['snr_est_db']:.1f} dB, entity {m['entity']} → {out_dir}/{m['image']}")
        s = m.get("metrics")
        if s and "error" not in s:
            fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
            click.echo(f"{role}: vs --reference: PSNR {fmt(s['psnr'])} dB (region {fmt(s['psnr_region'])}), "
                       f"SSIM {fmt(s['ssim'])}, identity recognized: {s['identity_recognized']}")
    click.echo(f"{r['frames_detected']} frames detected, {r['crc_failures']} header CRC failures")
