"""Per-column summaries shared by drift, profiles and quality checks.

A column is summarised once into :class:`ColumnStats` (kind, missing and infinite counts,
a :class:`~jupyter_ops.mlops.stattests.Counted` sample for numbers, category counts for
categories). Frames give exact summaries; profiles give sketch-based ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .stattests import Counted, counted

#: more distinct values than this in a categorical column: treated as an identifier, skipped
MAX_CATEGORIES = 10_000
#: string columns whose values average this many characters and are mostly unique are text
TEXT_MIN_LENGTH = 30
_NUMBER_TYPES = {"int", "float", "int64", "int32", "float64", "float32", "Decimal"}
#: numeric columns keep exact value counts while they have at most this many distinct values
SMALL_UNIQUE = 50


@dataclass
class ColumnStats:
    """Summary of one column on one side (reference or current)."""

    name: str
    kind: str  # numeric | categorical | datetime | text
    dtype: str
    n_rows: int
    n_missing: int = 0
    n_inf: int = 0
    sample: Counted | None = None  # numeric (finite values)
    counts: pd.Series | None = None  # categorical: category -> count, descending
    n_unique: int = 0
    notes: list[str] = field(default_factory=list)
    too_many: bool = False  # categorical with more than MAX_CATEGORIES levels

    @property
    def n_valid(self) -> int:
        if self.kind == "numeric":
            return self.sample.n if self.sample is not None else 0
        if self.counts is not None:
            return int(self.counts.sum())
        return self.n_rows - self.n_missing

    @property
    def missing_share(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else float("nan")

    @property
    def exact(self) -> bool:
        return self.sample.exact if self.sample is not None else True


def detect_kind(s: pd.Series) -> str:
    """``numeric``, ``categorical``, ``datetime`` or ``text`` from the dtype (and string lengths)."""
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt) or isinstance(dt, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dt):
        return "numeric"
    if pd.api.types.is_numeric_dtype(dt):
        return "numeric"
    if pd.api.types.is_object_dtype(dt):
        types = set(mixed_types(s))
        if types and types <= _NUMBER_TYPES:  # numbers stored as objects
            return "numeric"
    # object / string: text when long and mostly unique, else categorical
    head = s.dropna().head(2000)
    if len(head) == 0:
        return "categorical"
    if head.map(type).eq(str).all():
        lengths = head.str.len()
        if lengths.mean() >= TEXT_MIN_LENGTH and head.nunique() > 0.5 * len(head):
            return "text"
    return "categorical"


def mixed_types(s: pd.Series) -> list[str]:
    """Python type names found in an object column (more than one means mixed types)."""
    if not (pd.api.types.is_object_dtype(s.dtype)):
        return []
    types = s.dropna().map(lambda v: type(v).__name__)
    return sorted(types.unique().tolist())


def from_series(s: pd.Series, kind: str | None = None, sort: bool = True) -> ColumnStats:
    """Exact summary of a column (``kind`` forces the kind, e.g. datetime -> numeric).

    ``sort=False`` keeps category counts in order of first appearance (what a partial
    summary needs to merge into exactly the counts of the whole, see ``jupyter_ops.scale``).
    """
    name = str(s.name)
    found = detect_kind(s)
    kind = kind or found
    st = ColumnStats(name=name, kind=kind, dtype=str(s.dtype), n_rows=len(s))
    if kind == "numeric":
        if found == "datetime":
            vals = epoch_seconds(s)
        elif pd.api.types.is_timedelta64_dtype(s.dtype):
            vals = s.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
        else:
            try:
                vals = s.to_numpy(dtype="float64", na_value=np.nan)
            except (TypeError, ValueError):
                vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        nan = np.isnan(vals)
        inf = np.isinf(vals)
        st.n_missing = int(nan.sum())
        st.n_inf = int(inf.sum())
        st.sample = counted(vals[~(nan | inf)])
        st.n_unique = st.sample.n_unique
    elif kind == "categorical":
        types = mixed_types(s)
        if len(types) > 1:
            st.notes.append(f"mixed types ({', '.join(types)}): compared as text categories")
        st.n_missing = int(s.isna().sum())
        valid = s.dropna()
        if types and (len(types) > 1 or types[0] != "str"):
            valid = valid.astype(str)
        elif pd.api.types.is_bool_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
            valid = valid.astype(str)
        counts = valid.value_counts(sort=sort)
        counts.index = counts.index.astype(str)
        st.n_unique = int(len(counts))
        if st.n_unique > MAX_CATEGORIES:
            st.too_many = True
        st.counts = counts
    else:
        st.n_missing = int(s.isna().sum())
    return st


def epoch_seconds(s: pd.Series) -> np.ndarray:
    """Seconds since 1970 as floats, whatever the datetime unit (ns, us, ...) and time zone."""
    epoch = pd.Timestamp("1970-01-01", tz=getattr(s.dt, "tz", None))
    return ((s - epoch) / pd.Timedelta(seconds=1)).to_numpy(dtype="float64", na_value=np.nan)


def numeric_value_counts(st: ColumnStats) -> pd.Series:
    """A numeric column with few distinct values as category counts (labels ``'%g'``)."""
    assert st.sample is not None
    labels = [f"{v:g}" for v in st.sample.values]
    return pd.Series(st.sample.counts, index=pd.Index(labels, dtype=object)).groupby(level=0).sum()


def align_counts(a: pd.Series, b: pd.Series) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Both count vectors over the union of categories (reference order first)."""
    idx = a.index.append(b.index[~b.index.isin(a.index)])
    ra = a.reindex(idx, fill_value=0).to_numpy(dtype="float64")
    rb = b.reindex(idx, fill_value=0).to_numpy(dtype="float64")
    return idx, ra, rb
