"""Loaders for the canonical frames: alerts, logs, metrics and topology.

See ``docs/data-model.md`` for the columns, dtypes and rules. Every loader keeps the input's
row order and returns a default RangeIndex, so results computed on the frame align with the
input rows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from . import _common as c

__all__ = [
    "load_alerts",
    "load_logs",
    "load_metrics",
    "load_topology",
    "SEVERITIES",
    "SEVERITY_RANK",
    "SEVERITY_BY_RANK",
    "LOG_LEVELS",
    "severity_rank",
    "normalize_severity",
    "normalize_level",
    "label_fingerprint",
    "is_canonical",
    "to_utc",
]

to_utc = c.to_utc  # the one timestamp parser, public here (rules in its docstring)

#: canonical severities, most severe first: the one list of severities in the package
SEVERITIES: tuple[str, ...] = ("critical", "error", "warning", "info", "unknown")
#: rank of each severity, higher is more severe (unknown 0 ... critical 4)
SEVERITY_RANK: dict[str, int] = {s: len(SEVERITIES) - 1 - i for i, s in enumerate(SEVERITIES)}
#: severities indexed by rank (``SEVERITY_BY_RANK[SEVERITY_RANK[s]] == s``)
SEVERITY_BY_RANK: tuple[str, ...] = SEVERITIES[::-1]

#: canonical log levels, most severe first
LOG_LEVELS: tuple[str, ...] = ("fatal", "error", "warning", "info", "debug", "trace", "unknown")

# Alias -> canonical severity (lower-cased, stripped input). Numbers follow syslog (RFC 5424):
# 0-2 critical, 3 error, 4 warning, 5-7 info; "sevN"/"pN" follow incident-priority usage.
_SEVERITY_ALIASES: dict[str, str] = {}
for _canon, _names in {
    "critical": ("critical", "crit", "fatal", "emergency", "emerg", "alert", "panic", "disaster",
                 "blocker", "p0", "p1", "sev0", "sev1", "sev-0", "sev-1", "s0", "s1", "0", "1",
                 "2"),
    "error": ("error", "err", "high", "major", "severe", "failure", "p2", "sev2", "sev-2", "s2",
              "3"),
    "warning": ("warning", "warn", "medium", "moderate", "minor", "average", "p3", "sev3",
                "sev-3", "s3", "4"),
    "info": ("info", "information", "informational", "notice", "low", "ok", "debug", "trace",
             "verbose", "none", "p4", "p5", "sev4", "sev5", "sev-4", "sev-5", "s4", "s5", "5",
             "6", "7"),
}.items():
    for _n in _names:
        _SEVERITY_ALIASES[_n] = _canon

_LEVEL_ALIASES: dict[str, str] = {
    "fatal": "fatal", "critical": "fatal", "crit": "fatal", "emerg": "fatal",
    "emergency": "fatal", "alert": "fatal", "panic": "fatal", "severe": "error", "f": "fatal",
    "error": "error", "err": "error", "e": "error", "failure": "error",
    "warning": "warning", "warn": "warning", "w": "warning",
    "info": "info", "information": "info", "notice": "info", "i": "info",
    "debug": "debug", "d": "debug", "fine": "debug",
    "trace": "trace", "t": "trace", "finest": "trace", "finer": "trace", "verbose": "trace",
    "v": "trace",
}

def _codes(values: Any) -> tuple[pd.Series, np.ndarray, Any]:
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    try:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts from JSON): compare their text
        text = s.map(lambda v: v if isinstance(v, Hashable) else str(v))
        codes, uniques = pd.factorize(text, use_na_sentinel=True)
    return s, codes, uniques


def _map_unique(values: Any, fn: Any, choices: tuple[str, ...]) -> pd.Series:
    """``fn`` (value -> one of ``choices``) applied once per distinct value, as text."""
    s, codes, uniques = _codes(values)
    pos = {name: i for i, name in enumerate(choices)}
    table = np.array([pos[fn(v)] for v in uniques] + [pos[fn(None)]], dtype="intp")
    out = c.text_from_codes(table[codes], choices)
    out.index = s.index
    out.name = s.name
    return out


def _severity_of(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "unknown"
    if isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, bool):
        v = str(int(v)) if float(v).is_integer() else str(v)
    return _SEVERITY_ALIASES.get(str(v).strip().lower(), "unknown")


def normalize_severity(values: Any) -> pd.Series:
    """Map severity spellings to :data:`SEVERITIES` (unknown or missing -> ``"unknown"``).

    Parameters
    ----------
    values : array-like
        Severities as written by the source (``"CRIT"``, ``"P1"``, ``"warn"``, 3, NaN ...).

    Returns
    -------
    pandas.Series
        Canonical severities as text (see the table in ``docs/data-model.md``).
    """
    return _map_unique(values, _severity_of, SEVERITIES)


def severity_rank(values: Any) -> np.ndarray:
    """Integer rank of severities: critical 4, error 3, warning 2, info 1, unknown 0.

    Non-canonical spellings are normalised first, so higher always means more severe.
    """
    _, codes, uniques = _codes(values)
    table = np.array([SEVERITY_RANK[_severity_of(v)] for v in uniques] + [0], dtype="int64")
    return table[codes]


def _level_of(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "unknown"
    return _LEVEL_ALIASES.get(str(v).strip().strip("[]<>:").lower(), "unknown")


def normalize_level(values: Any) -> pd.Series:
    """Map log level spellings to :data:`LOG_LEVELS` (``WARN`` -> ``warning``, ``E`` -> ``error``)."""
    return _map_unique(values, _level_of, LOG_LEVELS)


# ---------------------------------------------------------------------------------------------
# fingerprints

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEP = b"\xff"


def label_fingerprint(labels: Mapping[str, Any]) -> str:
    """Alertmanager's label-set fingerprint: FNV-1a 64 over sorted ``name 0xff value 0xff``.

    Returns 16 lower-case hex digits, as in Alertmanager's ``fingerprint`` field.
    """
    h = _FNV_OFFSET
    for key in sorted(labels):
        for part in (str(key).encode(), _SEP, str(labels[key]).encode(), _SEP):
            for byte in part:
                h ^= byte
                h = (h * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


_EMPTY: frozenset = frozenset()


def _labels_codes(labels: pd.Series) -> tuple[np.ndarray, list[dict]]:
    """Codes of distinct label sets (order-insensitive) and one dict per code."""
    arr = labels.to_numpy()
    try:
        keys = [frozenset(d.items()) if d else _EMPTY for d in arr]
        codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
        return codes, [dict(u) for u in uniques]
    except TypeError:  # unhashable label values (lists ...): compare their JSON text
        text = [json.dumps(d, sort_keys=True, default=str) for d in arr]
        codes, uniques = pd.factorize(pd.Series(text, dtype=object))
        return codes, [json.loads(u) for u in uniques]


def _fingerprints(service: pd.Series, name: pd.Series, labels: pd.Series | None) -> pd.Series:
    """Vectorised fingerprints: rows are coded first, each distinct label set hashed once."""
    s_codes, s_uni = pd.factorize(service)
    n_codes, n_uni = pd.factorize(name)
    if labels is not None:
        l_codes, l_uni = _labels_codes(labels)
    else:
        l_codes, l_uni = np.zeros(len(service), dtype="intp"), [{}]
    nn, nl = max(len(n_uni), 1), max(len(l_uni), 1)
    combo = (s_codes.astype("int64") * nn + n_codes) * nl + l_codes
    codes, uniques = pd.factorize(combo)
    out = []
    for u in uniques:
        rest, li = divmod(int(u), nl)
        si, ni = divmod(rest, nn)
        lab = dict(l_uni[li])
        lab.setdefault("alertname", str(n_uni[ni]))
        lab.setdefault("service", str(s_uni[si]))
        out.append(label_fingerprint(lab))
    fp = c.text_from_codes(codes, out)
    fp.index = service.index
    return fp


def _label_dict(v: Any) -> dict | None:
    """A labels value as a dict (None if it is not one).

    Accepts dicts, JSON objects, Python-literal dicts (what ``DataFrame.to_csv`` writes for a
    dict column; parsed with ``ast.literal_eval``, never ``eval``) and lists of key/value pairs
    (Parquet map columns). Keys with missing values are dropped (Parquet struct columns fill
    absent keys with None).
    """
    if isinstance(v, dict):
        d = v
    elif isinstance(v, str):
        text = v.strip()
        try:
            d = json.loads(text)
        except json.JSONDecodeError:
            import ast

            try:
                d = ast.literal_eval(text) if text.startswith("{") else None
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                d = None
    elif isinstance(v, (list, tuple, np.ndarray)):
        try:
            d = {str(k): val for k, val in v}
        except (TypeError, ValueError):
            return None
    else:
        return None
    if not isinstance(d, dict):
        return None
    if any(val is None or (isinstance(val, float) and np.isnan(val)) for val in d.values()):
        d = {k: val for k, val in d.items()
             if not (val is None or (isinstance(val, float) and np.isnan(val)))}
    return d


def _parse_labels(values: pd.Series, what: str) -> pd.Series:
    """Labels as one dict per row (see :func:`_label_dict`); missing or "" -> {}."""
    arr = values.to_numpy()
    if all(type(v) is dict for v in arr) and not any(None in d.values() for d in arr):
        return pd.Series(arr, index=values.index, dtype=object)  # already canonical
    out: list[dict] = []
    parsed: dict[str, dict] = {}
    for i, v in enumerate(arr):
        if isinstance(v, dict) and not any(val is None for val in v.values()):
            out.append(v)
            continue
        if v is None or (isinstance(v, float) and np.isnan(v)) or (
            isinstance(v, str) and not v.strip()
        ):
            out.append({})
            continue
        if isinstance(v, str) and v in parsed:
            out.append(dict(parsed[v]))
            continue
        d = _label_dict(v)
        if d is None:
            shown = c.fmt_value(v) if isinstance(v, str) else f"a {type(v).__name__}"
            raise OpsInputError(
                f"column 'labels' of the {what} must hold dicts or JSON objects; "
                f"row {values.index[i]}: {shown}"
            )
        if isinstance(v, str):
            parsed[v] = d
            d = dict(d)
        out.append(d)
    return pd.Series(out, index=values.index, dtype=object)


# ---------------------------------------------------------------------------------------------
# the fast path: a frame that is already canonical

#: canonical columns in order, and what each must hold
_LAYOUT: dict[str, tuple[tuple[str, str], ...]] = {
    "alerts": (("timestamp", "ts"), ("service", "text"), ("name", "text"),
               ("severity", "severity"), ("message", "text"), ("host", "text"),
               ("labels", "labels"), ("fingerprint", "text")),
    "logs": (("timestamp", "ts"), ("service", "text"), ("level", "level"),
             ("message", "text")),
    "metrics": (("timestamp", "ts"), ("service", "text"), ("metric", "text"),
                ("value", "float")),
}
#: optional columns the loaders produce themselves, checked when present
_EXTRA_LAYOUT: dict[str, dict[str, str]] = {
    "alerts": {"acknowledged_at": "ts?", "resolved_at": "ts?", "ends_at": "ts?",
               "ended_at": "ts?", "status": "text", "generator_url": "text"},
    "logs": {},
    "metrics": {"series": "text", "instance": "text"},
}


def _holds(s: pd.Series, rule: str) -> bool:
    if rule in ("ts", "ts?"):
        return s.dtype == c.TS_DTYPE and (rule == "ts?" or not s.hasnans)
    if rule == "float":
        return s.dtype == np.float64
    if rule == "labels":
        if s.dtype != object:
            return False
        arr = s.to_numpy()
        # (a set of types is ~6x faster than all(isinstance) on a million rows)
        # (one flat walk over all values: ~25 % faster than a generator over the dicts)
        return (set(map(type, arr)) == {dict}
                and None not in itertools.chain.from_iterable(map(dict.values, arr)))
    if c.as_text(s) is not s:  # as_text returns a canonical text column itself
        return False
    if rule in ("severity", "level"):
        allowed = SEVERITIES if rule == "severity" else LOG_LEVELS
        return set(pd.unique(s)) <= set(allowed)
    return True


def is_canonical(frame: Any, kind: str) -> bool:
    """Whether ``frame`` is already what ``load_<kind>`` returns (so loading it is a no-op).

    Checks the column order and dtypes (``datetime64[ns, UTC]`` without missing times, text
    in pandas' default string dtype without missing values, ``float64`` values, dict labels),
    canonical severities/levels and unique column names; the index may be any (the loaders
    reset it). Cost: a few vectorised passes, no parsing.

    Parameters
    ----------
    frame : object
    kind : {"alerts", "logs", "metrics"}

    Returns
    -------
    bool
    """
    if kind not in _LAYOUT:
        raise OpsInputError(f"unknown canonical kind {kind!r}; use one of {', '.join(_LAYOUT)}")
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        return False
    layout = _LAYOUT[kind]
    cols = list(frame.columns)
    if len(cols) < len(layout) or frame.columns.has_duplicates:
        return False
    if any(col != name for col, (name, _) in zip(cols, layout, strict=False)):
        return False
    for name, rule in layout:
        if not _holds(frame[name], rule):
            return False
    extras = _EXTRA_LAYOUT[kind]
    return all(_holds(frame[col], extras[col]) for col in cols[len(layout):] if col in extras)


def _as_loaded(frame: pd.DataFrame) -> pd.DataFrame:
    """An already canonical frame as a loader returns it: a shallow copy on a RangeIndex.

    Shallow, so loading it again costs no copy of the data; adding or replacing columns in
    the result never changes the caller's frame (values are shared: treat them as read-only,
    as every core function does).
    """
    out = frame.copy(deep=False)
    if not (isinstance(out.index, pd.RangeIndex) and out.index.start == 0
            and out.index.step == 1):
        out.index = pd.RangeIndex(len(out))
    return out


# ---------------------------------------------------------------------------------------------
# loaders


def _frame_from(source: Any, what: str) -> pd.DataFrame:
    from .tables import read_table

    if isinstance(source, pd.DataFrame):
        frame = source.copy(deep=False)
        if isinstance(frame.index, pd.DatetimeIndex) and "timestamp" not in frame.columns:
            # a time-indexed frame (df.set_index("timestamp"), resample output): use the index
            ts_name = frame.index.name if frame.index.name not in frame.columns else None
            frame = frame.reset_index(names=ts_name or "timestamp")
        return frame.reset_index(drop=True)
    if c.is_path(source):
        return read_table(source)
    raise OpsInputError(
        f"{what}: expected a file path or a pandas DataFrame, got {type(source).__name__}"
    )


def _is_alertmanager(data: Any) -> bool:
    if isinstance(data, dict):
        return isinstance(data.get("alerts"), list) and (
            "version" in data or "groupKey" in data or "receiver" in data
            or all(isinstance(a, dict) and "labels" in a for a in data["alerts"])
        )
    return (
        isinstance(data, list)
        and len(data) > 0
        and all(isinstance(a, dict) for a in data)
        and all("labels" in a and ("startsAt" in a or "annotations" in a) for a in data)
    )


def load_alerts(source: Any, columns: Mapping[str, str] | str | None = None) -> pd.DataFrame:
    """Load alerts/events into the canonical alerts frame.

    Parameters
    ----------
    source : path, DataFrame, dict or list
        A table file (CSV, TSV, JSON, JSON Lines, Parquet), a DataFrame, an Alertmanager
        webhook payload or API v2 alert list (parsed JSON or a ``.json`` file).
    columns : dict or str, optional
        Renames your columns to canonical names before validation, e.g. ``{"ts": "timestamp"}``
        (or the text ``"ts=timestamp,svc=service"``). A DataFrame with a DatetimeIndex and no
        ``timestamp`` column uses its index.

    Returns
    -------
    pandas.DataFrame
        Columns ``timestamp`` (datetime64[ns, UTC]), ``service``, ``name``, ``severity`` (one of
        :data:`SEVERITIES`), ``message``, ``host``, ``labels`` (dict per row), ``fingerprint``,
        then any extra input columns; input row order, RangeIndex.

    Raises
    ------
    OpsInputError
        Missing required column (names the columns found), unparseable or missing timestamps
        (names the first rows), empty input.
    """
    what = "alerts"
    if not columns and is_canonical(source, "alerts"):
        return _as_loaded(source)
    frame: pd.DataFrame
    if isinstance(source, (dict, list)):
        if _is_alertmanager(source):
            from .alertmanager import from_alertmanager

            frame = from_alertmanager(source)
        else:
            from .tables import records_frame

            frame = records_frame(source, "the alerts JSON")
    elif c.is_path(source) and str(source).lower().endswith((".json", ".json.gz")):
        from .tables import read_json_file, records_frame

        data = read_json_file(source)
        if _is_alertmanager(data):
            from .alertmanager import from_alertmanager

            frame = from_alertmanager(data)
        else:
            frame = records_frame(data, c.source_name(source))
    else:
        frame = _frame_from(source, what)
    frame = c.apply_columns(frame, columns, what)
    c.check_not_empty(frame, what)
    frame = c.require_columns(frame, ("timestamp", "service", "name"), what)
    n = len(frame)
    out: dict[str, Any] = {}
    out["timestamp"] = c.to_utc(frame["timestamp"], "timestamp", what)
    out["service"] = c.as_text(frame["service"])
    out["name"] = c.as_text(frame["name"])
    if "severity" in frame.columns:
        out["severity"] = normalize_severity(frame["severity"])
    else:
        out["severity"] = c.constant_text("unknown", n)
    for col in ("message", "host"):
        if col in frame.columns:
            out[col] = c.as_text(frame[col])
        else:
            out[col] = c.constant_text("", n)
    labels = _parse_labels(frame["labels"], what) if "labels" in frame.columns else None
    out["labels"] = (
        labels if labels is not None else pd.Series([{} for _ in range(n)], dtype=object)
    )
    if "fingerprint" in frame.columns and frame["fingerprint"].notna().all():
        out["fingerprint"] = c.as_text(frame["fingerprint"])
    else:
        fp = _fingerprints(out["service"], out["name"], labels)
        if "fingerprint" in frame.columns:
            given = frame["fingerprint"]
            fp = c.as_text(given.astype(object).where(given.notna(), fp))
        out["fingerprint"] = fp
    result = _with_extras(out, frame)
    _parse_time_extras(result, ("acknowledged_at", "resolved_at", "ends_at", "ended_at"), what)
    _text_extras(result, ("status", "generator_url"))
    return result


def _with_extras(canonical: dict[str, pd.Series], frame: pd.DataFrame) -> pd.DataFrame:
    """The canonical columns, then the input's other columns unchanged, on a RangeIndex."""
    cols: dict[Any, Any] = {k: v.array for k, v in canonical.items()}
    for col in frame.columns:
        if col not in cols:
            cols[col] = frame[col].array.copy()  # never share memory with the caller's frame
    return pd.DataFrame(cols, index=pd.RangeIndex(len(frame)))


