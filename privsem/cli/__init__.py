"""The ``privsem`` command. Thin: parse, call the package, print.

Every user error ends as one line on stderr (``privsem: error: …``) and exit code 1
(2 for a usage error); a traceback means a bug in privsem.
"""

from __future__ import annotations

import sys
import warnings

import click

from ..errors import PrivsemError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="privsem")
def cli() -> None:
    """Privacy-preserving semantic communication: guard, JSCC, PHY, recovery."""


def _register() -> None:
    from . import bench, db, doctor, eval, guard, loopback, multitask, radio, train, view  # noqa: F401  (each adds its commands to `cli`)


_default_format = warnings.formatwarning


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """privsem's own warnings (e.g. an SNR outside the codec's range) as one line;
    other libraries' warnings as Python prints them."""
    if f"{__package__.split('.')[0]}/" in filename.replace("\\", "/"):
        return f"privsem: warning: {message}\n"
    return _default_format(message, category, filename, lineno, line)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (also used by tests as ``main([...])``)."""
    _register()
    warnings.formatwarning = _format_warning
    try:
        rv = cli.main(args=argv, prog_name="privsem", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("privsem: aborted", err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as e:  # a group without its command: name them, in one line
        group = e.ctx.command
        names = ", ".join(group.list_commands(e.ctx)) if isinstance(group, click.Group) else ""
        click.echo(f"privsem: error: {e.ctx.command_path} needs a command"
                   + (f" ({names})" if names else "") + f"; see {e.ctx.command_path} --help", err=True)
        return e.exit_code
    except click.ClickException as e:  # usage errors: one line, not click's three
        message = " ".join(e.format_message().splitlines())  # it may quote arguments holding line breaks
        click.echo(f"privsem: error: {message}", err=True)
        return e.exit_code
    except PrivsemError as e:
        click.echo(f"privsem: error: {e}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("privsem: interrupted", err=True)
        return 130
    return rv if isinstance(rv, int) else 0


def run() -> None:
    sys.exit(main())
