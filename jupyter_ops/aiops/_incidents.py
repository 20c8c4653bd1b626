"""Shared helpers of the incident modules: input checks, severities, topology graph, text.

Private (leading underscore): the lazy ``jupyter_ops.aiops`` namespace does not scan it.

The core accepts a DataFrame that is already canonical (as :func:`jupyter_ops.io.load_alerts`
returns it) or close to it: only ``timestamp`` and ``service`` are required; ``name``,
``severity``, ``message`` and ``fingerprint`` are filled in when missing. Paths go through the
loaders of :mod:`jupyter_ops.io`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..io.canonical import SEVERITIES, SEVERITY_BY_RANK, SEVERITY_RANK  # noqa: F401 (re-export)


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
    """Parse a time column to UTC with the package's one parser (:func:`jupyter_ops.io`'s
    ``to_utc``): what the loaders accept, the incident functions accept."""
    from ..io._common import to_utc

    return to_utc(values, column, what).astype("datetime64[ns, UTC]")


def normalise_severity(values: pd.Series) -> pd.Series:
    """Map severities to critical/error/warning/info/unknown (NaN and unknown words: unknown).

    Uses the loaders' mapping (:func:`jupyter_ops.io.normalize_severity`: syslog numbers,
    P1-P5, SEV1-5 ...) so frames and files agree.
    """
    from ..io import normalize_severity

    out = normalize_severity(values)
    return pd.Series(np.asarray(out, dtype=object), index=values.index).astype(str)


def canonical_alerts(alerts: Any, what: str = "alerts") -> pd.DataFrame:
    """The alerts as :func:`jupyter_ops.io.load_alerts` gives them, on the caller's index.

    One loader for every door: a raw frame, a file and an already loaded frame give the same
    columns and fingerprints, so ``correlate(raw)`` and ``correlate(load_alerts(raw))`` agree.
    The incident functions need only ``timestamp`` and ``service``: a missing ``name`` is
    taken from the message (or "alert") before loading. A frame that is already canonical is
    not parsed again.
    """
    from ..io import load_alerts

    df = frame_of(alerts, what, "alerts")  # paths go through load_alerts here
    if len(df) == 0:
        raise OpsInputError(f"the {what} are empty (0 rows); columns found: {_cols(df)}")
    for col in ("timestamp", "service"):
        if col not in df.columns:
            raise OpsInputError(
                f"{what} are missing column {col!r}; columns found: {_cols(df)}. Rename yours, "
                f"or load them with jupyter_ops.io.load_alerts(..., columns={{'<yours>': {col!r}}})")
    if "name" not in df.columns:
        msg = df["message"] if "message" in df.columns else None
        name = (msg.astype(object).where(msg.notna(), "").astype(str).str.slice(0, 60)
                if msg is not None else "alert")
        df = df.assign(name=name)
    index = df.index
    out = df if _is_loaded(df) else load_alerts(df)
    out = out.copy(deep=False)
    out.index = index
    return out


def _is_loaded(df: pd.DataFrame) -> bool:
    """Already what load_alerts returns (its own check when it has one)."""
    from ..io import canonical

    check = getattr(canonical, "is_canonical", None)
    if check is not None:
        return bool(check(df, "alerts"))
    need = ("timestamp", "service", "name", "severity", "message", "host", "labels",
            "fingerprint")
    if any(c not in df.columns for c in need) or df.columns.has_duplicates:
        return False
    if str(df["timestamp"].dtype) != "datetime64[ns, UTC]" or df["timestamp"].hasnans:
        return False
    for c in ("service", "name", "severity", "message", "host", "fingerprint"):
        col = df[c]
        if not pd.api.types.is_string_dtype(col.dtype) or col.hasnans:
            return False
    return set(pd.unique(df["severity"])) <= set(SEVERITIES)


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

    from ..io._common import to_utc

    try:
        return to_utc(values, str(values.name), "alerts", allow_missing=True)
    except (OpsInputError, TypeError, ValueError):
        pass
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
        except (TypeError, ValueError):
            return pd.to_datetime(values.astype(str), utc=True, errors="coerce")
