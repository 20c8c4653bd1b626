"""Shared helpers of the loaders: timestamp parsing, text columns, column checks, messages.

Private module (leading underscore): the lazy ``jupyter_ops.io`` namespace does not scan it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError

#: dtype of every canonical timestamp column
TS_DTYPE = "datetime64[ns, UTC]"

# Common spellings of the canonical columns, used only to suggest a ``columns=`` mapping in
# error messages (never renamed silently, except for a case-insensitive exact name match).
ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("ts", "time", "datetime", "date", "@timestamp", "timestamp_utc", "event_time",
                  "created_at", "startsat", "starts_at", "start", "t"),
    "service": ("svc", "app", "application", "job", "component", "source", "system",
                "service_name", "servicename"),
    "name": ("alertname", "alert", "alert_name", "event", "title", "check", "rule", "type"),
    "severity": ("sev", "priority", "level", "urgency"),
    "message": ("msg", "text", "summary", "description", "content", "body", "log", "line"),
    "level": ("lvl", "severity", "loglevel", "log_level"),
    "metric": ("metric_name", "name", "series", "__name__", "kpi"),
    "value": ("val", "y", "v", "reading", "count"),
    "caller": ("source", "src", "from", "parent", "client", "upstream"),
    "callee": ("target", "dst", "dest", "to", "child", "server", "downstream"),
}

_EPOCH_STR = re.compile(r"^\s*[+-]?\d{9,19}(?:\.\d+)?\s*$")
# numeric dates with the year last: 05/01/2024, 5.1.24, 05-01-2024 (day or month first)
_DMY = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?!\d)")


def default_str_dtype() -> Any:
    """The dtype pandas gives a list of Python strings: ``object`` (pandas 2) or ``str`` (3)."""
    return pd.Series(["x"]).dtype


def is_path(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike))


def source_name(source: Any) -> str:
    """A short name of a source for messages and default service names."""
    if is_path(source):
        return Path(source).name
    return type(source).__name__


def path_stem(source: Any) -> str:
    """File name without (compression and format) suffixes: ``logs/HDFS_2k.log.gz`` -> ``HDFS_2k``."""
    name = Path(source).name
    for suffix in (".gz", ".bz2", ".xz", ".zst", ".zip"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def fmt_value(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fmt_columns(columns: Iterable[Any], limit: int = 30) -> str:
    cols = [str(c) for c in columns]
    if not cols:
        return "(none)"
    more = f", ... ({len(cols)} in all)" if len(cols) > limit else ""
    return ", ".join(cols[:limit]) + more


def check_not_empty(frame: pd.DataFrame, what: str) -> None:
    if len(frame) == 0:
        raise OpsInputError(
            f"the {what} input is empty (0 rows); columns found: {fmt_columns(frame.columns)}"
        )


def parse_columns(columns: Mapping[str, str] | str | None) -> Mapping[str, str] | None:
    """``"ts=timestamp,svc=service"`` (as typed in a magic or on the command line) -> dict."""
    if not isinstance(columns, str):
        return columns
    out: dict[str, str] = {}
    for part in columns.split(","):
        if not part.strip():
            continue
        src, eq, dst = part.partition("=")
        if not eq or not src.strip() or not dst.strip():
            raise OpsInputError(
                f"columns= text must look like 'ts=timestamp,svc=service'; got {columns!r}"
            )
        out[src.strip()] = dst.strip()
    return out


def apply_columns(frame: pd.DataFrame, columns: Mapping[str, str] | str | None,
                  what: str) -> pd.DataFrame:
    """Rename with the user's ``columns=`` mapping; unknown source names are an error.

    ``columns`` is a dict ``{"yours": "canonical"}`` or the text ``"yours=canonical,..."``.
    """
    columns = parse_columns(columns)
    if not columns:
        return frame
    if not isinstance(columns, Mapping):
        raise OpsInputError(
            f"columns= must be a mapping from your column names to canonical names, "
            f"e.g. columns={{'ts': 'timestamp'}}; got {type(columns).__name__}"
        )
    missing = [k for k in columns if k not in frame.columns]
    if missing:
        raise OpsInputError(
            f"columns= maps {', '.join(repr(m) for m in missing)} but the {what} have no such "
            f"column; columns found: {fmt_columns(frame.columns)}"
        )
    renamed = frame.rename(columns=dict(columns))
    dup = sorted({str(col) for col in renamed.columns[renamed.columns.duplicated()]})
    if dup:
        raise OpsInputError(
            f"after columns= the {what} have more than one column named "
            f"{', '.join(repr(d) for d in dup)}; columns found: {fmt_columns(frame.columns)}. "
            f"Map only one column to each name (or drop the other first)"
        )
    return renamed


def _suggest(required: str, found: list[str]) -> str | None:
    lowered = {str(c).lower().strip(): str(c) for c in found}
    for alias in ALIASES.get(required, ()):
        if alias in lowered:
            return lowered[alias]
    close = difflib.get_close_matches(required, list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def require_columns(frame: pd.DataFrame, required: Iterable[str], what: str) -> pd.DataFrame:
    """Check the required columns; a case-insensitive exact match is renamed, else an error.

    The error names the missing column, the columns found and a ``columns=`` mapping to try.
    """
    found = [str(c) for c in frame.columns]
    dup = sorted({str(col) for col in frame.columns[frame.columns.duplicated()]})
    if dup:
        raise OpsInputError(
            f"the {what} have duplicate column names: {', '.join(repr(d) for d in dup)}; "
            f"rename or drop them"
        )
    renames: dict[Any, str] = {}
    for col in required:
        if col in frame.columns:
            continue
        matches = [c for c in frame.columns if str(c).strip().lower() == col]
        if len(matches) == 1 and matches[0] not in renames:
            renames[matches[0]] = col
            continue
        guess = _suggest(col, found)
        hint = (
            f"Map yours with columns={{{guess!r}: {col!r}}}"
            if guess
            else f"Map yours with columns={{'<your column>': {col!r}}}"
        )
        raise OpsInputError(
            f"{what} are missing column {col!r}; columns found: {fmt_columns(found)}. {hint}"
        )
    return frame.rename(columns=renames) if renames else frame


def _rows(index: pd.Index, mask: np.ndarray, values: pd.Series | None, n: int = 3) -> str:
    pos = np.flatnonzero(mask)[:n]
    if values is None:
        return ", ".join(str(index[p]) for p in pos)
    return ", ".join(f"row {index[p]}: {fmt_value(values.iloc[p])}" for p in pos)


def _epoch_to_utc(num: pd.Series) -> pd.Series:
    """Numbers as epoch seconds/ms/us/ns, the unit chosen by the median magnitude."""
    vals = pd.to_numeric(num, errors="coerce").astype("float64")
    finite = vals[np.isfinite(vals)]
    mag = float(np.median(np.abs(finite))) if len(finite) else 0.0
    if mag < 1e11:
        unit, scale = "s", 1e9
    elif mag < 1e14:
        unit, scale = "ms", 1e6
    elif mag < 1e17:
        unit, scale = "us", 1e3
    else:
        unit, scale = "ns", 1.0
    if pd.api.types.is_integer_dtype(num.dtype):
        out = pd.to_datetime(num, unit=unit, utc=True, errors="coerce")
    else:
        # float64 holds epoch seconds to ~0.2 us: round to whole microseconds, not to noise
        us = np.round(vals.to_numpy() * (scale / 1000.0))
        bad = ~np.isfinite(us) | (np.abs(us) > 9.2e15)
        us[bad] = 0
        ns = us.astype("int64") * 1000
        out = pd.Series(ns.view("datetime64[ns]"), index=num.index)
        out = out.where(~bad).dt.tz_localize("UTC")
    return out


def to_utc(values: pd.Series, column: str = "timestamp", what: str = "input",
           allow_missing: bool = False) -> pd.Series:
    """Parse a column to ``datetime64[ns, UTC]``: the one timestamp parser of the package.

    Rules (the same for every loader, every core function and every front end):

    * **Time zones.** A value with an offset or zone (``Z``, ``+02:00``, a tz-aware
      ``Timestamp``/column) is converted to UTC. A value without one is read as UTC. A column
      may mix both: each value follows its own rule (naive values are *not* shifted).
    * **Numbers** (and text made only of 9 to 19 digits) are Unix epoch times; the unit is
      chosen once per column by the median magnitude: below 1e11 seconds, below 1e14
      milliseconds, below 1e17 microseconds, else nanoseconds. Fractions are kept to the
      microsecond.
    * **Text** is ISO 8601 first (any precision, ``T`` or space, with or without offset).
      Other formats are recognised from the column's first value (``05/01/2024 00:00``,
      ``May 1 2024 10:00``, ``01.05.2024``...) and applied to the whole column; values that
      still fail are parsed one by one. Numeric dates with the year last are read month first
      after ``/`` or ``-`` (``05/01/2024`` is 1 May) and day first after ``.``
      (``01.05.2024`` is 1 May), unless a value proves the other order (a first field above
      12 means day first, for the whole column); a column with proof of both is an error.
    * Missing values (NaN, None, NaT, blank text) raise unless ``allow_missing`` (then NaT).
      Unparseable values and times outside 1677-09-22 .. 2262-04-10 raise.

    Parameters
    ----------
    values : pandas.Series
        The column as read.
    column, what : str
        Named in error messages (``column 'timestamp' of the alerts``).
    allow_missing : bool
        Keep missing values as NaT instead of raising.

    Returns
    -------
    pandas.Series
        ``datetime64[ns, UTC]``, same index as ``values``.

    Raises
    ------
    OpsInputError
        Naming the count and the first rows of unparseable or missing values.
    """
    s = values
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        out = s.dt.tz_localize("UTC")
    elif pd.api.types.is_bool_dtype(dtype):
        raise OpsInputError(
            f"column {column!r} of the {what} holds booleans, not timestamps; "
            f"map the time column with columns={{'<your column>': {column!r}}}"
        )
    elif pd.api.types.is_numeric_dtype(dtype):
        out = _epoch_to_utc(s)
    else:
        out = _parse_strings(s, column, what)
    out = _to_ns(out)
    missing = out.isna().to_numpy()
    bad = missing & _present_mask(s) if missing.any() else missing
    if bad.any():
        raise OpsInputError(
            f"cannot parse {int(bad.sum())} timestamps in column {column!r} of the {what}, e.g. "
            f"{_rows(s.index, bad, s)}; use ISO 8601 (2024-05-01T12:00:00Z), epoch seconds/ms "
            f"or datetime values between 1677-09-22 and 2262-04-10"
        )
    if missing.any() and not allow_missing:
        raise OpsInputError(
            f"{int(missing.sum())} timestamps are missing in column {column!r} of the {what}, "
            f"e.g. rows {_rows(s.index, missing, None)}; drop or fill those rows"
        )
    return out


def _present_mask(s: pd.Series) -> np.ndarray:
    """Non-missing and, for text, not blank."""
    present = s.notna().to_numpy().copy()
    if present.any() and (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
        try:
            stripped = s.astype(object).str.strip()
        except AttributeError:  # no strings at all (e.g. Python datetimes)
            return present
        present &= ~(stripped == "").fillna(False).to_numpy(dtype=bool)
    return present


def _to_ns(s: pd.Series) -> pd.Series:
    """To ``datetime64[ns, UTC]``; values outside the nanosecond range become NaT (and are then
    reported as unparseable rows) instead of raising for the whole column."""
    if not isinstance(s.dtype, pd.DatetimeTZDtype):  # e.g. an all-NaT result of pandas 3
        if pd.api.types.is_datetime64_dtype(s.dtype):
            s = s.dt.tz_localize("UTC")
        else:
            s = pd.Series(pd.to_datetime(s, utc=True, errors="coerce"), index=s.index)
    try:
        return s.astype(TS_DTYPE)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        lo = pd.Timestamp("1677-09-22", tz="UTC")
        hi = pd.Timestamp("2262-04-10", tz="UTC")
        return s.where((s >= lo) & (s <= hi)).astype(TS_DTYPE)


_PANDAS2 = int(pd.__version__.split(".")[0]) < 3
_TZ_TEXT = r"(?:[zZ]|[+-]\d\d:?\d\d|UTC|GMT)\s*$"


def _naive_as_utc(s: pd.Series, parsed: pd.Series) -> pd.Series:
    """pandas 2 reads the naive values of a column mixing offsets and naive text in the
    first value's offset; parse the naive ones again on their own (as UTC, the rule)."""
    tz = s.str.contains(_TZ_TEXT, regex=True, na=False).to_numpy()
    naive = ~tz & _present_mask(s)
    if not tz.any() or not naive.any():
        return parsed
    again = _to_ns(pd.to_datetime(s[naive], utc=True, format="ISO8601", errors="coerce"))
    parsed.iloc[np.flatnonzero(naive)] = again.array
    return parsed


