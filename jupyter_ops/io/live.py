"""Live sources as inputs of the front ends: ``prometheus:<promql>``, ``alertmanager:``,
``loki:<logql>`` specs, time ranges (``--since 6h``) and the provenance of a fetch.

:func:`resolve_source` is the hook the magics and the CLI call for an input name: it returns
None for anything that is not a live spec, so existing variables and files resolve as before.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import pandas as pd

from ..errors import OpsInputError

__all__ = ["resolve_source", "is_live_spec", "time_range", "parse_duration", "LIVE_PREFIXES",
           "split_live_options", "materialize_argv", "exact_call"]

#: spec prefixes understood by :func:`resolve_source`
LIVE_PREFIXES = ("prometheus:", "alertmanager:", "loki:")

#: key of ``DataFrame.attrs`` holding where a live frame came from
ATTRS_KEY = "jupyter_ops_source"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", re.I)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def is_live_spec(text: Any) -> bool:
    """True for text starting with ``prometheus:``, ``alertmanager:`` or ``loki:``."""
    return isinstance(text, str) and text.strip().lower().startswith(LIVE_PREFIXES)


def parse_duration(text: str | float | int | _dt.timedelta, what: str = "duration") -> float:
    """``"6h"``, ``"30m"``, ``"15s"``, ``"7d"``, ``"1.5h"`` or a number of seconds -> seconds."""
    if isinstance(text, _dt.timedelta):
        seconds = text.total_seconds()
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m:
            try:
                seconds = float(str(text))
            except ValueError:
                raise OpsInputError(
                    f"{what} {text!r} is not a duration; use e.g. 15s, 30m, 6h, 7d") from None
        else:
            seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not seconds > 0:
        raise OpsInputError(f"{what} must be positive, got {text!r}")
    return seconds


def _is_duration(value: Any) -> bool:
    if isinstance(value, (int, float, _dt.timedelta)) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and _DURATION.match(value) is not None


def to_timestamp(value: Any, what: str = "time") -> pd.Timestamp:
    """A time as a UTC timestamp: datetime, ISO text, epoch seconds, ``"now"``."""
    if isinstance(value, str) and value.strip().lower() == "now":
        return pd.Timestamp.now(tz="UTC")
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ts = pd.Timestamp(float(value), unit="s", tz="UTC")
        else:
            ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise OpsInputError(
            f"{what} {value!r} is not a time; use ISO 8601 (2024-05-01T12:00:00Z), epoch "
            f"seconds or 'now'") from None
    if ts is pd.NaT or pd.isna(ts):
        raise OpsInputError(f"{what} is missing")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def time_range(start: Any = None, end: Any = None, since: Any = None,
               default_since: str = "1h") -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` as UTC timestamps, whole milliseconds.

    ``end`` defaults to now; ``start`` to ``end - since`` (``since`` defaults to
    ``default_since``). Giving both ``start`` and ``since`` is an error.
    """
    if start is not None and since is not None:
        raise OpsInputError("give either start= or since=, not both")
    e = to_timestamp("now" if end is None else end, "end")
    if start is None and since is not None and not _is_duration(since):
        start = since  # --since 2024-05-01T10:00 (a time) as well as --since 6h
    s = (to_timestamp(start, "start") if start is not None
         else e - pd.Timedelta(seconds=parse_duration(since or default_since, "since")))
    s, e = s.floor("ms"), e.floor("ms")
    if not s < e:
        raise OpsInputError(f"start {s.isoformat()} must be before end {e.isoformat()}")
    return s, e


