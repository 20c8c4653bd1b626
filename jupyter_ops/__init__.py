"""jupyter-ops: notebook-native AIOps and MLOps.

``import jupyter_ops`` is deliberately cheap: the analysis subpackages (and with them pandas,
scikit-learn, mlflow and altair) load on first attribute access, so ``%load_ext jupyter_ops``
stays well under half a second.

Use it as a library::

    from jupyter_ops import aiops, mlops, datasets, io, report

or in IPython / Jupyter::

    %load_ext jupyter_ops
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

__all__ = ["__version__", "aiops", "mlops", "datasets", "io", "report", "widgets"]

_LAZY = {"aiops", "mlops", "datasets", "io", "report", "widgets", "results"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


def load_ipython_extension(ipython: Any) -> None:
    """Register every jupyter-ops magic (``%load_ext jupyter_ops``); safe to call twice."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:  # pragma: no cover - nothing to undo
    """Nothing to tear down: magics stay registered until the kernel restarts."""


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-ops"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The server extension (REST endpoints of the lab extension): :mod:`jupyter_ops.server`."""
    return [{"module": "jupyter_ops.server"}]