def _parse_strings(s: pd.Series, column: str = "timestamp", what: str = "input") -> pd.Series:
    """Text (or mixed objects) to UTC; unparseable and blank values become NaT."""
    import warnings

    obj = s.astype(object) if s.dtype != object else s
    head = obj.dropna().iloc[:1000]
    if not len(head):
        return pd.Series(pd.NaT, index=s.index, dtype=TS_DTYPE)
    if all(isinstance(v, str) for v in head):
        if head.str.match(_EPOCH_STR).all() and s.dropna().str.match(_EPOCH_STR).all():
            return _epoch_to_utc(pd.to_numeric(s, errors="coerce"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce")
            parsed = _to_ns(parsed)
            if _PANDAS2:
                parsed = _naive_as_utc(s, parsed)
            left = parsed.isna().to_numpy().copy()
            if left.any():
                left &= _present_mask(s)
            if left.any():
                text = obj[left].map(lambda v: v.strip() if isinstance(v, str) else v)
                dayfirst = _dayfirst(text, column, what)
                # one non-ISO format (guessed from the first value, e.g. 05/01/2024 10:00) is
                # parsed in C; only what still fails goes to dateutil value by value
                try:
                    retry = pd.to_datetime(text, utc=True, errors="coerce", dayfirst=dayfirst)
                except (ValueError, TypeError):
                    retry = pd.Series(pd.NaT, index=text.index, dtype=TS_DTYPE)
                retry = _to_ns(retry)
                still = retry.isna().to_numpy()
                if still.any():
                    more = pd.to_datetime(text[still], utc=True, format="mixed", errors="coerce",
                                          dayfirst=dayfirst)
                    retry.iloc[np.flatnonzero(still)] = _to_ns(more).array
                parsed.iloc[np.flatnonzero(left)] = retry.array
        return parsed
    # Python datetimes, Timestamps, numbers or a mix: convert value by value
    present = _present_mask(s)
    conv = []
    for v in obj[present]:
        try:
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                ts = _epoch_to_utc(pd.Series([v])).iloc[0]
            else:
                ts = pd.Timestamp(v)
                ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        except (ValueError, TypeError, OverflowError):
            ts = pd.NaT
        conv.append(ts)
    out = pd.Series(pd.NaT, index=s.index, dtype=TS_DTYPE)
    if conv:
        conv_ts = _to_ns(pd.to_datetime(pd.Series(conv, dtype=object), utc=True))
        out.iloc[np.flatnonzero(present)] = conv_ts.array
    return out


def _dayfirst(text: pd.Series, column: str, what: str) -> bool:
    """Whether the column's numeric dates (``05/01/2024``) put the day first.

    One answer for the whole column (see :func:`to_utc`): the separator's convention (``.``
    day first, ``/`` and ``-`` month first) unless a value proves the other order.
    """
    parts = text.astype(object).str.extract(_DMY)
    parts = parts[parts[0].notna()]
    if not len(parts):
        return False
    first = parts[0].astype(int)
    second = parts[2].astype(int)
    # evidence is a value valid in one order only (both fields above 12: simply invalid)
    day_first = ((first > 12) & (second <= 12)).to_numpy()
    month_first = ((second > 12) & (first <= 12)).to_numpy()
    day_first_seen, month_first_seen = bool(day_first.any()), bool(month_first.any())
    if day_first_seen and month_first_seen:
        a = parts.index[int(np.flatnonzero(day_first)[0])]
        b = parts.index[int(np.flatnonzero(month_first)[0])]
        raise OpsInputError(
            f"column {column!r} of the {what} mixes day-first and month-first dates (row {a}: "
            f"{fmt_value(text.loc[a])}, row {b}: {fmt_value(text.loc[b])}); use one order, "
            f"or ISO 8601 (2024-05-01T12:00:00Z)")
    if day_first_seen:
        return True
    if month_first_seen:
        return False
    return bool((parts[1] == ".").all())


def text_from_codes(codes: np.ndarray, uniques: Any) -> pd.Series:
    """A text Series ``uniques[codes]`` built by a take (fast for long columns, few values)."""
    arr = pd.array([str(u) for u in uniques], dtype=default_str_dtype())
    return pd.Series(arr.take(np.asarray(codes, dtype="intp")))


def constant_text(value: str, n: int) -> pd.Series:
    """A text column of ``n`` copies of ``value``."""
    return text_from_codes(np.zeros(n, dtype="intp"), [value])


def as_text(values: pd.Series, fill: str = "") -> pd.Series:
    """A text column in pandas' default string dtype with missing values replaced by ``fill``.

    Non-string values (numbers, ...) become their ``str()``. Already-canonical columns are
    returned as they are (no copy), which keeps reloading a canonical frame cheap.
    """
    target = default_str_dtype()
    s = values
    plain_object = isinstance(target, np.dtype) and target == np.dtype(object)
    if s.dtype == target:
        if plain_object:
            if pd.api.types.infer_dtype(s, skipna=False) == "string":
                return _encodable(s)
        elif not s.hasnans:
            return s
    if s.isna().any():
        s = s.astype(object).where(s.notna(), fill)
    try:
        return _encodable(s.astype(str))
    except UnicodeEncodeError:  # Arrow-backed strings refuse a lone surrogate (pandas 3)
        return _escaped(s)


def _escaped(s: pd.Series) -> pd.Series:
    # a lone surrogate cannot be stored, hashed or written as UTF-8: keep it visible as its
    # escape (\ud800), as every output shows it
    from ..safetext import escape_surrogates

    return s.astype(object).map(lambda v: escape_surrogates(str(v))).astype(str)


def _encodable(s: pd.Series) -> pd.Series:
    """``s`` if every text encodes as UTF-8 (one C-level pass), else with lone surrogates
    escaped; object columns (pandas 2) hold them silently until a hash or a file fails."""
    if s.dtype != object:
        return s
    try:
        "\n".join(s.tolist()).encode("utf-8")
    except UnicodeEncodeError:
        return _escaped(s)
    return s


def as_float(values: pd.Series, column: str, what: str) -> pd.Series:
    """Numbers as float64; strings like ``"NaN"``, ``"+Inf"``, ``"1e3"`` are parsed.

    Missing values stay NaN; any other text is an error naming the first rows.
    """
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    conv = np.empty(len(uniques) + 1, dtype="float64")
    ok = np.ones(len(uniques) + 1, dtype=bool)
    for i, v in enumerate(uniques):
        try:
            conv[i] = float(v.strip()) if isinstance(v, str) else float(v)
        except (TypeError, ValueError):
            conv[i] = np.nan
            ok[i] = isinstance(v, str) and not v.strip()
    conv[-1] = np.nan  # missing values (code -1)
    bad = ~ok[codes]
    if bad.any():
        raise OpsInputError(
            f"cannot parse {int(bad.sum())} values in column {column!r} of the {what} as numbers,"
            f" e.g. {_rows(values.index, bad, values)}"
        )
    return pd.Series(conv[codes], index=values.index, name=values.name)
