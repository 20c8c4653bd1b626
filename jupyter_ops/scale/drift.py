"""``drift`` and ``profile`` on Dask: exact partition summaries merged on the workers.

Two passes over the data, both per partition:

1. (only for object/string columns) the first 2,000 non-missing values and the Python
   types present, to decide text vs categorical vs "numbers stored as objects" exactly as
   the single-process ``detect_kind`` would on the whole column;
2. one :class:`~jupyter_ops.scale.summary.FrameSummary` per partition with those kinds,
   merged pairwise on the workers (a tree), so only partial states travel.

The merged summary then goes through the ordinary :func:`~jupyter_ops.mlops.drift`, which
runs the same tests on it as on a frame: statistics, p-values and verdicts are the
single-process ones. The domain classifier samples the same row positions as the
single-process call (same seed) and fetches just those rows (at most 5,000 per side).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..mlops._colstats import detect_kind
from ._dask import as_frame, cluster_info, compute, dask, get_client
from .summary import FrameSummary, summarise

__all__ = ["drift_dask", "profile_dask", "summarise_dask", "summary_graph", "finish_summary"]

_HEAD = 2000  # detect_kind looks at the first 2,000 non-missing values


def drift_dask(reference: Any, current: Any, *, engine: str | None = None, client: Any = None,
               progress: bool = False, columns: list[str] | None = None,
               **kwargs: Any) -> Any:
    """:func:`jupyter_ops.mlops.drift` on Dask DataFrames (or Parquet/CSV paths)."""
    from ..mlops.driftcheck import drift
    from ..mlops.profiling import Profile

    _check_engine(engine)
    client = get_client(client)
    cur = as_frame(current, "current")
    is_profile = isinstance(reference, Profile)
    ref = None if is_profile else as_frame(reference, "reference")
    want = set(columns or [])
    cur_s = summarise_dask(cur, client, progress, forced=_datetimes(cur, want))
    ref_s = reference if is_profile else summarise_dask(ref, client, progress,
                                                         forced=_datetimes(ref, want))
    result = drift(ref_s, cur_s, columns=columns, **kwargs)
    result.scale = dict(cluster_info(client), engine="dask",
                        partitions={"current": cur.npartitions,
                                    "reference": None if is_profile else ref.npartitions})
    return result


def profile_dask(df: Any, columns: list[str] | None = None, *, client: Any = None,
                 progress: bool = False) -> Any:
    """:func:`jupyter_ops.mlops.profile` of a Dask DataFrame: partition profiles merged."""
    from ..mlops.profiling import Profile, _profile_frame

    client = get_client(client)
    ddf = as_frame(df, "df")
    cols = [str(c) for c in ddf.columns]
    if columns is not None:
        missing = [c for c in columns if c not in cols]
        if missing:
            raise OpsInputError(f"column(s) {missing} not found; the frame has {cols[:20]}")
        ddf = ddf[list(columns)]
        cols = list(columns)
    kinds, mixed = _kinds(ddf, client, progress)
    expected = _families(ddf)
    parts = [dask.delayed(_checked)(p, i, expected, _profile_frame, kinds)
             for i, p in enumerate(ddf.to_delayed())]
    prof: Profile = compute(_tree(parts, Profile.merge), client, progress)
    for c, types in mixed.items():  # the note names the types of the whole column
        col = prof.column(c)
        if col["kind"] == "categorical":
            col["notes"] = [n for n in col.get("notes", []) if not n.startswith("mixed types")]
            if len(types) > 1:
                col["notes"].insert(0, f"mixed types ({', '.join(types)}): compared as text "
                                       "categories")
    return prof


def summarise_dask(ddf: Any, client: Any, progress: bool = False,
                   forced: list[str] = ()) -> FrameSummary:
    """The exact merged :class:`FrameSummary` of a Dask DataFrame (rows fetchable by position)."""
    tree, _, mixed, _, delayed_parts = summary_graph(ddf, client, progress, forced)
    out: FrameSummary = compute(tree, client, progress)
    return finish_summary(out, mixed, ddf, delayed_parts, client)


def summary_graph(ddf: Any, client: Any, progress: bool = False, forced: list[str] = ()
                  ) -> tuple[Any, dict[str, str], dict[str, list[str]],
                             dict[str, tuple[str, str]], list[Any]]:
    """The merge tree of partition summaries (not computed yet), each column's kind, the
    mixed-type names per object column, the schema every partition is checked against, and
    the partitions.

    Column kinds are decided first (one small pass over object columns), so every partition
    is summarised with the kinds of the whole column.
    """
    kinds, mixed = _kinds(ddf, client, progress)
    expected = _families(ddf)
    delayed_parts = ddf.to_delayed()
    parts = [dask.delayed(_checked)(p, i, expected, summarise, kinds, list(forced))
             for i, p in enumerate(delayed_parts)]
    return _tree(parts, FrameSummary.merge), kinds, mixed, expected, delayed_parts


def finish_summary(out: FrameSummary, mixed: dict[str, list[str]], ddf: Any,
                   delayed_parts: list[Any], client: Any) -> FrameSummary:
    """The merged summary's final category order and notes, and a row fetcher by position."""
    out.finish(mixed)
    bounds = np.cumsum([0] + out.part_rows)

    def take_rows(idx: np.ndarray) -> pd.DataFrame:
        idx = np.asarray(idx, dtype=np.int64)
        where = np.searchsorted(bounds, idx, side="right") - 1
        tasks = [dask.delayed(_iloc)(delayed_parts[p], idx[where == p] - bounds[p])
                 for p in np.unique(where).tolist()]
        frames = compute(tasks, client, False)
        return pd.concat(frames) if frames else ddf._meta
    out.take_rows = take_rows
    return out


