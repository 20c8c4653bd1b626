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

import copy
import os
from typing import Any

import numpy as np
import pandas as pd

from ..aiops._logparser import ParserState
from ..errors import OpsInputError
from ._dask import cluster_info, compute, dask, get_client

__all__ = ["mine_templates_dask", "merge_states", "partial_state"]


def partial_state(source: Any, settings: dict[str, Any]) -> tuple[ParserState, dict[str, int]]:
    """The parser state of one partition (lines numbered from 0) and its input issues.

    ``source``: a list of lines, a logs frame (``message``, optional ``timestamp``) or a log
    file path, read by the single-process reader (decoding, CRLF/BOM, timestamps through
    ``jupyter_ops.io.to_utc``), so a partition is read exactly as the whole input would be.
    """
    from ..aiops.logmining import _read, _skip_blank

    batch = _read(source if isinstance(source, (str, pd.DataFrame)) else list(source))
    _skip_blank(batch)  # as the single-process call: blank lines counted, not mined
    st = ParserState(**settings)
    st.add(batch.messages, batch.ts, start=0)
    st._cache.clear()  # the line-shape cache only speeds up add(); merge never reads it
    return st, dict(batch.issues)


def merge_states(a: ParserState, b: ParserState) -> ParserState:
    """State of ``a``'s lines followed by ``b``'s (exact, associative; inputs unchanged).

    Each partition numbers its lines from 0, so ``b``'s line numbers are moved past ``a``'s
    before :meth:`ParserState.merge`, which orders keys by their global first line.
    """
    shifted = copy.copy(b)  # shallow: merge only reads the arrays replaced here
    shifted.first_line = b.first_line + a.n_lines
    shifted.last_line = np.where(b.last_line >= 0, b.last_line + a.n_lines, -1)
    shifted._next_line = b._next_line + a.n_lines
    try:
        return a.merge(shifted)
    except ValueError as e:  # different masks or thresholds
        raise OpsInputError(str(e)) from None


def _merge_pair(x: tuple[ParserState, dict[str, int]],
                y: tuple[ParserState, dict[str, int]]) -> tuple[ParserState, dict[str, int]]:
    issues = {k: x[1].get(k, 0) + y[1].get(k, 0) for k in {**x[1], **y[1]}}
    return merge_states(x[0], y[0]), issues


def _frame_part(df: pd.DataFrame, i: int, settings: dict[str, Any]) -> Any:
    if "message" not in df.columns:
        raise OpsInputError(f"partition {i} of the logs has no 'message' column (columns: "
                            f"{', '.join(map(str, df.columns)) or 'none'})")
    return partial_state(df, settings)


def mine_templates_dask(logs: Any, masks: Any = None, *, threshold: int = 4,
                        word_threshold: int | None = None, variants: str = "wildcard",
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
    from ..provenance import make_provenance
    from . import is_dask

    if not isinstance(threshold, (int, np.integer)) or isinstance(threshold, bool) \
            or threshold < 2:
        raise OpsInputError(f"threshold must be an integer >= 2, got {threshold!r}")
    if engine not in (None, "dask"):
        raise OpsInputError(f"engine must be None or 'dask', got {engine!r}")
    client = get_client(client)
    try:  # validates masks and settings before any task runs
        probe = ParserState(masks=masks, threshold=int(threshold),
                            word_threshold=word_threshold, variants=variants)
    except ValueError as e:
        raise OpsInputError(str(e)) from None
    settings = {"masks": probe.masks, "threshold": probe.threshold,
                "word_threshold": probe.word_threshold, "variants": probe.variants}
    if is_dask(logs):
        import dask.bag as db
        import dask.dataframe as dd

        if isinstance(logs, dd.DataFrame):
            parts = [dask.delayed(_frame_part)(p, i, settings)
                     for i, p in enumerate(logs.to_delayed())]
        elif isinstance(logs, db.Bag):
            parts = [dask.delayed(partial_state)(p, settings) for p in logs.to_delayed()]
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
        parts = [dask.delayed(partial_state)(os.fspath(p), settings) for p in paths]
        npart = len(parts)
    while len(parts) > 1:
        parts = [dask.delayed(_merge_pair)(parts[i], parts[i + 1]) if i + 1 < len(parts)
                 else parts[i] for i in range(0, len(parts), 2)]
    state, issues = compute(parts[0], client, progress)
    state.regroup()
    result = Templates(state)
    result.issues.update({k: int(v) for k, v in issues.items()})
    result.scale = dict(cluster_info(client), engine="dask", partitions=npart)
    result.provenance = make_provenance(
        "mine_templates", params={**settings, "masks": state.masks,
                                  "engine": "dask"},
        inputs={"logs": _state_digest(state)})
    return result


def _state_digest(state: ParserState) -> str:
    import hashlib
    import json

    d = state.to_dict()
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()
