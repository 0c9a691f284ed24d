"""User-facing errors.

Every error a user can cause (bad file, missing DB, unknown name) is raised as
:class:`PrivsemError`; the CLI prints its message as one line on stderr and exits
non-zero. Anything else is a bug and keeps its traceback.
"""


class PrivsemError(Exception):
    """An error caused by input the user controls; its message is one line."""

    def __str__(self) -> str:
        # A message quotes user input (paths, keys), which may hold line breaks.
        return " ".join(super().__str__().splitlines())


class IntegrityError(PrivsemError):
    """A file's sha256 does not match its manifest (tampered or corrupt)."""
