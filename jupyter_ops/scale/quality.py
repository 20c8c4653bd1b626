"""``check_quality`` on Dask: the drift summaries merged, plus exact duplicate counts.

:func:`~jupyter_ops.mlops.check_quality` reads, per column, the kind, dtype, missing and
infinite counts, min/max, distinct values, category counts and mixed-type notes: all in the
merged :class:`~jupyter_ops.scale.summary.FrameSummary` that ``drift`` uses (exact). Two
answers are not in it, and no bounded per-partition state gives them exactly:

* duplicate rows (``DataFrame.duplicated`` over the whole frame);
* distinct values of datetime and text columns.

Both are counted in two rounds of a *key shuffle*. A key is a 64-bit hash that equal values
always share (numbers by Python's numeric hash, so ``1 == 1.0 == True`` stay together;
strings by pandas' fixed-key hash; any other object shares one key); a row's key mixes its
cells' keys. Round 1 (with the summaries, in the same read): each partition sends only its
row keys, and the keys of each datetime/text column's distinct values, to buckets by key; a
bucket returns the keys it saw more than once, and per column how many value keys it saw
once (each is exactly one distinct value). Round 2 (a second read), only when round 1 found
repeated keys: each partition sends just the rows and values whose key repeated; a bucket
counts them with pandas (every copy of a repeated row is there). Keys that did not repeat
are rows equal to no other row, so the totals are the single-process counts; a hash
collision only costs a row more in round 2. What moves: 8 bytes a row plus 8 per distinct
value of datetime/text columns, then the repeated rows and values.

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
from ._dask import as_frame, cluster_info, compute, dask, get_client
from .drift import _check_engine, _checked, finish_summary, summarise_dask, summary_graph
from .summary import FrameSummary

__all__ = ["check_quality_dask", "value_keys", "row_keys"]

_MUL = np.uint64(0x100000001B3)  # FNV prime: mixes column keys into a row key


def value_keys(s: pd.Series) -> np.ndarray:
    """A uint64 key per value such that equal values (as pandas compares them) share a key,
    whatever the column's dtype: numbers hash as float64 everywhere (``1``, ``1.0`` and
    ``True``, in a numeric or an object column), instants in UTC, text by pandas' fixed-key
    hash; missing values share key 0."""
    dt = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dt):
        if isinstance(dt, pd.DatetimeTZDtype):  # the same instant in any zone / unit
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
        x = np.where(ns == np.iinfo(np.int64).min, np.nan, ns.astype("float64"))
    elif pd.api.types.is_timedelta64_dtype(dt):
        x = s.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
    elif pd.api.types.is_bool_dtype(dt) or (pd.api.types.is_numeric_dtype(dt)
                                            and not isinstance(dt, pd.CategoricalDtype)):
        x = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        return _object_keys(s.astype(object))
    return _float_keys(x)


def _float_keys(x: np.ndarray) -> np.ndarray:
    nan = np.isnan(x)
    out = pd.util.hash_array(np.where(nan, 0.0, x + 0.0))  # -0.0 == 0.0
    out[nan] = 0
    return out


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
        # numbers as in a numeric column; any other object (dates, tuples) shares key 1:
        # coarse, but equal objects always meet
        num = np.array([_as_float(vals[i]) for i in other], dtype="float64")
        keys = np.full(len(other), 1, dtype=np.uint64)
        ok = ~np.isnan(num)
        keys[ok] = _float_keys(num[ok])
        out[other] = keys
    return out


def _as_float(v: Any) -> float:
    if isinstance(v, numbers.Real):
        try:
            return float(v)
        except (OverflowError, ValueError):
            return float("nan")
    return float("nan")


def row_keys(df: pd.DataFrame) -> np.ndarray:
    """A uint64 key per row such that equal rows share a key."""
    h = np.zeros(len(df), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(df.shape[1]):
            h = h * _MUL ^ value_keys(df.iloc[:, j])
    return h


def _keys_split(df: pd.DataFrame, buckets: int, distinct: list[str]) -> list[Any]:
    """Round 1 of a partition: its row keys, and the keys of each datetime/text column's
    distinct values, cut into buckets by key (8 bytes a row travel, not the row)."""
    rk = row_keys(df)
    rb = rk % np.uint64(buckets)
    vals = {}
    for c in distinct:
        vk = value_keys(df[c].dropna().drop_duplicates())
        vals[c] = (vk, vk % np.uint64(buckets))
    return [(rk[rb == k], {c: v[v_b == k] for c, (v, v_b) in vals.items()})
            for k in range(buckets)]


def _candidates(pieces: list[Any], distinct: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Round 1 of a bucket: row keys seen more than once (rows that may repeat) and, per
    column, how many value keys appear once (one value each, exactly) and the rest."""
    rk = np.concatenate([p[0] for p in pieces])
    u, n = np.unique(rk, return_counts=True)
    cols = {}
    for c in distinct:
        vu, vn = np.unique(np.concatenate([p[1][c] for p in pieces]), return_counts=True)
        cols[c] = (int((vn == 1).sum()), vu[vn > 1])
    return u[n > 1], cols


def _rows_split(df: pd.DataFrame, buckets: int,
                wanted: tuple[np.ndarray, dict[str, np.ndarray]]) -> list[Any]:
    """Round 2 of a partition: only the rows and values whose key is a candidate."""
    rows, values = wanted
    rk = row_keys(df)
    keep = np.isin(rk, rows)
    sub, rb = df[keep], rk[keep] % np.uint64(buckets)
    vals = {}
    for c, cand in values.items():
        u = df[c].dropna().drop_duplicates()
        vk = value_keys(u)
        m = np.isin(vk, cand)
        vals[c] = (u[m], vk[m] % np.uint64(buckets))
    return [(sub[rb == k], {c: v[b == k] for c, (v, b) in vals.items()})
            for k in range(buckets)]


def _count(pieces: list[Any], distinct: list[str]) -> tuple[int, dict[str, int]]:
    """Round 2 of a bucket: duplicates among its candidate rows, distinct candidate values
    (every copy of a repeated row or value is here: equal values share a key)."""
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
    # round 1 (with the summaries, one read of each partition): keys only
    split = [dask.delayed(_checked, nout=buckets)(p, i, expected, _keys_split, buckets,
                                                  distinct)
             for i, p in enumerate(parts)]
    cands = [dask.delayed(_candidates)([s[k] for s in split], distinct)
             for k in range(buckets)]
    merged, *found = compute([tree] + cands, client, progress)
    summary = finish_summary(merged, mixed, ddf, parts, client)
    rows = np.concatenate([f[0] for f in found])
    values = {c: np.concatenate([f[1][c][1] for f in found]) for c in distinct}
    nunique = {c: sum(f[1][c][0] for f in found) for c in distinct}
    dups = 0
    if len(rows) or any(len(v) for v in values.values()):
        # round 2 (a second read): only the rows and values that may repeat move
        wanted = dask.delayed((rows, values), pure=True)  # one graph key, sent once per worker
        split2 = [dask.delayed(_rows_split, nout=buckets)(p, buckets, wanted)
                  for p in parts]
        counts = [dask.delayed(_count)([s[k] for s in split2], distinct)
                  for k in range(buckets)]
        for dup, uniq in compute(counts, client, progress):
            dups += dup
            for c in distinct:
                nunique[c] += uniq[c]
    data = DaskData(summary, dups, nunique)
    result = quality_of(data, reference, schema, summary.digest)
    result.scale = dict(info, engine="dask", partitions=len(parts), buckets=buckets,
                        candidate_rows=int(len(rows)))
    return result

