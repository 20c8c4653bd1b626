"""Grafana Loki over its HTTP API: LogQL range queries -> the canonical logs frame, and push.

Implemented from Loki's documented API (``GET /loki/api/v1/query_range``,
``POST /loki/api/v1/push``). A range holding more lines than one request returns (``limit``)
is read page by page forward in time: the next page starts at the last timestamp seen
(inclusive, since several lines may share it) and lines already read at that timestamp are
dropped, so no line is lost or doubled at a page edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError

__all__ = ["loki_query_range", "loki_push"]

#: lines per request (Loki's default ``max_entries_limit_per_query`` is 5000)
DEFAULT_PAGE = 5000
#: refuse to hold more lines than this in one frame (narrow the query or range instead)
DEFAULT_MAX_LINES = 2_000_000


def _ns(ts: pd.Timestamp) -> int:
    return int(ts.value)


def loki_query_range(url: str | None, logql: str, start: Any, end: Any,
                     limit: int = DEFAULT_PAGE, *, service_label: str | None = None,
                     max_lines: int = DEFAULT_MAX_LINES, **client: Any) -> pd.DataFrame:
    """Run a LogQL log query over ``[start, end)`` and return the canonical logs frame.

    Parameters
    ----------
    url : str or None
        Loki base URL; None reads ``JUPYTER_OPS_LOKI_URL``.
    logql : str
        A log query, e.g. ``{app="checkout"} |= "error"`` (metric queries are refused).
    start, end : time
        Range; ``start`` inclusive, ``end`` exclusive (as Loki defines them).
    limit : int
        Lines per request (page size); all pages are read until the range is complete.
    service_label : str, optional
        Stream label naming the service; default ``service``, then ``app``, then ``job``,
        then ``service_name``.
    max_lines : int
        Error (instead of a huge frame) when the range holds more lines.
    **client
        :class:`jupyter_ops.io.http.LiveClient` settings (token, headers such as
        ``{"X-Scope-OrgID": "tenant"}``, timeout, ...).

    Returns
    -------
    pandas.DataFrame
        ``timestamp`` (UTC, nanoseconds kept), ``service``, ``level`` (label ``level`` or
        ``detected_level``, else inferred from the line), ``message``, then one column per
        stream label; oldest first. ``attrs["jupyter_ops_source"]`` records server, query and
        exact range.
    """
    from .http import LiveClient
    from .live import ATTRS_KEY, iso, time_range

    if not isinstance(logql, str) or not logql.strip():
        raise OpsInputError('logql must be a non-empty LogQL query, e.g. {app="checkout"}')
    limit = int(limit)
    if limit < 1:
        raise OpsInputError(f"limit must be at least 1, got {limit}")
    s, e = time_range(start=start, end=end)
    end_ns = _ns(e)
    cursor = _ns(s)
    seen_at_cursor: set[tuple] = set()
    rows: list[tuple[int, tuple, str]] = []
    with LiveClient("loki", url, **client) as cl:
        base = cl.base
        while True:
            body = cl.get_json("/loki/api/v1/query_range", query=logql, params={
                "query": logql, "start": str(cursor), "end": str(end_ns), "limit": str(limit),
                "direction": "forward"})
            page = _entries(body, base, logql)
            page.sort(key=lambda r: r[0])
            new = [r for r in page if not (r[0] == cursor and (r[1], r[2]) in seen_at_cursor)]
            rows.extend(new)
            if len(rows) > max_lines:
                raise OpsInputError(
                    f"{logql!r} holds more than {max_lines} lines between {iso(s)} and "
                    f"{iso(e)} at Loki {base}; narrow the query or the range (or raise "
                    f"max_lines)")
            if len(page) < limit:
                break  # the range is complete
            last = page[-1][0]
            if last == cursor and not new:
                raise OpsInputError(
                    f"Loki at {base} has more than limit={limit} lines at one timestamp for "
                    f"{logql!r}; raise limit to read them all")
            if last != cursor:
                cursor, seen_at_cursor = last, set()
            seen_at_cursor |= {(r[1], r[2]) for r in page if r[0] == last}
    frame = _frame(rows, service_label)
    frame.attrs[ATTRS_KEY] = {"source": "loki", "server": base, "query": logql,
                              "start": iso(s), "end": iso(e), "spec": f"loki:{logql}"}
    return frame


def _entries(body: Any, base: str, logql: str) -> list[tuple[int, tuple, str]]:
    if not isinstance(body, dict) or body.get("status") != "success":
        msg = body.get("error") or body.get("message") if isinstance(body, dict) else None
        raise OpsInputError(f"Loki at {base} answered an error for {logql!r}: "
                            f"{msg or repr(body)[:120]}")
    data = body.get("data") or {}
    if data.get("resultType") != "streams":
        raise OpsInputError(
            f"Loki answered resultType {data.get('resultType')!r} for {logql!r}: that is a "
            f"metric query; give a log query such as {{app=\"checkout\"}} |= \"error\"")
    out = []
    for stream in data.get("result") or []:
        labels = tuple(sorted((str(k), str(v)) for k, v in (stream.get("stream") or {}).items()))
        for v in stream.get("values") or []:
            try:
                out.append((int(v[0]), labels, str(v[1])))
            except (TypeError, ValueError, IndexError):
                raise OpsInputError(f"Loki at {base} answered a log entry that is not "
                                    f"[\"<ns>\", \"<line>\"]: {repr(v)[:80]}") from None
    return out


def _frame(rows: list[tuple[int, tuple, str]], service_label: str | None) -> pd.DataFrame:
    from .canonical import load_logs

    rows.sort(key=lambda r: r[0])  # stable: streams keep their order at equal times
    ns = np.array([r[0] for r in rows], dtype="int64")
    label_dicts = [dict(r[1]) for r in rows]
    names = sorted({k for d in label_dicts for k in d})
    keys = [service_label] if service_label else []
    keys += ["service", "app", "job", "service_name"]

    def service(d: dict[str, str]) -> str:
        return next((d[k] for k in keys if d.get(k)), "")

    table: dict[str, Any] = {
        "timestamp": pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC"),
        "service": [service(d) for d in label_dicts],
        "message": [r[2] for r in rows],
    }
    levels = [d.get("level") or d.get("detected_level") or None for d in label_dicts]
    if not all(levels):  # no level label: the level word in the line, as for text logs
        from .textlog import detect_levels

        found = detect_levels(pd.Series(table["message"], dtype=object)).tolist()
        levels = [lv or f for lv, f in zip(levels, found, strict=True)]
    table["level"] = levels
    for name in names:
        if name in ("level", "detected_level"):
            continue
        col = f"label_{name}" if name in ("timestamp", "service", "message", "level") else name
        table[col] = [d.get(name, "") for d in label_dicts]
    if not rows:
        return _empty_logs()
    return load_logs(pd.DataFrame(table))


def _empty_logs() -> pd.DataFrame:
    from .canonical import load_logs

    one = load_logs(pd.DataFrame({"timestamp": ["2000-01-01T00:00:00Z"], "service": ["x"],
                                  "level": ["INFO"], "message": ["x"]}))
    return one.iloc[0:0].reset_index(drop=True)


def loki_push(url: str | None, streams: Mapping[Any, Iterable[tuple[Any, str]]],
              **client: Any) -> int:
    """Push log lines to Loki (``POST /loki/api/v1/push``, JSON body).

    Parameters
    ----------
    url : str or None
        Loki base URL; None reads ``JUPYTER_OPS_LOKI_URL``.
    streams : mapping
        ``{labels: [(time, line), ...]}`` where ``labels`` is a dict or a tuple of
        ``(name, value)`` pairs and ``time`` anything :func:`pandas.Timestamp` reads
        (naive = UTC) or integer nanoseconds.

    Returns
    -------
    int
        Lines pushed.
    """
    from .http import LiveClient

    payload = []
    n = 0
    for labels, entries in streams.items():
        lab = dict(labels) if not isinstance(labels, dict) else labels
        values = []
        for t, line in entries:
            if isinstance(t, (int, np.integer)):
                ns = int(t)
            else:
                ts = pd.Timestamp(t)
                ns = int((ts.tz_localize("UTC") if ts.tzinfo is None else ts).value)
            values.append([str(ns), str(line)])
        n += len(values)
        payload.append({"stream": {str(k): str(v) for k, v in lab.items()}, "values": values})
    with LiveClient("loki", url, **client) as cl:
        cl.request("POST", "/loki/api/v1/push", query="push", json={"streams": payload})
    return n
