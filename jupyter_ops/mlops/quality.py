"""``check_quality``: a data quality checklist for one frame, optionally against a reference.

Each finding is one row of an issues table with a severity (``critical``, ``warning``,
``info``), the column, the check, the value found, the reference value and a message.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result
from ._colstats import ColumnStats, from_series

__all__ = ["check_quality", "QualityResult", "QUALITY_LIMITS"]

SEVERITIES = ("critical", "warning", "info")
#: (warning, critical) limits of each share-valued check
QUALITY_LIMITS = {
    "missing": (0.05, 0.5),          # share of missing values (no reference)
    "missing_change": (0.05, 0.2),   # increase of the missing share vs the reference
    "unseen_categories": (0.01, 0.1),  # share of rows whose category the reference never had
    "out_of_range": (0.01, 0.1),     # share of numbers outside the reference's [min, max]
    "duplicate_rows": (0.01, 0.1),
}


class QualityResult(Result):
    """Issues found by :func:`check_quality`.

    Attributes
    ----------
    issues : DataFrame
        ``severity``, ``column``, ``check``, ``value``, ``reference``, ``message``; critical
        first.
    summary_table : DataFrame
        One row per column: kind, dtype, missing share (and the reference's), distinct
        values, min and max.
    """

    kind = "quality"

    def __init__(self, issues: pd.DataFrame, summary_table: pd.DataFrame, n_rows: int) -> None:
        super().__init__()
        self.issues = issues
        self.summary_table = summary_table
        self.n_rows = n_rows

    @property
    def title(self) -> str:
        return "Data quality"

    def count(self, severity: str) -> int:
        return int((self.issues["severity"] == severity).sum())

    @property
    def ok(self) -> bool:
        """True when there is no critical issue."""
        return self.count("critical") == 0

    def summary(self) -> str:
        if not len(self.issues):
            return f"No quality issues in {self.n_rows:,} rows"
        c, w, i = (self.count(s) for s in SEVERITIES)
        worst = self.issues.iloc[0]
        return (f"{c} critical, {w} warning, {i} info issue(s) in {self.n_rows:,} rows; "
                f"worst: {worst['message']}")

    def figures(self) -> list[dict[str, Any]]:
        return [
            {"label": "critical", "value": self.count("critical"),
             "status": "bad" if self.count("critical") else "ok"},
            {"label": "warnings", "value": self.count("warning"),
             "status": "warn" if self.count("warning") else "ok"},
            {"label": "info", "value": self.count("info")},
            {"label": "rows", "value": self.n_rows},
        ]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"issues": self.issues, "columns": self.summary_table}

    def charts(self) -> dict[str, Any]:
        import altair as alt

        d = self.summary_table
        if not len(d) or not d["missing"].fillna(0).any() and not d.get(
                "ref_missing", pd.Series(dtype=float)).fillna(0).any():
            return {}
        cols = ["column", "missing"] + (["ref_missing"] if "ref_missing" in d else [])
        long = d[cols].rename(columns={"missing": "current", "ref_missing": "reference"}) \
            .melt(id_vars="column", var_name="side", value_name="missing share")
        chart = alt.Chart(long).mark_bar().encode(
            y=alt.Y("column:N", title=None), yOffset="side:N",
            x=alt.X("missing share:Q", axis=alt.Axis(format="%")),
            color=alt.Color("side:N", scale=alt.Scale(domain=["reference", "current"],
                                                      range=["#4c78a8", "#f58518"])),
            tooltip=["column", "side", alt.Tooltip("missing share:Q", format=".1%")],
        ).properties(width=380, height=alt.Step(10))
        return {"missing_share": chart}


def _unique_columns(df: pd.DataFrame, what: str) -> None:
    """Per-column checks need one column per name (``df[name]`` would be a frame)."""
    dups = list(dict.fromkeys(df.columns[df.columns.duplicated()]))
    if dups:
        names = ", ".join(repr(d) for d in dups[:5]) + (" ..." if len(dups) > 5 else "")
        raise OpsInputError(f"{what} has more than one column named {names}; give each column a "
                            "unique name (e.g. df.columns = [...]) and check again")


class FrameData:
    """What :func:`check_quality` reads of the data, from an in-memory frame.

    The Dask adapter (:mod:`jupyter_ops.scale.quality`) supplies the same five answers from
    merged partition states, so the checks below run once, on either.
    """

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.columns = list(df.columns)
        self.n_rows = len(df)

    def stats(self, col: str) -> ColumnStats:
        return from_series(self.df[col])

    def kind(self, col: str) -> str:
        from ._colstats import detect_kind

        return detect_kind(self.df[col])

    def dtype(self, col: str) -> str:
        return str(self.df[col].dtype)

    def nunique(self, col: str) -> int:
        """Distinct non-missing values of a datetime or text column."""
        return int(self.df[col].nunique())

    def duplicates(self) -> int:
        return count_duplicates(self.df)


def count_duplicates(df: pd.DataFrame) -> int:
    """Rows equal to an earlier row (``DataFrame.duplicated``; unhashable cells as text)."""
    try:
        return int(df.duplicated().sum())
    except TypeError:  # unhashable cells (lists, dicts)
        return int(df.astype(str).duplicated().sum())


def check_quality(df: Any, reference: Any = None,
                  schema: dict[str, str] | list[str] | None = None, *,
                  engine: str | None = None, client: Any = None,
                  progress: bool = False) -> QualityResult:
    """Check a frame for missing values, unseen categories, out-of-range values and more.

    Parameters
    ----------
    df : DataFrame
        The data to check (a Dask DataFrame, or Parquet/CSV paths with ``engine="dask"``,
        runs on a Dask cluster: same result, see ``docs/scale.md``).
    reference : DataFrame or Profile, optional
        What good data looks like: enables missing-share change, unseen categories,
        out-of-range values, dtype changes and missing/new column checks.
    schema : dict or list, optional
        Required columns (a list) or ``{column: kind_or_dtype}`` where the value is a kind
        (``numeric``, ``categorical``, ``datetime``, ``text``) or a dtype name (``int64``).
    engine, client, progress
        ``engine="dask"`` (implied by a Dask DataFrame): per-partition states merged on a
        Dask cluster (``client``: a ``distributed.Client`` or scheduler address);
        ``progress`` shows a progress bar.

    Returns
    -------
    QualityResult

    Notes
    -----
    Severities of share-valued checks follow :data:`QUALITY_LIMITS` (warning, critical).
    Also reported: all-missing columns (critical), infinite values (warning), constant
    columns (warning; info when the reference is constant too), mixed Python types in one
    column (warning), duplicate rows.
    """
    from ..scale import is_dask

    if engine is not None or is_dask(df) or is_dask(reference):
        from ..scale.quality import check_quality_dask

        return check_quality_dask(df, reference, schema, engine=engine, client=client,
                                  progress=progress)
    if not isinstance(df, pd.DataFrame):
        raise OpsInputError(f"check_quality() needs a DataFrame, got {type(df).__name__}")
    df = df.set_axis([str(c) for c in df.columns], axis=1)
    _unique_columns(df, "the data")
    return quality_of(FrameData(df), reference, schema, df)


def quality_of(data: Any, reference: Any, schema: dict[str, str] | list[str] | None,
               hashed: Any) -> QualityResult:
    """The checks of :func:`check_quality` on ``data`` (a :class:`FrameData` or the Dask
    adapter's merged state); ``hashed``: the data's provenance input (object or digest)."""
    from ..scale import is_summary
    from .profiling import Profile

    if reference is not None and not isinstance(reference, (pd.DataFrame, Profile)) \
            and not is_summary(reference):
        raise OpsInputError(f"reference must be a DataFrame or a Profile, got {type(reference).__name__}")
    if isinstance(reference, pd.DataFrame):
        _unique_columns(reference.set_axis([str(c) for c in reference.columns], axis=1),
                        "the reference")
    n_rows = data.n_rows
    issues: list[dict[str, Any]] = []

    def add(sev: str, col: str, check: str, value: Any, ref: Any, msg: str) -> None:
        issues.append({"severity": sev, "column": col, "check": check, "value": value,
                       "reference": ref, "message": msg})

    def grade(share: float, limits: tuple[float, float]) -> str:
        return "critical" if share > limits[1] else "warning" if share > limits[0] else "info"

    if n_rows == 0:
        add("critical", "", "empty", 0, None, "the frame has no rows")
    ref_cols: list[str] = []
    if reference is not None:
        ref_cols = [str(c) for c in reference.columns]
        if isinstance(reference, pd.DataFrame):
            reference = reference.set_axis(ref_cols, axis=1)
        for c in ref_cols:
            if c not in data.columns:
                add("critical", c, "missing_column", None, "present",
                    f"column {c!r} is in the reference but not in the data")
        for c in data.columns:
            if c not in ref_cols:
                add("info", c, "new_column", "present", None, f"column {c!r} is not in the reference")
    if schema is not None:
        _check_schema(data, schema, add)

    summary = []
    for c in data.columns:
        st = data.stats(c)
        rs: ColumnStats | None = None
        if c in ref_cols:
            rs = from_series(reference[c]) if isinstance(reference, pd.DataFrame) \
                else reference.stats(c)
        row = {"column": c, "kind": st.kind, "dtype": st.dtype,
               "missing": st.missing_share if n_rows else np.nan,
               "ref_missing": rs.missing_share if rs is not None else np.nan,
               "n_unique": st.n_unique if st.kind in ("numeric", "categorical")
               else data.nunique(c),
               "min": np.nan, "max": np.nan}
        if st.sample is not None and st.sample.n:
            row.update(min=float(st.sample.values[0]), max=float(st.sample.values[-1]))
        summary.append(row)
        if not n_rows:
            continue
        # missing values
        if st.n_missing == st.n_rows:
            add("critical", c, "all_missing", 1.0, rs.missing_share if rs else None,
                f"{c!r} is entirely missing")
            continue
        if rs is not None and rs.n_rows:
            change = st.missing_share - rs.missing_share
            if change > 0:
                add(grade(change, QUALITY_LIMITS["missing_change"]), c, "missing_change",
                    round(st.missing_share, 4), round(rs.missing_share, 4),
                    f"{c!r}: {st.missing_share:.1%} missing, was {rs.missing_share:.1%}")
        elif st.n_missing:
            add(grade(st.missing_share, QUALITY_LIMITS["missing"]), c, "missing",
                round(st.missing_share, 4), None, f"{c!r}: {st.missing_share:.1%} missing")
        if st.n_inf:
            add("warning", c, "infinite", st.n_inf, None, f"{c!r}: {st.n_inf:,} infinite value(s)")
        for note in st.notes:
            if note.startswith("mixed types"):
                add("warning", c, "mixed_types", note.split(":")[0], None, f"{c!r}: {note}")
        # constant column
        n_valid = st.n_valid
        if n_valid > 1 and st.n_unique == 1 and st.kind in ("numeric", "categorical"):
            ref_const = rs is not None and rs.kind == st.kind and rs.n_unique == 1
            add("info" if ref_const else "warning", c, "constant", 1, 1 if ref_const else None,
                f"{c!r} has a single value")
        if rs is None:
            continue
        # dtype / kind change
        if rs.kind != st.kind and rs.n_missing < rs.n_rows:
            add("critical", c, "dtype_change", st.dtype, rs.dtype,
                f"{c!r} changed type: {rs.dtype} ({rs.kind}) -> {st.dtype} ({st.kind})")
            continue
        if rs.dtype != st.dtype and not (st.kind == "datetime" and _same_tz(rs.dtype, st.dtype)):
            add("warning", c, "dtype_change", st.dtype, rs.dtype,
                f"{c!r} changed dtype: {rs.dtype} -> {st.dtype}")
        # unseen categories
        if st.kind == "categorical" and rs.counts is not None and st.counts is not None and n_valid:
            unseen = st.counts[~st.counts.index.isin(rs.counts.index)]
            if len(unseen):
                share = float(unseen.sum() / n_valid)
                examples = ", ".join(repr(x)[:40] for x in unseen.index[:5])
                add(grade(share, QUALITY_LIMITS["unseen_categories"]), c, "unseen_categories",
                    round(share, 4), None,
                    f"{c!r}: {len(unseen):,} categor{'y' if len(unseen) == 1 else 'ies'} never seen in "
                    f"the reference ({share:.1%} of rows), e.g. {examples}")
        # out of range
        if st.kind == "numeric" and rs.sample is not None and rs.sample.n and st.sample.n:
            lo, hi = float(rs.sample.values[0]), float(rs.sample.values[-1])
            x = st.sample
            outside = int(x.counts[(x.values < lo) | (x.values > hi)].sum())
            if outside:
                share = outside / x.n
                add(grade(share, QUALITY_LIMITS["out_of_range"]), c, "out_of_range",
                    round(share, 4), f"[{lo:.6g}, {hi:.6g}]",
                    f"{c!r}: {outside:,} value(s) ({share:.1%}) outside the reference range "
                    f"[{lo:.6g}, {hi:.6g}]")
    # duplicate rows
    if n_rows > 1:
        dup = data.duplicates()
        if dup:
            share = dup / n_rows
            add(grade(share, QUALITY_LIMITS["duplicate_rows"]), "", "duplicate_rows", dup, None,
                f"{dup:,} duplicate row(s) ({share:.1%})")

    table = pd.DataFrame(issues, columns=["severity", "column", "check", "value", "reference", "message"])
    if len(table):
        rank = table["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
        table = table.assign(_r=rank).sort_values("_r", kind="stable").drop(columns="_r") \
            .reset_index(drop=True)
    for col in ("value", "reference"):  # mixed numbers and text: show as text
        table[col] = table[col].map(lambda v: None if v is None else str(v)).astype(object)
    summary_df = pd.DataFrame(summary, columns=["column", "kind", "dtype", "missing", "ref_missing",
                                                "n_unique", "min", "max"])
    if reference is None:
        summary_df = summary_df.drop(columns="ref_missing")
    result = QualityResult(table, summary_df, n_rows)
    from ..provenance import make_provenance

    ref_in = reference if isinstance(reference, pd.DataFrame) or reference is None \
        else reference.fingerprint
    result.provenance = make_provenance(
        "jupyter_ops.mlops.check_quality", {"schema": schema},
        {"df": hashed, "reference": ref_in}, None)
    return result


def _same_tz(a: str, b: str) -> bool:
    """Datetime dtypes that differ only in their unit (ns vs us): not a real change."""
    return a.split(",")[1:] == b.split(",")[1:]


_KINDS = {"numeric", "categorical", "datetime", "text"}


def _check_schema(data: Any, schema: dict[str, str] | list[str], add: Any) -> None:
    if isinstance(schema, (list, tuple)):
        schema = {c: None for c in schema}
    if not isinstance(schema, dict):
        raise OpsInputError("schema must be a list of column names or a {column: kind or dtype} dict")
    for c, want in schema.items():
        if c not in data.columns:
            add("critical", c, "missing_column", None, want or "required",
                f"required column {c!r} is missing; the data has {list(data.columns)[:20]}")
            continue
        if want is None:
            continue
        got = data.kind(c) if want in _KINDS else data.dtype(c)
        if got != want:
            add("critical", c, "schema_type", got, want, f"{c!r} is {got}, the schema says {want}")
