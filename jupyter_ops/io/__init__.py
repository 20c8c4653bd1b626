"""Loaders that turn files and frames into the canonical frames (see docs/data-model.md)."""

from .._lazy import lazy_namespace

__getattr__, __dir__ = lazy_namespace(__name__, __path__)