def _text_extras(frame: pd.DataFrame, names: tuple[str, ...]) -> None:
    """Optional text columns the loaders themselves produce stay text after a CSV round trip."""
    for col in names:
        if col in frame.columns:
            frame[col] = c.as_text(frame[col])


def _parse_time_extras(frame: pd.DataFrame, names: tuple[str, ...], what: str) -> None:
    for col in names:
        if col in frame.columns:
            frame[col] = c.to_utc(frame[col], col, what, allow_missing=True)


def load_logs(
    source: Any,
    columns: Mapping[str, str] | str | None = None,
    service: str | None = None,
    *,
    year: int | None = None,
    tz: str | None = None,
    format: str | None = None,
) -> pd.DataFrame:
    """Load log records into the canonical logs frame.

    Parameters
    ----------
    source : path, DataFrame or list of str
        A table file/DataFrame with ``timestamp`` and ``message`` columns (``level`` and
        ``service`` optional), a plain text log file (``.log``, ``.txt``, any other suffix,
        ``.gz`` allowed) or a list of log lines.
    columns : dict or str, optional
        Renames table columns before validation, e.g. ``{"Content": "message"}``.
    service : str, optional
        Service name for every row (default: the table's ``service`` column, else the file stem).
    year, tz, format
        Text logs only, see :func:`jupyter_ops.io.parse_log_lines`.

    Returns
    -------
    pandas.DataFrame
        ``timestamp`` (datetime64[ns, UTC]), ``service``, ``level`` (one of :data:`LOG_LEVELS`),
        ``message``, then extra columns (text logs: ``line`` number, ``continuation`` flag).
    """
    from .tables import table_format

    what = "logs"
    if not columns and service is None and is_canonical(source, "logs"):
        return _as_loaded(source)
    if isinstance(source, (list, tuple)) and all(isinstance(x, str) for x in source):
        from .textlog import parse_log_lines

        return parse_log_lines(source, service=service or "", year=year, tz=tz, format=format)
    if c.is_path(source) and table_format(source) is None:
        from .textlog import read_log_file

        return read_log_file(source, service=service, year=year, tz=tz, format=format)
    frame = _frame_from(source, what)
    frame = c.apply_columns(frame, columns, what)
    c.check_not_empty(frame, what)
    frame = c.require_columns(frame, ("timestamp", "message"), what)
    n = len(frame)
    out: dict[str, Any] = {"timestamp": c.to_utc(frame["timestamp"], "timestamp", what)}
    if service is not None:
        out["service"] = c.constant_text(service, n)
    elif "service" in frame.columns:
        out["service"] = c.as_text(frame["service"])
    else:
        default = c.path_stem(source) if c.is_path(source) else ""
        out["service"] = c.constant_text(default, n)
    if "level" in frame.columns:
        out["level"] = normalize_level(frame["level"])
    else:
        from .textlog import detect_levels

        out["level"] = detect_levels(c.as_text(frame["message"]))
    out["message"] = c.as_text(frame["message"])
    return _with_extras(out, frame)


