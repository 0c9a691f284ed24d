"""``python -m privsem`` = the ``privsem`` command."""

from .cli import run

run()
