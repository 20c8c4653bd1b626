"""Exceptions for user errors.

Every problem caused by the user's input (a missing column, an unparseable timestamp, an
unknown file format) raises :class:`OpsInputError` with a one-line message that names what is
wrong and how to fix it. Front ends translate it: magics into ``UsageError``, the CLI into exit
status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class OpsInputError(ValueError):
    """The input cannot be used as given; the message says what is wrong and how to fix it."""

    def __init__(self, message: str) -> None:
        # Front ends show one line: collapse newlines so nothing gets lost in a traceback box.
        super().__init__(" ".join(str(message).split()))


class OpsConnectionError(RuntimeError):
    """A server (e.g. an MLflow tracking server) could not be reached."""
