"""Turn pandas objects and numpy scalars into plain JSON values.

Used by result payloads (the lab extension's MIME type) and by report JSON, so that both
carry the same, lossless-enough representation: numbers stay numbers, timestamps become
ISO 8601 strings in UTC, missing values become ``null``.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["to_jsonable", "frame_to_table", "table_to_frame", "column_type"]


def to_jsonable(value: Any) -> Any:
    """Convert ``value`` (recursively) into something ``json.dumps`` accepts, without NaN."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        return value.isoformat()
    if isinstance(value, (pd.Timedelta, _dt.timedelta)):
        if pd.isna(value):
            return None
        return str(pd.Timedelta(value))
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return to_jsonable(pd.Timestamp(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, pd.DataFrame):
        return frame_to_table(value)
    if isinstance(value, pd.Series):
        return [to_jsonable(v) for v in value.tolist()]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def column_type(series: pd.Series) -> str:
    """A coarse type for renderers: ``number``, ``datetime``, ``boolean`` or ``string``."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.PeriodDtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "string"
    return "string"


def frame_to_table(df: pd.DataFrame, max_rows: int | None = None) -> dict[str, Any]:
    """Represent a frame as ``{"columns": [{name, type}], "rows": [[...]], "total_rows", "truncated"}``.

    Column names are stringified; the index is dropped unless it is named (then it becomes the
    first column).
    """
    if df.index.name is not None or isinstance(df.index, pd.MultiIndex):
        df = df.reset_index()
    total = len(df)
    shown = df if max_rows is None or total <= max_rows else df.head(max_rows)
    columns = [{"name": str(c), "type": column_type(shown[c])} for c in shown.columns]
    rows = []
    for values in shown.itertuples(index=False, name=None):
        rows.append([to_jsonable(v) for v in values])
    return {
        "columns": columns,
        "rows": rows,
        "total_rows": int(total),
        "truncated": bool(len(shown) < total),
    }


def table_to_frame(table: dict[str, Any]) -> pd.DataFrame:
    """Inverse of :func:`frame_to_table` (datetime columns are parsed back)."""
    names = [c["name"] for c in table["columns"]]
    df = pd.DataFrame(table["rows"], columns=names)
    for col in table["columns"]:
        if col["type"] == "datetime":
            df[col["name"]] = pd.to_datetime(df[col["name"]], utc=True, format="ISO8601")
    return df
