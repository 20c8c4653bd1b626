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
    memory layout; a path is hashed by content, so renaming a file keeps its hash. Text
    columns and times hash alike whether pandas 2 or 3 read them (``object`` or ``str``,
    ``datetime64[ns]`` or ``[us]``), so a data set's fingerprint does not depend on the
    pandas version.
    """
    import numpy as np
    import pandas as pd

    h = hashlib.sha256()
    if isinstance(obj, pd.DataFrame):
        obj, dtypes = _version_neutral(obj)
        h.update(json.dumps([str(c) for c in obj.columns]).encode())
        h.update(json.dumps(dtypes).encode())
        if len(obj):
            try:
                values = pd.util.hash_pandas_object(obj, index=True).to_numpy()
            except TypeError:  # unhashable cells (lists, dicts): object columns by their str()
                # (not astype(str): it turns NaT/NaN into "NaT"/"nan" on pandas 2 only)
                obj = obj.copy(deep=False)
                for i, name in enumerate(dtypes):
                    if name == "object":  # text columns were named "str" and stay as they are
                        obj.isetitem(i, obj.iloc[:, i].map(str))
                values = pd.util.hash_pandas_object(obj, index=True).to_numpy()
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


def _version_neutral(frame: Any) -> tuple[Any, list[str]]:
    """The frame and dtype names as hashed: the same data read by pandas 2 or 3 hashes equal.

    pandas 2 holds text as ``object`` and parses times as ``datetime64[ns]``; pandas 3 has a
    ``str`` dtype and may parse to ``[us]``/``[s]``. Text columns are named ``str`` (their
    values already hash alike) and times are hashed as nanoseconds.
    """
    import pandas as pd
    from pandas.api import types

    names: list[str] = []
    converted: dict[int, Any] = {}
    for i, t in enumerate(frame.dtypes):
        name = str(t)
        if isinstance(t, pd.StringDtype) or (
                types.is_object_dtype(t) and types.infer_dtype(frame.iloc[:, i]) == "string"):
            name = "str"
        elif types.is_datetime64_any_dtype(t) and frame.iloc[:, i].dt.unit != "ns":
            try:
                converted[i] = frame.iloc[:, i].dt.as_unit("ns")
                name = str(converted[i].dtype)
            except (OverflowError, pd.errors.OutOfBoundsDatetime):
                pass  # beyond 2262: only representable in the coarser unit, hash as it is
        names.append(name)
    index = frame.index
    if isinstance(index, pd.DatetimeIndex) and index.unit != "ns":
        try:
            index = index.as_unit("ns")
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            pass
    if converted or index is not frame.index:
        frame = frame.copy(deep=False)
        for i, col in converted.items():
            frame.isetitem(i, col)
        frame.index = index
    return frame, names


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
