"""IPython magics: thin front ends over the analysis core.

``%load_ext jupyter_ops`` calls :func:`load_ipython_extension`, which registers the magics
class of every module in :data:`MAGIC_MODULES`. Each module defines ``MAGICS`` (a list of
``Magics`` subclasses). Module imports must stay light (no pandas, mlflow, sklearn or altair at
import time) so that loading the extension takes well under half a second.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["load_ipython_extension", "MAGIC_MODULES"]

#: one module per concern; later capabilities add theirs here
MAGIC_MODULES = (
    "jupyter_ops.magics.report",
    "jupyter_ops.magics.anomalies",
    "jupyter_ops.magics.incidents",
    "jupyter_ops.magics.logs",
    "jupyter_ops.magics.tracking",
    "jupyter_ops.magics.drift",
)


def load_ipython_extension(ipython: Any) -> None:
    """Register all magics and the ``JupyterOps`` settings; calling it twice is harmless."""
    from ..config import register

    register(ipython)
    for name in MAGIC_MODULES:
        module = importlib.import_module(name)
        for cls in getattr(module, "MAGICS", ()):
            ipython.register_magics(cls)
    from .._labext import hint_once

    hint = hint_once()  # an install without Node.js: one line on how to get the extension
    if hint:
        print(hint, file=sys.stderr)
