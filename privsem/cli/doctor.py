"""``privsem doctor``: what this machine has; exit 1 on a broken install."""

from __future__ import annotations

import json

import click

from ..errors import PrivsemError
from . import cli


def format_report(checks) -> str:
    """The checks as aligned text: a header per section, one line per part."""
    width = max(len(c.part) for c in checks)
    lines, section = [], None
    for c in checks:
        if c.section != section:
            section = c.section
            lines.append(section)
        line = f"  {c.part:<{width}}  {c.status:<8}  {c.detail}"
        if c.fix:
            line += f"  → {c.fix}"
        lines.append(line)
    return "\n".join(lines)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object (for bug reports).")
@click.option("--network", is_flag=True,
              help="Also look for network USRPs (N2xx/X3xx): runs uhd_find_devices, which broadcasts on the LAN.")
def doctor(as_json, network) -> None:
    """Check this install: privsem, torch, devices, GNU Radio, radios, models, browser-test tools.

    Exit code 0 when privsem can work (missing GPU, radio, gr-uhd/gr-soapy or browser
    tools are reported but allowed), 1 when GNU Radio is missing or a committed model is
    missing or does not match models/MANIFEST.toml (or torch/numpy do not import).
    """
    from ..doctor import failures, run_checks

    checks = run_checks(network=network)
    bad = failures(checks)
    if as_json:
        click.echo(json.dumps({"ok": not bad, "failures": [c.part for c in bad],
                               "checks": [c.as_dict() for c in checks]}, indent=2, default=str))
    else:
        click.echo(format_report(checks))
    if bad:
        raise PrivsemError("broken install: " + "; ".join(f"{c.part} {c.status}" + (f" → {c.fix}" if c.fix else "")
                                                          for c in bad))
    if not as_json:
        click.echo("no problems found")
