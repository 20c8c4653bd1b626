"""``mine_templates`` on Dask: per-partition parser states merged exactly, grouped once.

Contract with the miner (:class:`~jupyter_ops.aiops._logparser.ParserState`): the partial
state of a partition is its distinct masked lines ("keys") with counts, first/last line
(relative to the partition) and first/last time. ``merge(a, b)`` (``b``'s lines after
``a``'s) unions the keys in order of first appearance and adds/min/maxes the rest, so the
merged state is the state of mining everything in one pass; the grouping into templates then
runs once on the merged keys (grouping reads only the keys), which gives the single-process
templates, counts, first/last lines and examples. Only states travel between workers: their
size is the number of distinct keys (thousands for real logs), not the number of lines.

``ParserState.merge`` is used when the miner provides it; otherwise :func:`merge_states`
below implements the same contract against the current state's fields.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from ..aiops._logparser import _NAT, ParserState
from ..errors import OpsInputError
from ._dask import cluster_info, compute, dask, get_client

__all__ = ["mine_templates_dask", "merge_states", "partial_state"]


def partial_state(lines: list[Any], ts: np.ndarray | None, masks: Any,
                  threshold: int) -> tuple[ParserState, dict[str, int]]:
    """The parser state of one partition's lines (no grouping) and its input issues."""
    from ..aiops.logmining import _read

    batch = _read(list(lines))
    st = ParserState(masks=masks, threshold=threshold)
    st.add(batch.messages, ts)
    return st, dict(batch.issues)


def merge_states(a: ParserState, b: ParserState) -> ParserState:
    """State of ``a``'s lines followed by ``b``'s (exact, associative; inputs unchanged)."""
    if hasattr(ParserState, "merge"):
        return a.merge(b)
    if a.masks != b.masks or a.threshold != b.threshold:
        raise OpsInputError("cannot merge log-template states mined with different masks or "
                            "threshold")
    out = ParserState(masks=a.masks, threshold=a.threshold)
    for st, offset in ((a, 0), (b, a.n_lines)):
        ids = np.asarray([out._key_of(k) for k in st.keys], dtype=np.int64)
        grow = len(out.keys) - len(out.count)
        if grow:
            out.count = np.concatenate([out.count, np.zeros(grow, np.int64)])
            out.first_line = np.concatenate([out.first_line, np.full(grow, -1, np.int64)])
            out.last_line = np.concatenate([out.last_line, np.full(grow, -1, np.int64)])
            out.first_ts = np.concatenate([out.first_ts, np.full(grow, _NAT, np.int64)])
            out.last_ts = np.concatenate([out.last_ts, np.full(grow, _NAT, np.int64)])
        if not len(ids):
            continue
        out.count[ids] += st.count
        seen = st.first_line >= 0
        new = seen & (out.first_line[ids] < 0)
        for j in np.flatnonzero(new).tolist():
            out.example[ids[j]] = st.example[j]
        out.first_line[ids[new]] = st.first_line[new] + offset
        last = np.where(st.last_line >= 0, st.last_line + offset, -1)
        out.last_line[ids] = np.maximum(out.last_line[ids], last)
        cur, add = out.first_ts[ids], st.first_ts
        out.first_ts[ids] = np.where((add != _NAT) & ((cur == _NAT) | (add < cur)), add, cur)
        out.last_ts[ids] = np.maximum(out.last_ts[ids], st.last_ts)
    out.n_lines = a.n_lines + b.n_lines
    return out


def _merge_pair(x: tuple[ParserState, dict[str, int]],
                y: tuple[ParserState, dict[str, int]]) -> tuple[ParserState, dict[str, int]]:
    issues = {k: x[1].get(k, 0) + y[1].get(k, 0) for k in {**x[1], **y[1]}}
    return merge_states(x[0], y[0]), issues


def _frame_part(df: pd.DataFrame, i: int, masks: Any, threshold: int) -> Any:
    if "message" not in df.columns:
        raise OpsInputError(f"partition {i} of the logs has no 'message' column (columns: "
                            f"{', '.join(map(str, df.columns)) or 'none'})")
    ts = None
    if "timestamp" in df.columns:
        t = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
        ts = t.dt.tz_localize(None).to_numpy().astype("datetime64[ns]").view(np.int64)
    return partial_state(df["message"].tolist(), ts, masks, threshold)


