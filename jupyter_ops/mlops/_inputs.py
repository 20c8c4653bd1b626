"""Reading the data files of the drift, quality and monitoring front ends.

Private (leading underscore): the lazy ``jupyter_ops.mlops`` namespace does not scan it. The
magics and the CLI read files through these functions so that a file means the same data in
both.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd


def read_data(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table file; text columns that are ISO timestamps (CSV, JSON) become UTC datetimes.

    Parquet keeps its own types; a CSV has none, and a timestamp read as text would be tested
    as a category by drift instead of being left out like a datetime column.
    """
    from ..io import read_table

    df = read_table(path)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
            head = s.dropna().head(50)
            if not len(head) or not head.map(lambda v: isinstance(v, str) and len(v) >= 10
                                             and v[:4].isdigit() and v[4] == "-").all():
                continue
            try:
                df[c] = pd.to_datetime(s, utc=True, format="ISO8601")
            except (ValueError, TypeError):
                pass
    return df


def is_profile_file(path: str | os.PathLike) -> bool:
    """True for a ``.json`` file written by :meth:`~jupyter_ops.mlops.Profile.save`."""
    from .profiling import SCHEMA

    if not (str(path).lower().endswith(".json") and os.path.isfile(path)):
        return False
    with open(path, encoding="utf-8", errors="replace") as f:
        return SCHEMA in f.read(200)


def read_reference(path: str | os.PathLike) -> Any:
    """A reference file: a saved :class:`~jupyter_ops.mlops.Profile`, else a table."""
    from .profiling import Profile

    return Profile.load(path) if is_profile_file(path) else read_data(path)
