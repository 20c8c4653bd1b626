"""Shared helpers of the incident modules: input checks, severities, topology graph, text.

Private (leading underscore): the lazy ``jupyter_ops.aiops`` namespace does not scan it.

The core accepts a DataFrame that is already canonical (as :func:`jupyter_ops.io.load_alerts`
returns it) or close to it: only ``timestamp`` and ``service`` are required; ``name``,
``severity``, ``message`` and ``fingerprint`` are filled in when missing. Paths go through the
loaders of :mod:`jupyter_ops.io`.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..io.canonical import SEVERITIES, SEVERITY_BY_RANK, SEVERITY_RANK  # noqa: F401 (re-export)

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d\d:?\d\d|UTC|GMT)\s*$", re.IGNORECASE)


def _cols(frame: pd.DataFrame, limit: int = 20) -> str:
    cols = [str(c) for c in frame.columns]
    return ", ".join(cols[:limit]) + (", ..." if len(cols) > limit else "") if cols else "(none)"


def _read_path(path: Any, kind: str) -> pd.DataFrame:
    from .. import io

    # alerts/topology/logs/metrics have a canonical loader; other tables (incidents,
    # resolutions, deploys) are read as they are
    loader = getattr(io, f"load_{kind}", None) or io.read_table
    return loader(path)


def frame_of(obj: Any, what: str, kind: str) -> pd.DataFrame:
    """A DataFrame from a frame, a path, or an object with a ``.<kind>`` attribute."""
    if isinstance(obj, (str, os.PathLike)):
        if not os.path.exists(obj):
            raise OpsInputError(f"{what}: no such file {str(obj)!r}")
        obj = _read_path(obj, kind)
    if hasattr(obj, kind) and not isinstance(obj, pd.DataFrame):
        obj = getattr(obj, kind)  # e.g. an IncidentScenario
    if not isinstance(obj, pd.DataFrame):
        raise OpsInputError(f"{what} must be a DataFrame or a file path, got {type(obj).__name__}")
    return obj


def utc_timestamps(values: pd.Series, what: str, column: str = "timestamp") -> pd.Series:
    """Parse a timestamp column to UTC; mixed time zones and unparseable values are errors."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        out = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values.dt.tz_localize("UTC")  # naive timestamps are taken as UTC
    else:
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
                values.dtype):
            num = pd.to_numeric(values, errors="coerce")
            med = float(np.nanmedian(np.abs(num.to_numpy(dtype=float)))) if num.notna().any() else 0
            unit = "s" if med < 1e11 else "ms" if med < 1e14 else "us" if med < 1e17 else "ns"
            out = pd.to_datetime(num, unit=unit, utc=True, errors="coerce")
        else:
            obj = values.astype(object)
            try:
                out = pd.to_datetime(obj, utc=True, errors="coerce", format="mixed")
            except (ValueError, TypeError):  # pragma: no cover - pandas < 2.0
                out = pd.to_datetime(obj, utc=True, errors="coerce")
            _raise_unparseable(values, out, what, column)
            present = obj.notna().to_numpy()
            is_ts = np.array([hasattr(v, "tzinfo") for v in obj], dtype=bool)
            aware = np.array([
                (getattr(v, "tzinfo", None) is not None) if t else
                bool(_TZ_SUFFIX.search(str(v))) for v, t in zip(obj, is_ts, strict=False)
            ], dtype=bool) & present
            naive = present & ~aware
            if aware.any() and naive.any():
                a = [str(values.index[i]) for i in np.flatnonzero(aware)[:2]]
                n = [str(values.index[i]) for i in np.flatnonzero(naive)[:2]]
                raise OpsInputError(
                    f"{what}: column {column!r} mixes time zones: rows {', '.join(a)} have a "
                    f"UTC offset and rows {', '.join(n)} do not; give every timestamp an offset "
                    "(e.g. 2026-01-05T10:00:00Z) or none (naive times are read as UTC)")
        _raise_unparseable(values, out, what, column)
    if out.isna().any():
        i = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise OpsInputError(f"{what}: {int(out.isna().sum())} row(s) have no {column!r} "
                            f"(first: row {values.index[i]}); drop them or fill them in")
    return out.astype("datetime64[ns, UTC]")


