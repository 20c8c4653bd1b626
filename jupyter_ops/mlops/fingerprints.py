"""Dataset fingerprints: content hash, shape and schema of the data a run used."""

from __future__ import annotations

from typing import Any

__all__ = ["dataset_fingerprint"]

#: schema entries kept per fingerprint (wide frames are summarised)
MAX_SCHEMA_COLUMNS = 500


def dataset_fingerprint(data: Any, name: str | None = None) -> dict[str, Any]:
    """A fingerprint of a data set: sha256 of its content, its shape and its schema.

    The hash is :func:`jupyter_ops.report.hash_input` (columns, dtypes, index and values), so
    the same frame hashes the same in a run, in a report's provenance and across sessions.
    NumPy arrays and lists are converted to a frame first; a Series to a one-column frame.

    Parameters
    ----------
    data : pandas.DataFrame, pandas.Series, numpy.ndarray or array-like
        The data.
    name : str, optional
        A label stored with the fingerprint.

    Returns
    -------
    dict
        ``{"name", "sha256", "rows", "columns", "schema": {column: dtype}, "type"}``.
    """
    import numpy as np
    import pandas as pd

    from ..provenance import hash_input

    kind = type(data).__name__
    if isinstance(data, pd.Series):
        frame = data.to_frame(name=str(data.name) if data.name is not None else "value")
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        arr = np.asarray(data)
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        elif arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        elif arr.ndim > 2:
            arr = arr.reshape(arr.shape[0], -1)
        frame = pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])])
    schema = {str(c): str(t) for c, t in zip(frame.columns[:MAX_SCHEMA_COLUMNS],
                                              frame.dtypes.iloc[:MAX_SCHEMA_COLUMNS], strict=False)}
    fp: dict[str, Any] = {
        "name": name,
        "type": kind,
        "sha256": hash_input(frame),
        "rows": int(frame.shape[0]),
        "columns": int(frame.shape[1]),
        "schema": schema,
    }
    if frame.shape[1] > MAX_SCHEMA_COLUMNS:
        fp["schema_truncated"] = True
    return fp