def load_metrics(
    source: Any,
    columns: Mapping[str, str] | str | None = None,
    *,
    wide: bool | None = None,
    service: str | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """Load metric samples into the canonical long-form metrics frame.

    Parameters
    ----------
    source : path, DataFrame, dict
        A table (long: ``timestamp``, ``metric``, ``value``, optional ``service``; or wide: a
        ``timestamp`` column and one numeric column per metric), or a Prometheus HTTP API
        response (``query``/``query_range``; parsed JSON or a ``.json`` file).
    columns : dict or str, optional
        Renames your columns before validation.
    wide : bool, optional
        Force wide (True) or long (False) input. Default: long when ``metric`` and ``value``
        columns exist, else wide.
    service : str, optional
        Service for rows without one (default: the ``service`` column, else the file stem, else "").
    metric : str, optional
        Metric name for long input without a ``metric`` column, or for Prometheus series
        (instead of ``__name__``).

    Returns
    -------
    pandas.DataFrame
        ``timestamp`` (datetime64[ns, UTC]), ``service``, ``metric``, ``value`` (float64), then
        extra columns (Prometheus: ``series``, the series' label set as text).
    """
    what = "metrics"
    if not columns and not wide and is_canonical(source, "metrics"):
        return _as_loaded(source)
    data: Any = None
    if isinstance(source, (dict, list)):
        data = source
    elif c.is_path(source) and str(source).lower().endswith((".json", ".json.gz")):
        from .tables import read_json_file

        data = read_json_file(source)
    if data is not None:
        from .prometheus import from_prometheus, is_prometheus

        if is_prometheus(data):
            return from_prometheus(data, metric=metric, service=service)
        from .tables import records_frame

        frame = records_frame(data, "the metrics JSON")
    else:
        frame = _frame_from(source, what)
    frame = c.apply_columns(frame, columns, what)
    c.check_not_empty(frame, what)
    frame = c.require_columns(frame, ("timestamp",), what)
    # a metric column means long form (then value is required); else wide unless value +
    # metric= describe one long series
    has_long = "metric" in frame.columns or ("value" in frame.columns and metric is not None)
    if wide is None:
        wide = not has_long
    default_service = service if service is not None else (
        c.path_stem(source) if c.is_path(source) else ""
    )
    if wide:
        ids = [col for col in ("timestamp", "service") if col in frame.columns]
        frame = _numeric_text_columns(frame, ids)
        values = [
            col for col in frame.columns
            if col not in ids and (pd.api.types.is_numeric_dtype(frame[col].dtype)
                                   and not pd.api.types.is_bool_dtype(frame[col].dtype))
        ]
        if not values:
            raise OpsInputError(
                f"metrics have no numeric value columns; columns found: "
                f"{c.fmt_columns(frame.columns)}. Give long form (timestamp, metric, value) or "
                f"numeric columns, one per metric"
            )
        ts = c.to_utc(frame["timestamp"], "timestamp", what)
        frame = frame.assign(timestamp=ts)
        # a temporary value name: a wide column may itself be called "value" (NAB's
        # timestamp,value files), which melt refuses as value_name
        long = frame.melt(id_vars=ids, value_vars=values, var_name="metric",
                          value_name="__jops_value__").rename(columns={"__jops_value__": "value"})
        if metric is not None and len(values) == 1:
            long["metric"] = metric
        frame = long
    else:
        frame = c.require_columns(frame, ("value",), what)
        if "metric" not in frame.columns:
            if metric is None:
                frame = c.require_columns(frame, ("metric",), what)
            frame = frame.assign(metric=metric)
    n = len(frame)
    out: dict[str, Any] = {"timestamp": c.to_utc(frame["timestamp"], "timestamp", what)}
    if "service" in frame.columns:
        out["service"] = c.as_text(frame["service"], fill=default_service)
    else:
        out["service"] = c.constant_text(default_service, n)
    out["metric"] = c.as_text(frame["metric"].astype(object).map(str, na_action="ignore"))
    out["value"] = c.as_float(frame["value"], "value", what)
    result = _with_extras(out, frame)
    _text_extras(result, ("series", "instance"))
    return result


def _numeric_text_columns(frame: pd.DataFrame, skip: list[str]) -> pd.DataFrame:
    """Text columns whose every present value is a number (quoted numbers, "NaN", "+Inf") as
    float64, so a wide table read from text melts them too; other text columns stay."""
    conv = {}
    for col in frame.columns:
        s = frame[col]
        if col in skip or not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        try:
            num = c.as_float(s, str(col), "metrics")
        except OpsInputError:
            continue
        if num.notna().any():  # an all-empty column is no metric
            conv[col] = num
    if not conv:
        return frame
    frame = frame.copy(deep=False)
    for col, num in conv.items():
        frame[col] = num
    return frame


def load_topology(source: Any, columns: Mapping[str, str] | str | None = None) -> pd.DataFrame:
    """Load a service call graph into the canonical topology frame.

    Parameters
    ----------
    source : path, DataFrame, dict or list
        A table with ``caller`` and ``callee`` columns, a JSON edge list (``[{"caller": ..,
        "callee": ..}]`` or ``[["a", "b"], ...]``) or an adjacency dict ``{"a": ["b", "c"]}``
        (as parsed JSON or a ``.json`` file).
    columns : dict or str, optional
        Renames your columns before validation, e.g. ``{"source": "caller", "target": "callee"}``.

    Returns
    -------
    pandas.DataFrame
        ``caller``, ``callee`` as text (duplicates removed, first kept; self-loops kept), then
        extra columns; input order, RangeIndex.
    """
    what = "topology"
    data: Any = None
    if isinstance(source, (dict, list)):
        data = source
    elif c.is_path(source) and str(source).lower().endswith((".json", ".json.gz")):
        from .tables import read_json_file

        data = read_json_file(source)
    if data is not None:
        frame = _topology_json(data)
    else:
        frame = _frame_from(source, what)
    frame = c.apply_columns(frame, columns, what)
    c.check_not_empty(frame, what)
    frame = c.require_columns(frame, ("caller", "callee"), what)
    for col in ("caller", "callee"):
        blank = ~c._present_mask(frame[col])
        if blank.any():
            rows = ", ".join(str(frame.index[i]) for i in np.flatnonzero(blank)[:3])
            raise OpsInputError(
                f"{int(blank.sum())} topology edges have an empty {col!r}, e.g. rows {rows}"
            )
    out = _with_extras({"caller": c.as_text(frame["caller"]),
                        "callee": c.as_text(frame["callee"])}, frame)
    keep = ~out.duplicated(["caller", "callee"]).to_numpy()
    return out[keep].reset_index(drop=True)


def _topology_json(data: Any) -> pd.DataFrame:
    from .tables import records_frame

    if isinstance(data, dict) and data and all(
        isinstance(v, (list, tuple, str)) or v is None for v in data.values()
    ) and not ({"caller", "callee"} <= set(data)):
        edges = []
        for caller, callees in data.items():
            if isinstance(callees, str):
                callees = [callees]
            for callee in callees or []:
                edges.append((str(caller), str(callee)))
        return pd.DataFrame(edges, columns=["caller", "callee"])
    if isinstance(data, list) and data and all(isinstance(e, (list, tuple)) for e in data):
        bad = [i for i, e in enumerate(data) if len(e) != 2]
        if bad:
            raise OpsInputError(
                f"topology edge list rows must be [caller, callee] pairs; row {bad[0]} has "
                f"{len(data[bad[0]])} items"
            )
        return pd.DataFrame([list(e) for e in data], columns=["caller", "callee"])
    return records_frame(data, "the topology JSON")
