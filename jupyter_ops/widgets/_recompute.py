"""Superseding recomputation for widgets: only the latest request is computed.

A widget's controls can change faster than an analysis runs (a user stepping a number box,
picking three values in a row). :class:`LatestOnly` runs the work for the first request; any
requests made meanwhile collapse into one, run once the current run ends, with the controls'
values as they are then. Inside a Jupyter kernel the work runs on a worker thread, so the
kernel keeps receiving widget events (which is what lets later requests supersede earlier ones);
elsewhere (tests, scripts) it runs synchronously and the result is there when the call returns.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LatestOnly", "in_kernel"]

_log = logging.getLogger("jupyter_ops.widgets")


def in_kernel() -> bool:
    """True inside a Jupyter kernel (not merely when ipykernel was imported)."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LatestOnly:
    """Call ``fn()`` for the latest request; requests during a run supersede each other.

    Parameters
    ----------
    fn : callable
        The recomputation; reads the controls itself, so it always sees their latest values.
    background : bool, optional
        Run on a worker thread (default: only inside a Jupyter kernel).

    Attributes
    ----------
    runs : int
        How many times ``fn`` ran (fewer than requests when some were superseded).
    requests : int
    """

    def __init__(self, fn: Callable[[], Any], background: bool | None = None) -> None:
        self._fn = fn
        self._background = in_kernel() if background is None else background
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._running = False
        self._pending = False
        self.runs = 0
        self.requests = 0

    def __call__(self, *_: Any) -> None:
        with self._lock:
            self.requests += 1
            if self._running:
                self._pending = True  # supersedes any request already waiting
                return
            self._running = True
            self._idle.clear()
        if self._background:
            threading.Thread(target=self._loop, name="jupyter-ops-recompute", daemon=True).start()
        else:
            self._loop()

    def _loop(self) -> None:
        while True:
            try:
                self.runs += 1
                self._fn()
            except Exception:  # a widget callback must not die silently, nor kill the loop
                _log.exception("jupyter-ops widget recomputation failed")
            with self._lock:
                if not self._pending:
                    self._running = False
                    self._idle.set()
                    return
                self._pending = False

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no recomputation runs or waits; False on timeout."""
        return self._idle.wait(timeout)