def _file_part(path: str, masks: Any, threshold: int) -> Any:
    from ..aiops.logmining import _read

    batch = _read(path)  # decoding, CRLF and BOM handling as in the single-process call
    st = ParserState(masks=masks, threshold=threshold)
    st.add(batch.messages, batch.ts)
    return st, dict(batch.issues)


def mine_templates_dask(logs: Any, masks: Any = None, *, threshold: int = 4,
                        engine: str | None = "dask", client: Any = None,
                        progress: bool = False) -> Any:
    """:func:`jupyter_ops.aiops.mine_templates` over a Dask DataFrame (``message`` and
    optional ``timestamp``), a Dask Bag of lines, or log file path(s) (one task per file).

    Returns the :class:`~jupyter_ops.aiops.logmining.Templates` of all lines: templates,
    counts, first/last lines and times, examples and issues equal the single-process call;
    per-line tables (``assignments``, ``parameters``) are not collected to the client
    (they are as large as the logs): use :func:`assign_templates` for them, per partition.
    """
    from ..aiops.logmining import Templates
    from ..report.provenance import make_provenance
    from . import is_dask

    if not isinstance(threshold, (int, np.integer)) or isinstance(threshold, bool) \
            or threshold < 2:
        raise OpsInputError(f"threshold must be an integer >= 2, got {threshold!r}")
    if engine not in (None, "dask"):
        raise OpsInputError(f"engine must be None or 'dask', got {engine!r}")
    client = get_client(client)
    masks_n = ParserState(masks=masks).masks  # validates the masks before any task runs
    if is_dask(logs):
        import dask.bag as db
        import dask.dataframe as dd

        if isinstance(logs, dd.DataFrame):
            parts = [dask.delayed(_frame_part)(p, i, masks_n, int(threshold))
                     for i, p in enumerate(logs.to_delayed())]
        elif isinstance(logs, db.Bag):
            parts = [dask.delayed(partial_state)(p, None, masks_n, int(threshold))
                     for p in logs.to_delayed()]
        else:
            raise OpsInputError(f"cannot mine a Dask {type(logs).__name__}; pass a Dask "
                                "DataFrame with a 'message' column or a Bag of lines")
        npart = len(parts)
    else:
        paths = [logs] if isinstance(logs, (str, os.PathLike)) else list(logs) \
            if isinstance(logs, (list, tuple)) else None
        if not paths or not all(isinstance(p, (str, os.PathLike)) for p in paths):
            raise OpsInputError("with engine='dask' pass log file path(s), a Dask DataFrame "
                                "or a Dask Bag of lines")
        missing = [os.fspath(p) for p in paths if not os.path.isfile(p)]
        if missing:
            raise OpsInputError(f"log file(s) not found: {missing[:3]}")
        parts = [dask.delayed(_file_part)(os.fspath(p), masks_n, int(threshold)) for p in paths]
        npart = len(parts)
    while len(parts) > 1:
        parts = [dask.delayed(_merge_pair)(parts[i], parts[i + 1]) if i + 1 < len(parts)
                 else parts[i] for i in range(0, len(parts), 2)]
    state, issues = compute(parts[0], client, progress)
    state.regroup()
    result = Templates(state)
    blank = [k for k, key in enumerate(state.keys) if not key or key.isspace()]
    issues["empty_lines"] = int(state.count[blank].sum()) if blank else 0
    result.issues.update({k: int(v) for k, v in issues.items()})
    result.scale = dict(cluster_info(client), engine="dask", partitions=npart)
    result.provenance = make_provenance(
        "mine_templates", params={"masks": state.masks, "threshold": int(threshold),
                                  "engine": "dask"},
        inputs={"logs": _state_digest(state)})
    return result


def _state_digest(state: ParserState) -> str:
    import hashlib
    import json

    d = state.to_dict()
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()
