"""Progress bars for long work, in the notebook and on the terminal, with one off switch.

Core code wraps a loop in :func:`progress`; it never imports IPython or ipywidgets itself.
``tqdm.auto`` draws a widget bar inside a Jupyter kernel and a text bar on a terminal. Bars
are off when ``JupyterOps.progress`` is False (``%config JupyterOps.progress = False``, or
``JUPYTER_OPS_PROGRESS=0`` in the environment), when the work is smaller than ``min_total``,
and outside a kernel when stderr is not a terminal (CI logs, pipes).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["progress", "progress_enabled"]


def progress_enabled(total: int | None = None, min_total: int = 0) -> bool:
    """Whether a bar would be shown for ``total`` steps (see the module docstring)."""
    from .config import get_settings

    if not get_settings().progress:
        return False
    if total is not None and total < min_total:
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


class _NoBar:
    """What :func:`progress` returns when no bar is shown: iterates and ignores updates."""

    def __init__(self, iterable: Iterable[Any] | None) -> None:
        self._it = iterable

    def __iter__(self) -> Iterator[Any]:
        return iter(self._it if self._it is not None else ())

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "") -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def progress(iterable: Iterable[Any] | None = None, total: int | None = None,
             desc: str | None = None, unit: str = "it", min_total: int = 0) -> Any:
    """A progress bar over ``iterable`` (or a manual one: ``with progress(total=n) as bar``).

    Parameters
    ----------
    iterable : iterable, optional
        What to loop over; without it call ``bar.update(n)`` yourself.
    total : int, optional
        Number of steps (default ``len(iterable)`` when it has one).
    desc : str, optional
        Label in front of the bar, e.g. ``"sync"``.
    unit : str
        Unit of a step (``"run"``, ``"line"``...).
    min_total : int
        No bar for less work than this (a bar that flashes by is noise).

    Returns
    -------
    tqdm or a no-op stand-in
        Iterate over it, or use ``update``/``close``/``with``; both kinds behave the same.
    """
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if not progress_enabled(total, min_total):
        return _NoBar(iterable)
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
