"""Provenance: what went in (hashes), how it was called (parameters, seed) and where it ran."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import sys
from importlib import metadata
from typing import Any

__all__ = ["hash_input", "make_provenance", "environment", "CORE_PACKAGES"]

CORE_PACKAGES = (
    "jupyter-ops", "pandas", "numpy", "scikit-learn", "scipy", "mlflow", "altair",
    "vl-convert-python", "ipython", "ipywidgets", "jupyterlab", "pyarrow",
)


def hash_input(obj: Any) -> str:
    """A stable sha256 of an input: a frame's columns, dtypes and values; a file's bytes.

    Two frames with the same columns, dtypes, index and values hash equal, whatever their
    memory layout; a path is hashed by content, so renaming a file keeps its hash.
    """
    import numpy as np
    import pandas as pd

    h = hashlib.sha256()
    if isinstance(obj, pd.DataFrame):
        h.update(json.dumps([str(c) for c in obj.columns]).encode())
        h.update(json.dumps([str(t) for t in obj.dtypes]).encode())
        if len(obj):
            try:
                values = pd.util.hash_pandas_object(obj, index=True).to_numpy()
            except TypeError:  # unhashable cells (lists, dicts): fall back to their text
                values = pd.util.hash_pandas_object(obj.astype(str), index=True).to_numpy()
            h.update(np.ascontiguousarray(values).tobytes())
    elif isinstance(obj, pd.Series):
        return hash_input(obj.to_frame(name=str(obj.name)))
    elif isinstance(obj, (bytes, bytearray)):
        h.update(bytes(obj))
    elif isinstance(obj, (str, os.PathLike)) and os.path.isfile(obj):
        with open(obj, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    elif isinstance(obj, (list, tuple)) and all(isinstance(x, str) for x in obj):
        for x in obj:
            h.update(x.encode("utf-8", "surrogatepass"))
            h.update(b"\n")
    else:
        try:
            h.update(json.dumps(obj, sort_keys=True, default=str).encode())
        except (TypeError, ValueError):
            h.update(repr(obj).encode())
    return h.hexdigest()


def make_provenance(
    call: str,
    params: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Provenance of one result: the call, its parameters, input hashes and the seed.

    ``inputs`` maps a name to the object itself (hashed here) or to an already computed
    hex digest string of 64 characters.
    """
    hashed = {}
    for name, obj in (inputs or {}).items():
        if obj is None:
            continue
        if isinstance(obj, str) and len(obj) == 64 and all(c in "0123456789abcdef" for c in obj):
            hashed[name] = obj
        else:
            hashed[name] = hash_input(obj)
    return {
        "call": call,
        "params": {k: _plain(v) for k, v in (params or {}).items()},
        "inputs": hashed,
        "seed": seed,
    }


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return str(v)


def environment() -> dict[str, Any]:
    """Versions of Python, jupyter-ops and its core dependencies, the platform and the time."""
    versions = {}
    for name in CORE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