def _raise_unparseable(values: pd.Series, out: pd.Series, what: str, column: str) -> None:
    bad = out.isna().to_numpy() & values.notna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:3]
        shown = ", ".join(f"row {values.index[i]}: {str(values.iloc[i])[:40]!r}" for i in rows)
        raise OpsInputError(
            f"{what}: {int(bad.sum())} value(s) of {column!r} cannot be parsed as time "
            f"({shown}); use ISO 8601 such as 2026-01-05T10:00:00Z or epoch seconds")


def normalise_severity(values: pd.Series) -> pd.Series:
    """Map severities to critical/error/warning/info/unknown (NaN and unknown words: unknown).

    Uses the loaders' mapping (:func:`jupyter_ops.io.normalize_severity`: syslog numbers,
    P1-P5, SEV1-5 ...) so frames and files agree.
    """
    from ..io import normalize_severity

    out = normalize_severity(values)
    return pd.Series(np.asarray(out, dtype=object), index=values.index).astype(str)


def _text(col: pd.Series, fill: str = "") -> pd.Series:
    """A text column without NaN; string columns pass through untouched (cheap)."""
    if pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_object_dtype(col.dtype):
        return col.fillna(fill) if col.hasnans else col
    return col.astype(object).where(col.notna(), fill).astype(str)


def canonical_alerts(alerts: Any, what: str = "alerts") -> pd.DataFrame:
    """Check and complete an alerts frame (a copy; the caller's frame is not changed)."""
    df = frame_of(alerts, what, "alerts")
    if len(df) == 0:
        raise OpsInputError(f"the {what} are empty (0 rows); columns found: {_cols(df)}")
    for col in ("timestamp", "service"):
        if col not in df.columns:
            raise OpsInputError(
                f"{what} are missing column {col!r}; columns found: {_cols(df)}. Rename yours, "
                f"or load them with jupyter_ops.io.load_alerts(..., columns={{'<yours>': {col!r}}})")
    df = df.copy(deep=False)
    df["timestamp"] = utc_timestamps(df["timestamp"], what)
    df["service"] = _text(df["service"], "(no service)")
    if "name" not in df.columns:
        df["name"] = _text(df["message"]).str.slice(0, 60) if "message" in df.columns \
            else "alert"
    df["name"] = _text(df["name"])
    if "severity" not in df.columns:
        df["severity"] = "unknown"
    else:
        sev = df["severity"]
        known = not sev.isna().any() and set(pd.unique(sev)) <= set(SEVERITIES)
        df["severity"] = _text(sev) if known else normalise_severity(sev)
    if "message" not in df.columns:
        df["message"] = df["name"]
    df["message"] = _text(df["message"])
    if "fingerprint" not in df.columns or df["fingerprint"].isna().any():
        parts = [df["service"], df["name"]]
        if "host" in df.columns:
            parts.append(df["host"].astype(object).where(df["host"].notna(), "").astype(str))
        key = pd.util.hash_pandas_object(pd.concat(parts, axis=1), index=False)
        fp = pd.Series(np.char.mod("%016x", key.to_numpy()), index=df.index).astype(str)
        if "fingerprint" in df.columns:
            fp = df["fingerprint"].astype(object).where(df["fingerprint"].notna(), fp).astype(str)
        df["fingerprint"] = fp
    return df


def canonical_topology(topology: Any, what: str = "topology") -> pd.DataFrame | None:
    """``caller``/``callee`` frame (strings, no self loops, no duplicates) or None."""
    if topology is None:
        return None
    if isinstance(topology, (list, tuple)):
        topology = pd.DataFrame(list(topology), columns=["caller", "callee"])
    df = frame_of(topology, what, "topology")
    if len(df) == 0:
        raise OpsInputError(f"the {what} is empty (0 edges); pass topology=None to group by "
                            "time and labels only")
    for col in ("caller", "callee"):
        if col not in df.columns:
            raise OpsInputError(f"{what} is missing column {col!r}; columns found: {_cols(df)}. "
                                "It needs one row per call: caller, callee")
    df = df[["caller", "callee"]].dropna().astype(str)
    df = df[df["caller"] != df["callee"]].drop_duplicates().reset_index(drop=True)
    return df