# -- helpers --------------------------------------------------------------------------------
def _check_engine(engine: str | None) -> None:
    if engine not in (None, "dask"):
        raise OpsInputError(f"engine must be None or 'dask', got {engine!r}")


def _iloc(df: pd.DataFrame, loc: np.ndarray) -> pd.DataFrame:
    return df.iloc[loc]


def _tree(parts: list[Any], merge: Any) -> Any:
    """Pairwise merges as Dask tasks: log2(partitions) levels, each on the workers."""
    if not parts:
        raise OpsInputError("the Dask DataFrame has no partitions")
    while len(parts) > 1:
        parts = [dask.delayed(merge)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


def _datetimes(ddf: Any, wanted: set[str]) -> list[str]:
    """Datetime columns named in ``columns=`` (drift tests them as numbers)."""
    return [str(c) for c, t in ddf.dtypes.items()
            if str(c) in wanted and pd.api.types.is_datetime64_any_dtype(t)]


def _family(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"  # object, string, category


def _families(ddf: Any) -> dict[str, tuple[str, str]]:
    return {str(c): (_family(t), str(t)) for c, t in ddf.dtypes.items()}


def _checked(df: pd.DataFrame, i: int, expected: dict[str, tuple[str, str]], fn: Any,
             *args: Any) -> Any:
    """Run ``fn`` on partition ``i`` after checking its schema against the first one's."""
    cols = [str(c) for c in df.columns]
    if cols != list(expected):
        extra = [c for c in cols if c not in expected]
        lost = [c for c in expected if c not in cols]
        raise OpsInputError(f"partition {i} has other columns than partition 0 (extra {extra}, "
                            f"missing {lost}); give every file the same schema")
    for c, s in zip(cols, (df.iloc[:, j] for j in range(df.shape[1])), strict=True):
        fam, dt = expected[c]
        got = _family(s.dtype)
        if got != fam and not (len(s) == 0 or s.isna().all()) \
                and {got, fam} != {"bool", "number"}:
            raise OpsInputError(f"column {c!r} is {s.dtype} in partition {i} but {dt} in the "
                                "schema; cast it to one type in every file")
    return fn(df.set_axis(cols, axis=1), *args)


def _head_types(df: pd.DataFrame, cols: list[str]) -> dict[str, tuple[list[Any], dict[str, Any]]]:
    """Per column: the first non-missing values and one example value per Python type."""
    out = {}
    for c in cols:
        nn = df[c].dropna()
        examples: dict[str, Any] = {}
        if pd.api.types.is_object_dtype(nn.dtype) and len(nn):
            names = nn.map(lambda v: type(v).__name__).reset_index(drop=True)
            first = names.drop_duplicates()
            examples = {n: nn.iloc[k] for k, n in first.items()}
        out[c] = (nn.head(_HEAD).tolist(), examples)
    return out


def _kinds(ddf: Any, client: Any, progress: bool) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each column's kind as the single-process ``detect_kind`` sees the whole column, and the
    Python types of object columns (for the mixed-types note)."""
    kinds: dict[str, str] = {}
    textual = []
    for c, t in ddf.dtypes.items():
        c = str(c)
        if _family(t) == "text" and not isinstance(t, pd.CategoricalDtype):
            textual.append(c)
        else:
            kinds[c] = detect_kind(pd.Series([], dtype=t))
    mixed: dict[str, list[str]] = {}
    if not textual:
        return kinds, mixed
    sub = ddf[textual]
    parts = [dask.delayed(_head_types)(p, textual) for p in sub.to_delayed()]
    found = compute(parts, client, progress)
    for c in textual:
        head: list[Any] = []
        examples: dict[str, Any] = {}
        for part in found:
            values, ex = part[c]
            if len(head) < _HEAD:
                head.extend(values[:_HEAD - len(head)])
            for n, v in ex.items():
                examples.setdefault(n, v)
        # the first values, plus one value of every type seen anywhere: detect_kind on this
        # small series decides as it would on the whole column (it looks at the first 2,000
        # values and at the set of types)
        present = {type(v).__name__ for v in head}
        extra = [v for n, v in examples.items() if n not in present]
        s = pd.Series(head + extra, dtype=sub.dtypes[c])
        kinds[c] = detect_kind(s)
        mixed[c] = sorted(examples)
    return kinds, mixed