def iso(ts: pd.Timestamp) -> str:
    """RFC 3339 text with milliseconds, as the servers take it and provenance records it."""
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def provenance(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Where a live frame came from (server without userinfo, query, exact range), or None."""
    info = frame.attrs.get(ATTRS_KEY) if isinstance(frame, pd.DataFrame) else None
    return dict(info) if isinstance(info, dict) else None


def resolve_source(spec: Any, since: Any = None, until: Any = None, *, start: Any = None,
                   step: Any = None, kind: str | None = None,
                   service_label: str | None = None, **client: Any) -> pd.DataFrame | None:
    """Fetch a live spec as a canonical frame, or return None when ``spec`` is not one.

    Parameters
    ----------
    spec : str
        ``prometheus:<promql>`` (metrics over the range), ``alertmanager:`` (firing alerts; an
        optional matcher list after the colon, e.g. ``alertmanager:severity="critical"``) or
        ``loki:<logql>`` (log lines over the range). Server URLs come from
        :func:`jupyter_ops.io.http.server_url` (environment or configuration).
    since, until : str or time, optional
        Range: ``until`` (default now) minus ``since`` (default 1h), e.g. ``since="6h"``.
    start : time, optional
        Exact range start instead of ``since`` (re-runs of a recorded fetch).
    step : str, optional
        Prometheus resolution (default: range / 720, at least 1 s).
    kind : str, optional
        Expected input kind (``metrics``, ``alerts``, ``logs``): a spec of another kind is an
        error naming the one expected.
    service_label : str, optional
        Label that names the service (default: ``service``, then ``job``, then ``app``).
    **client
        Passed to :class:`jupyter_ops.io.http.LiveClient` (token, timeout, ...).

    Returns
    -------
    pandas.DataFrame or None
        The canonical frame with ``attrs["jupyter_ops_source"]`` = provenance (source,
        server, query, start, end, step).
    """
    if not is_live_spec(spec):
        return None
    text = spec.strip()
    prefix, _, query = text.partition(":")
    prefix = prefix.lower()
    query = query.strip()
    expected = {"prometheus": "metrics", "alertmanager": "alerts", "loki": "logs"}[prefix]
    if kind is not None and kind != expected:
        raise OpsInputError(
            f"{prefix}: gives {expected}, but this input takes {kind}; use "
            + {"metrics": "prometheus:<promql>", "alerts": "alertmanager:",
               "logs": "loki:<logql>"}.get(kind, f"a {kind} file or frame"))
    if prefix == "alertmanager":
        from .alertmanager import fetch_alerts

        matchers = [m.strip() for m in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", query)
                    if m.strip()] if query else None
        return fetch_alerts(client.pop("url", None), filter=matchers, **client)
    if not query:
        raise OpsInputError(f"{prefix}: needs a query after the colon, e.g. "
                            + ("prometheus:up" if prefix == "prometheus" else
                               'loki:{app="checkout"}'))
    s, e = time_range(start=start, end=until, since=since)
    if prefix == "prometheus":
        from .prometheus import prometheus_query_range

        return prometheus_query_range(client.pop("url", None), query, s, e, step,
                                      service_label=service_label, **client)
    from .loki import loki_query_range

    return loki_query_range(client.pop("url", None), query, s, e, service_label=service_label,
                            **client)


#: options a live spec takes on a magic line or command line (value follows)
LIVE_OPTIONS = ("--since", "--until", "--step", "--service-label")
_remembered: dict[str, str] = {}


def _tokens(line: str) -> list[str]:
    import shlex

    lex = shlex.shlex(line, posix=False)
    lex.whitespace_split = True
    lex.commenters = ""
    return list(lex)


def _pull_options(tokens: list[str]) -> tuple[list[str], dict[str, str]]:
    rest: list[str] = []
    opts: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        name, eq, value = tok.partition("=")
        if name in LIVE_OPTIONS:
            if not eq:
                if i + 1 >= len(tokens):
                    raise OpsInputError(f"{name} needs a value, e.g. {name} 6h")
                value = tokens[i + 1]
                i += 1
            opts[name[2:].replace("-", "_")] = value.strip("'\"")
        else:
            rest.append(tok)
        i += 1
    return rest, opts


def split_live_options(line: str) -> str:
    """For a magic line naming a live spec: remove ``--since/--until/--step/--service-label``
    (kept for :func:`resolve_source`, see :func:`live_options`) and return the rest.

    Lines without a live spec are returned unchanged (and the remembered options cleared), so
    a magic's own ``--since`` keeps its meaning for files and frames.
    """
    global _remembered
    _remembered = {}
    if not any(p in line.lower() for p in LIVE_PREFIXES):
        return line
    try:
        tokens = _tokens(line)
    except ValueError:
        return line
    if not any(is_live_spec(t.strip("'\"")) for t in tokens):
        return line
    rest, _remembered = _pull_options(tokens)
    return " ".join(rest)


def live_options() -> dict[str, str]:
    """Options removed by the last :func:`split_live_options` (``since``, ``until``, ...)."""
    return dict(_remembered)


def resolve_remembered(name: str, kind: str | None = None) -> pd.DataFrame | None:
    """:func:`resolve_source` with the options of the last parsed line (the magics' hook)."""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        name = name[1:-1]
    if not is_live_spec(name):
        return None
    if "start" not in _remembered:
        # one exact range per line, fixed at the first fetch: every spec of the line reads the
        # same window, and the recorded call (exact_call) replays it
        s, e = time_range(end=_remembered.get("until"), since=_remembered.get("since"))
        _remembered["start"], _remembered["end"] = iso(s), iso(e)
    opts = live_options()
    return resolve_source(name, start=opts["start"], until=opts["end"],
                          step=opts.get("step"), service_label=opts.get("service_label"),
                          kind=kind)


def exact_call(call: str) -> str:
    """The magic line as recorded for the report: relative live options (``--since 6h``)
    replaced by the exact range fetched (``--since <start> --until <end>``), so re-running
    the recorded line reads the same data. Lines without a live fetch are unchanged."""
    if "start" not in _remembered:
        return call
    try:
        tokens = _tokens(call)
    except ValueError:
        return call
    rest, _ = _pull_options(tokens)
    extra = ["--since", _remembered["start"], "--until", _remembered["end"]]
    for key in ("step", "service_label"):
        if key in _remembered:
            extra += ["--" + key.replace("_", "-"), _remembered[key]]
    return " ".join(rest + extra)


def materialize_argv(argv: list[str], folder: str) -> list[str]:
    """Command-line hook: fetch each live spec of ``argv`` into a file in ``folder`` and put
    that file's path in its place (``--since/--until/--step/--service-label`` are consumed).

    Metrics and logs are written as Parquet, alerts as JSON Lines (labels stay objects);
    each file gets a ``<file>.source.json`` with the fetch's provenance. ``argv`` without a
    live spec is returned unchanged.
    """
    import json
    import os

    if not any(is_live_spec(a) for a in argv):
        return list(argv)
    rest, opts = _pull_options(list(argv))
    out = []
    for n, arg in enumerate(rest):
        if not is_live_spec(arg):
            out.append(arg)
            continue
        frame = resolve_source(arg, since=opts.get("since"), until=opts.get("until"),
                               step=opts.get("step"), service_label=opts.get("service_label"))
        assert frame is not None
        kind = arg.split(":", 1)[0].lower()
        if kind == "alertmanager":
            path = os.path.join(folder, f"live{n}-alerts.jsonl")
            frame.to_json(path, orient="records", lines=True, date_format="iso")
        else:
            path = os.path.join(folder, f"live{n}-{kind}.parquet")
            frame.to_parquet(path, index=False)
        with open(path + ".source.json", "w", encoding="utf-8") as f:
            json.dump(provenance(frame), f, indent=1)
        out.append(path)
    return out