class Graph:
    """A service graph over integer codes: directed edges and k-hop undirected neighbourhoods."""

    def __init__(self, topology: pd.DataFrame | None, services: list[str]) -> None:
        self.topology = topology
        names = list(dict.fromkeys(list(services) + (
            list(topology["caller"]) + list(topology["callee"]) if topology is not None else [])))
        self.names = names
        self.code = {s: i for i, s in enumerate(names)}
        self.in_topology = np.zeros(len(names), dtype=bool)
        if topology is not None:
            a = np.array([self.code[s] for s in topology["caller"]], dtype=np.int64)
            b = np.array([self.code[s] for s in topology["callee"]], dtype=np.int64)
            self.in_topology[a] = True
            self.in_topology[b] = True
        else:
            a = b = np.zeros(0, dtype=np.int64)
        self.src, self.dst = a, b
        self._hops: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def n(self) -> int:
        return len(self.names)

    def adjacency(self):
        """Directed caller -> callee sparse matrix (n x n, 0/1)."""
        from scipy import sparse

        m = sparse.csr_matrix((np.ones(len(self.src), dtype=np.int8), (self.src, self.dst)),
                              shape=(self.n, self.n))
        m.data[:] = 1
        return m

    def hops(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Services within ``k`` undirected hops of each service (itself included, 0 hops).

        Returns CSR arrays ``(indptr, indices, dist)``: the neighbours of service ``i`` are
        ``indices[indptr[i]:indptr[i+1]]`` at hop distance ``dist[...]``.
        """
        if k not in self._hops:  # linking asks twice (neighbours, similarity)
            self._hops[k] = self._compute_hops(k)
        return self._hops[k]

    def _compute_hops(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from scipy import sparse

        a = self.adjacency()
        und = ((a + a.T) > 0).astype(np.int8).tocsr()
        eye = sparse.identity(self.n, dtype=np.int8, format="csr")
        rows, cols, dist = [np.arange(self.n)], [np.arange(self.n)], [np.zeros(self.n, np.int16)]
        reach = eye
        for h in range(1, k + 1):
            frontier = ((reach @ und) > 0).astype(np.int8)
            new = (frontier - frontier.multiply(reach)).tocoo()
            keep = new.data > 0
            if not keep.any():
                break
            rows.append(new.row[keep])
            cols.append(new.col[keep])
            dist.append(np.full(int(keep.sum()), h, np.int16))
            reach = ((reach + frontier) > 0).astype(np.int8).tocsr()
        m = sparse.csr_matrix((np.concatenate(dist).astype(np.int32) + 1,
                               (np.concatenate(rows), np.concatenate(cols))),
                              shape=(self.n, self.n))
        m.sort_indices()
        return m.indptr, m.indices, (m.data - 1).astype(np.int16)


def fmt_td(seconds: float) -> str:
    """``125`` -> ``2m05s``; ``3725`` -> ``1h02m``."""
    if seconds is None or not np.isfinite(seconds):
        return "n/a"
    s = int(round(abs(seconds)))
    sign = "-" if seconds < 0 else ""
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m{s % 60:02d}s"
    return f"{sign}{s // 3600}h{(s % 3600) // 60:02d}m"


def to_timedelta(value: Any, what: str) -> pd.Timedelta:
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise OpsInputError(f"{what}={value!r} is not a duration; use e.g. '5min', '30s', '1h'")
    if td <= pd.Timedelta(0):
        raise OpsInputError(f"{what}={value!r} must be positive")
    return td


def to_ns(values: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (int64) of a datetime column; NaT -> int64 min."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(values, dtype="datetime64[ns]").view("int64")


def from_ns(values: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(values, dtype="int64"), utc=True)


def lenient_utc(values: pd.Series) -> pd.Series:
    """Optional time columns (``resolved_at``...): parse what parses, NaT for the rest."""
    import warnings

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.tz_localize("UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
        except (TypeError, ValueError):
            return pd.to_datetime(values.astype(str), utc=True, errors="coerce")
