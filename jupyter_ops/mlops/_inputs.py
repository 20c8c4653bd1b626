"""Reading the data files of the drift, quality and monitoring front ends.

Private (leading underscore): the lazy ``jupyter_ops.mlops`` namespace does not scan it. The
magics and the CLI read files through these functions so that a file means the same data in
both.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd


def read_data(source: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """A table file or a DataFrame as the drift/quality/monitoring core sees it.

    The file is read with :func:`jupyter_ops.io.read_table`; then, for a file and a frame
    alike, :func:`jupyter_ops.io.parse_time_columns` turns time columns (datetimes of any unit
    or zone, ISO 8601 text) into UTC datetimes, so a CSV, its Parquet twin and the DataFrame
    they were written from give the same data (and the same drift result).
    """
    from ..io import parse_time_columns, read_table

    frame = source if isinstance(source, pd.DataFrame) else read_table(source)
    return parse_time_columns(frame)


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
