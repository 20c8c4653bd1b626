"""``check_quality`` on Dask: the drift summaries merged, plus an exact duplicate count.

:func:`~jupyter_ops.mlops.check_quality` reads, per column, the kind, dtype, missing and
infinite counts, min/max, distinct values, category counts and mixed-type notes: all in the
merged :class:`~jupyter_ops.scale.summary.FrameSummary` that ``drift`` uses (exact). Two
answers are not in it, and cannot come from a bounded per-partition state exactly:

* duplicate rows (``DataFrame.duplicated`` over the whole frame);
* distinct values of datetime and text columns.

Both are counted with a *hash shuffle*: every partition splits its rows (and the distinct
values of each datetime/text column) into ``buckets`` pieces by a key that equal values
always share (numbers by Python's numeric hash, so ``1 == 1.0 == True`` stay together;
strings by pandas' fixed-key hash; other objects share one key), each bucket gathers its
pieces from every partition and counts with pandas on its own rows, and the counts are
added. Equal rows meet in one bucket, so the sum is the single-process count. What moves:
each row once (the duplicate check needs whole rows), and the distinct values of
datetime/text columns; the summaries travel up the merge tree as for ``drift``.
One documented edge: a frame with unhashable cells (lists, dicts) is compared as text per
bucket, while one process compares all rows as text once any cell is unhashable; the counts
differ only if a column also holds a number and its text (``1`` and ``"1"``).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..mlops._colstats import epoch_seconds
from ._dask import as_frame, cluster_info, compute, dask, get_client
from .drift import _check_engine, _checked, finish_summary, summarise_dask, summary_graph
from .summary import FrameSummary

__all__ = ["check_quality_dask", "value_keys", "row_keys"]

_MUL = np.uint64(0x100000001B3)  # FNV prime: mixes column keys into a row key


def value_keys(s: pd.Series) -> np.ndarray:
    """A uint64 key per value such that equal values (as pandas compares them) share a key."""
    dt = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dt):
        x = epoch_seconds(s)  # any unit / time zone: the same instant, the same key
    elif pd.api.types.is_timedelta64_dtype(dt):
        x = s.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
    elif pd.api.types.is_bool_dtype(dt) or (pd.api.types.is_numeric_dtype(dt)
                                            and not isinstance(dt, pd.CategoricalDtype)):
        x = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        return _object_keys(s.astype(object))
    x = np.where(np.isnan(x), 0.0, x + 0.0)  # one key for missing; -0.0 == 0.0
    return pd.util.hash_array(x)


def _object_keys(s: pd.Series) -> np.ndarray:
    vals = s.to_numpy(dtype=object)
    out = np.zeros(len(vals), dtype=np.uint64)  # missing values: key 0
    valid = ~s.isna().to_numpy()
    is_str = np.fromiter((isinstance(v, str) for v in vals), dtype=bool, count=len(vals))
    text = valid & is_str
    if text.any():
        out[text] = pd.util.hash_array(vals[text].astype(str).astype(object))
    other = np.flatnonzero(valid & ~is_str)
    if len(other):
        out[other] = [_number_key(vals[i]) for i in other]
    return out


def _number_key(v: Any) -> int:
    # Python's numeric hash is the same in every process (only str/bytes hashes are salted)
    # and equal numbers hash equal; any other object shares key 1 (coarse but consistent)
    if isinstance(v, numbers.Number):
        try:
            return hash(v) & 0xFFFFFFFFFFFFFFFF
        except TypeError:
            return 1
    return 1


def row_keys(df: pd.DataFrame) -> np.ndarray:
    """A uint64 key per row such that equal rows share a key."""
    h = np.zeros(len(df), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(df.shape[1]):
            h = h * _MUL ^ value_keys(df.iloc[:, j])
    return h


def _split(df: pd.DataFrame, buckets: int, distinct: list[str]) -> list[Any]:
    """One partition's rows, and each distinct-value column's values, cut into buckets."""
    b = row_keys(df) % np.uint64(buckets)
    rows = [df[b == k] for k in range(buckets)]
    values: list[dict[str, pd.Series]] = [{} for _ in range(buckets)]
    for c in distinct:
        u = df[c].dropna().drop_duplicates()
        vb = value_keys(u) % np.uint64(buckets)
        for k in range(buckets):
            values[k][c] = u[vb == k]
    return [(rows[k], values[k]) for k in range(buckets)]


def _count(pieces: list[tuple[pd.DataFrame, dict[str, pd.Series]]],
           distinct: list[str]) -> tuple[int, dict[str, int]]:
    """Duplicate rows and distinct values within one bucket (all equal values are here)."""
    from ..mlops.quality import count_duplicates

    frames = [p[0] for p in pieces if len(p[0])]
    dup = count_duplicates(pd.concat(frames, ignore_index=True)) if frames else 0
    uniq = {}
    for c in distinct:
        vals = [p[1][c] for p in pieces if len(p[1][c])]
        uniq[c] = int(pd.concat(vals, ignore_index=True).nunique()) if vals else 0
    return dup, uniq


class DaskData:
    """What ``check_quality`` reads of the data, from the merged partition states."""

    def __init__(self, summary: FrameSummary, duplicates: int, nunique: dict[str, int]) -> None:
        self.summary = summary
        self.columns = list(summary.columns)
        self.n_rows = summary.n_rows
        self._dup = duplicates
        self._nunique = nunique

    def stats(self, col: str) -> Any:
        return self.summary.stats_by_col[col]

    def kind(self, col: str) -> str:
        return self.summary.stats_by_col[col].kind

    def dtype(self, col: str) -> str:
        return self.summary.stats_by_col[col].dtype

    def nunique(self, col: str) -> int:
        return self._nunique[col]

    def duplicates(self) -> int:
        return self._dup


def check_quality_dask(df: Any, reference: Any = None, schema: Any = None, *,
                       engine: str | None = None, client: Any = None, progress: bool = False,
                       buckets: int | None = None) -> Any:
    """:func:`jupyter_ops.mlops.check_quality` on a Dask DataFrame (or Parquet/CSV paths).

    ``reference`` may be a DataFrame, a Profile, or Dask data / paths (summarised on the
    cluster too). ``buckets``: pieces of the duplicate/distinct-value shuffle (default: the
    number of partitions, at least twice the workers).
    """
    from ..mlops.profiling import Profile
    from ..mlops.quality import _unique_columns, quality_of
    from . import is_dask
    from ._dask import _paths

    _check_engine(engine)
    client = get_client(client)
    ddf = as_frame(df, "df")
    _unique_columns(ddf._meta, "the data")
    if reference is not None and not isinstance(reference, (pd.DataFrame, Profile)):
        if not is_dask(reference) and _paths(reference) is None:
            raise OpsInputError("reference must be a DataFrame, a Profile, a Dask DataFrame or "
                                f"Parquet/CSV path(s), got {type(reference).__name__}")
        ref = as_frame(reference, "reference")
        _unique_columns(ref._meta, "the reference")
        reference = summarise_dask(ref, client, progress)
    info = cluster_info(client)
    tree, kinds, mixed, expected, parts = summary_graph(ddf, client, progress)
    distinct = [c for c, k in kinds.items() if k in ("datetime", "text")]
    if buckets is None:
        buckets = max(len(parts), 2 * (info.get("workers") or 1))
    if int(buckets) < 1:
        raise OpsInputError(f"buckets must be >= 1, got {buckets!r}")
    buckets = int(buckets)
    split = [dask.delayed(_checked, nout=buckets)(p, i, expected, _split, buckets, distinct)
             for i, p in enumerate(parts)]
    counts = [dask.delayed(_count)([s[k] for s in split], distinct) for k in range(buckets)]
    merged, *found = compute([tree] + counts, client, progress)
    summary = finish_summary(merged, mixed, ddf, parts, client)
    nunique = {c: sum(f[1][c] for f in found) for c in distinct}
    data = DaskData(summary, sum(f[0] for f in found), nunique)
    result = quality_of(data, reference, schema, summary.digest)
    result.scale = dict(info, engine="dask", partitions=len(parts), buckets=buckets)
    return result

