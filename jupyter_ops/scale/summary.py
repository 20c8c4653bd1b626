"""Exact, mergeable per-column summaries of a frame: the partial state of a distributed drift.

:func:`summarise` turns one partition into a :class:`FrameSummary`; ``a.merge(b)`` (``b``
the rows after ``a``) is exactly the summary of the two stacked, so a tree of merges over
the partitions of a Dask DataFrame gives what :func:`~jupyter_ops.mlops.drift` would compute
on the whole frame in one process:

* numbers: the sorted distinct finite values and their counts (plus missing and infinite
  counts). KS, Wasserstein, the binned tests and the charts read only these, so every
  statistic is the single-process one (floating sums can differ in the last bit);
* categories: counts per category in order of first appearance; the final order (count
  descending, ties by first appearance: pandas' ``value_counts``) is applied after the merge,
  so it equals the single-process order;
* datetime and text columns: row and missing counts.

The size of a state is the number of *distinct* values per column (16 bytes per numeric
value, the category strings), not the number of rows: a column of floats rounded to a few
digits merges into a few kilobytes, a continuous float column with all values distinct is
as large as the column itself. For those, :func:`~jupyter_ops.mlops.profile` (a fixed-size
sketch) is the bounded alternative (documented error: each value known within 0.5%).

This module is plain pandas/numpy: Dask is imported only by :mod:`jupyter_ops.scale.drift`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..mlops._colstats import MAX_CATEGORIES, ColumnStats, from_series
from ..mlops.stattests import Counted

__all__ = ["FrameSummary", "summarise", "merge_all"]


@dataclass
class FrameSummary:
    """Exact column summaries of (part of) a frame; see the module docstring."""

    columns: list[str]
    n_rows: int
    stats_by_col: dict[str, ColumnStats]
    #: numeric summaries of datetime columns (only for columns named in ``forced``)
    forced: dict[str, ColumnStats] = field(default_factory=dict)
    #: row counts of the partitions merged so far, in order (to fetch rows by position)
    part_rows: list[int] = field(default_factory=list)
    #: sha256 chain over the partitions' content hashes (the provenance input hash)
    digest: str = ""
    #: mixed-type notes computed over all partitions (set by the caller, see ``finish``)
    take_rows: Callable[[np.ndarray], pd.DataFrame] | None = None

    def __len__(self) -> int:
        return self.n_rows

    def stats(self, col: str, kind: str | None = None) -> ColumnStats:
        """The column's exact summary (``kind="numeric"`` for a datetime column named in
        ``forced``)."""
        if kind == "numeric" and self.stats_by_col[col].kind == "datetime":
            if col not in self.forced:
                raise OpsInputError(f"datetime column {col!r} was not summarised as numbers")
            return self.forced[col]
        return self.stats_by_col[col]

    @property
    def fingerprint(self) -> str:
        return self.digest

    def merge(self, other: FrameSummary) -> FrameSummary:
        """Summary of ``self``'s rows followed by ``other``'s (exact; associative)."""
        if self.columns != other.columns:
            raise OpsInputError(
                "partitions have different columns: "
                f"{sorted(set(self.columns) ^ set(other.columns)) or 'same names, other order'}; "
                "give every file/partition the same schema (e.g. select the columns first)")
        stats = {c: merge_stats(self.stats_by_col[c], other.stats_by_col[c])
                 for c in self.columns}
        forced = {c: merge_stats(self.forced[c], other.forced[c]) for c in self.forced}
        digest = hashlib.sha256((self.digest + other.digest).encode()).hexdigest()
        return FrameSummary(self.columns, self.n_rows + other.n_rows, stats, forced,
                            self.part_rows + other.part_rows, digest)

    def finish(self, mixed: dict[str, list[str]] | None = None) -> FrameSummary:
        """Final ordering of category counts (count descending, ties by first appearance)
        and the mixed-type notes of the whole column."""
        for c, st in self.stats_by_col.items():
            if st.kind == "categorical" and st.counts is not None:
                counts = st.counts.sort_values(ascending=False, kind="stable")
                notes = [n for n in st.notes if not n.startswith("mixed types")]
                types = (mixed or {}).get(c, [])
                if len(types) > 1:
                    notes.insert(0, f"mixed types ({', '.join(types)}): compared as text "
                                    "categories")
                self.stats_by_col[c] = replace(st, counts=counts, notes=notes,
                                               n_unique=int(len(counts)),
                                               too_many=len(counts) > MAX_CATEGORIES)
        return self


def summarise(df: pd.DataFrame, kinds: dict[str, str], forced: list[str] = ()) -> FrameSummary:
    """Exact summary of one partition with the column kinds fixed for the whole dataset."""
    cols = [str(c) for c in df.columns]
    stats = {}
    for c, s in zip(cols, (df.iloc[:, i] for i in range(df.shape[1])), strict=True):
        s = s.rename(c)
        stats[c] = from_series(s, kind=kinds[c], sort=False)
    frc = {c: from_series(df[c].rename(c), kind="numeric") for c in forced}
    h = hashlib.sha256()
    if len(df):
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    h.update(",".join(cols).encode())
    return FrameSummary(cols, len(df), stats, frc, [len(df)], h.hexdigest())


def merge_stats(a: ColumnStats, b: ColumnStats) -> ColumnStats:
    """Merge two summaries of the same column (rows of ``a`` first)."""
    if a.kind != b.kind:
        raise OpsInputError(f"column {a.name!r} is {a.kind} ({a.dtype}) in one partition and "
                            f"{b.kind} ({b.dtype}) in another; cast it to one type in every "
                            "partition")
    out = ColumnStats(name=a.name, kind=a.kind, dtype=a.dtype if a.n_rows else b.dtype,
                      n_rows=a.n_rows + b.n_rows, n_missing=a.n_missing + b.n_missing,
                      n_inf=a.n_inf + b.n_inf,
                      notes=list(dict.fromkeys(a.notes + b.notes)))
    if a.kind == "numeric":
        out.sample = merge_counted(a.sample, b.sample)
        out.n_unique = out.sample.n_unique
    elif a.kind == "categorical":
        ca, cb = a.counts, b.counts
        idx = ca.index.append(cb.index[~cb.index.isin(ca.index)])
        counts = (ca.reindex(idx, fill_value=0).to_numpy(dtype="int64")
                  + cb.reindex(idx, fill_value=0).to_numpy(dtype="int64"))
        out.counts = pd.Series(counts, index=idx.astype(str), name=ca.name)
        out.n_unique = int(len(idx))
        out.too_many = out.n_unique > MAX_CATEGORIES
    return out


def merge_counted(a: Counted, b: Counted) -> Counted:
    """Distinct values and counts of two samples together (exact)."""
    if not len(a.values):
        return Counted(b.values, b.counts)
    if not len(b.values):
        return Counted(a.values, a.counts)
    vals = np.concatenate([a.values, b.values])
    cnts = np.concatenate([a.counts, b.counts])
    u, inv = np.unique(vals, return_inverse=True)
    return Counted(u, np.bincount(inv, weights=cnts, minlength=len(u)).astype("int64"))


def merge_all(parts: list[FrameSummary]) -> FrameSummary:
    """Pairwise tree merge (the reduction Dask runs, for the in-process path and tests)."""
    if not parts:
        raise OpsInputError("no partitions to summarise")
    while len(parts) > 1:
        parts = [parts[i].merge(parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]
