"""Atomic file writes: a file is written whole or not at all.

Part of the lower layer (with :mod:`jupyter_ops.provenance`, :mod:`jupyter_ops.htmltext`,
:mod:`jupyter_ops.serialize` and :mod:`jupyter_ops.errors`) that core, results and reports all
use; it imports nothing else from the package.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OpsInputError

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all.

    The text goes to a temporary file in the same folder, is flushed to disk and renamed over
    ``path``, so a reader never sees half a file and a crash leaves the old file intact.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its folder must exist.
    text : str
        Written as UTF-8 with ``\\n`` line ends.

    Raises
    ------
    OpsInputError
        The destination folder does not exist.
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise OpsInputError(f"folder {path.parent} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        # mkstemp creates 0600; give the file the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
