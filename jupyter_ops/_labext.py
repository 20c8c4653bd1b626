"""Is the JupyterLab extension installed? One line on how to get it when it is not.

An editable install without Node.js succeeds (``optional-editable-build`` in
``pyproject.toml``) but has no lab extension: results then show as their plain HTML. pip hides
build output, so the hint is given where the user sees it: once, when ``%load_ext
jupyter_ops`` runs inside a Jupyter kernel.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["labextension_installed", "HINT"]

HINT = ("jupyter-ops: the JupyterLab extension is not installed (it was built without "
        "Node.js), so results show as plain HTML; to get it, install Node.js and run "
        "`pip install -e .` again, or install the wheel (`pip install jupyter-ops`).")

_shown = False


def labextension_installed() -> bool:
    """True when a ``jupyter-ops`` lab extension is where JupyterLab looks for one."""
    dirs = [Path(sys.prefix) / "share" / "jupyter" / "labextensions"]
    try:
        from jupyter_core.paths import jupyter_path

        dirs += [Path(p) for p in jupyter_path("labextensions")]
    except Exception:  # jupyter_core missing or broken: the prefix is the usual place
        pass
    return any((d / "jupyter-ops" / "package.json").is_file() for d in dirs)


def hint_once() -> str | None:
    """The hint the first time it applies in this process (inside a kernel), else None."""
    global _shown
    if _shown or os.environ.get("JUPYTER_OPS_NO_LABEXT_HINT"):
        return None
    if "ipykernel" not in sys.modules or labextension_installed():
        return None
    _shown = True
    return HINT
