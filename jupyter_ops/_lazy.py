"""Lazy public namespaces: ``aiops.correlate`` imports ``aiops/correlate.py`` on first use.

Each public module of a subpackage lists its names in ``__all__``; the package's
``__getattr__`` finds the module that exports a name. This keeps ``import jupyter_ops`` cheap
and lets each capability add modules without editing a shared index.

Rule: a module is never named like a name it exports (``aiops/correlation.py`` exports
``correlate``), because importing a submodule sets the package attribute of that name.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any


def lazy_namespace(package: str, path: list[str]) -> tuple[Any, Any]:
    """Return ``(__getattr__, __dir__)`` for a package whose modules export via ``__all__``."""
    index: dict[str, str] = {}
    scanned = False

    def _modules(private: bool = False) -> list[str]:
        return sorted(m.name for m in pkgutil.iter_modules(path)
                      if private or not m.name.startswith("_"))

    def _scan(force: bool = False) -> None:
        nonlocal scanned
        if scanned and not force:
            return
        for name in _modules():
            module = importlib.import_module(f"{package}.{name}")
            for public in getattr(module, "__all__", ()):
                index.setdefault(public, module.__name__)
        scanned = True

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        # a submodule first (private ones too): ``from . import sub`` inside a module being
        # imported must not trigger a scan, which would see that module half-initialised (no
        # __all__ yet) or import a module that imports it back
        if name in _modules(private=True):
            return importlib.import_module(f"{package}.{name}")
        _scan()
        if name not in index:
            _scan(force=True)  # a module seen half-initialised by an earlier scan is complete now
        if name in index:
            module: ModuleType = importlib.import_module(index[name])
            return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        _scan()
        return sorted(set(index) | set(_modules()))

    return __getattr__, __dir__
