"""Log anomaly signals from mined templates, as alert-like events.

``log_signals`` returns rows in the shape of the canonical alerts frame (``timestamp``,
``service``, ``name``, ``severity``, ``message``) so they can be concatenated with alerts and
passed to ``correlate`` and ``timeline``. Three signals:

* ``new template``: a template first seen after the warm-up (a message never seen before);
* ``template rate spike``: a template's count in a window far above its own recent baseline;
* ``error burst`` / ``warning burst``: error (or warning) lines of a service in a window far
  above that service's baseline.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import OpsInputError
from ._incidents import to_timedelta

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .logmining import Templates

__all__ = ["log_signals", "template_rates"]

SIGNAL_COLUMNS = ["timestamp", "service", "name", "severity", "message", "template_id",
                  "count", "baseline", "window_end"]
_ERROR_WORDS = re.compile(r"\b(?:FATAL|CRITICAL|CRIT|PANIC|SEVERE|ERROR|ERR|EXCEPTION)\b|"
                          r"\b(?:fatal|critical|panic|error|exception|failed|failure)\b")
_WARN_WORDS = re.compile(r"\b(?:WARN|WARNING|warn|warning)\b")
_MAX_MESSAGE = 300


_NICE = ["1s", "5s", "10s", "30s", "1min", "5min", "10min", "15min", "30min", "1h", "2h", "3h",
         "6h", "12h", "1D", "2D", "7D", "14D", "30D"]


def auto_window(span: Any, max_windows: int = 200, minimum: Any = "1min") -> pd.Timedelta:
    """The smallest "nice" window (1s, 5s, ... 1h, ... 30D) giving at most ``max_windows``."""
    import pandas as pd

    lo = pd.Timedelta(minimum)
    for nice in _NICE:
        w = pd.Timedelta(nice)
        if w >= lo and span / w <= max_windows:
            return w
    return pd.Timedelta(span) / max_windows


def _timed_check(templates: Any) -> None:
    from .logmining import _NAT, Templates

    if not isinstance(templates, Templates):
        raise OpsInputError(f"expected the Templates of mine_templates, got "
                            f"{type(templates).__name__}; run mine_templates(logs) first")
    if templates._ts is None or not (templates._ts != _NAT).any():
        raise OpsInputError("log signals need timestamps: mine a logs frame with a 'timestamp' "
                            "column (e.g. from jupyter_ops.io.load_logs), not bare lines")


def _timed_lines(templates: Templates) -> pd.DataFrame:
    _timed_check(templates)
    lines = templates.lines
    return lines[lines["timestamp"].notna()]


def template_rates(templates: Templates, window: Any = "5min",
                   top_n: int | None = None, max_windows: int | None = None) -> pd.DataFrame:
    """Lines per template per time window (zero-filled), for charts and sparklines.

    Parameters
    ----------
    templates : Templates
        The result of :func:`~jupyter_ops.aiops.mine_templates` on lines with timestamps.
    window : str or Timedelta, default "5min"
        Width of the counting windows.
    top_n : int, optional
        Only the most frequent templates.
    max_windows : int, optional
        Widen ``window`` to the smallest "nice" width (see :func:`auto_window`, at least 1s)
        giving at most this many windows.

    Returns
    -------
    DataFrame
        ``window`` (window start, UTC), ``template_id``, ``count``; templates without timed
        lines are left out. Windows span the first to the last timestamp.
    """
    import pandas as pd


    start, w, counts = _rate_matrix(templates, to_timedelta(window, "window"), max_windows)
    n_bins = counts.shape[1]
    totals = counts.sum(axis=1)
    keep = np.flatnonzero(totals)
    if top_n is not None:
        keep = keep[np.lexsort((keep, -totals[keep]))][:top_n]
        keep.sort()
    windows = start.value + np.arange(n_bins, dtype=np.int64) * w.value
    return pd.DataFrame({
        "window": pd.to_datetime(np.tile(windows, len(keep)), utc=True),
        "template_id": np.repeat(np.asarray([f"T{i + 1}" for i in keep.tolist()],
                                            dtype=object), n_bins),
        "count": counts[keep].reshape(-1).astype(np.int64),
    })


def _rate_matrix(templates: Templates, w: pd.Timedelta, max_windows: int | None = None
                 ) -> tuple[pd.Timestamp, pd.Timedelta, np.ndarray]:
    """(first window start, window width, counts[template index, window]) over the timed
    lines; ``max_windows`` widens ``w`` as :func:`template_rates` says."""
    import pandas as pd

    from .logmining import _NAT

    _timed_check(templates)
    ts = templates._ts
    ok = ts != _NAT
    t = ts[ok]
    if max_windows is not None:
        span = pd.Timedelta(int(t.max() - t.min()), unit="ns")
        w = max(w, auto_window(span, max_windows, minimum="1s"))
    group = templates._state.key_group[templates._ids][ok]
    start = pd.Timestamp(int(t.min()), unit="ns", tz="UTC").floor(w)
    bins = (t - start.value) // w.value
    n_bins = int(bins.max()) + 1
    n_tpl = len(templates._state.templates)
    counts = np.bincount(group * n_bins + bins, minlength=n_tpl * n_bins)
    return start, w, counts.reshape(n_tpl, n_bins)


def log_signals(templates: Templates, window: Any = "5min", *, warmup: Any = None,
                baseline: int = 12, factor: float = 3.0, min_count: int = 5) -> pd.DataFrame:
    """Alert-like events from mined templates: new templates, rate spikes, error bursts.

    Parameters
    ----------
    templates : Templates
        The result of :func:`~jupyter_ops.aiops.mine_templates` on a logs frame with
        timestamps.
    window : str or Timedelta, default "5min"
        Width of the counting windows.
    warmup : str or Timedelta, optional
        Templates first seen within this time from the first line are not "new" (default: a
        quarter of the time span, at least one window; none when the templates continue a
        loaded state, whose templates keep their earlier first sighting).
    baseline : int, default 12
        Number of preceding windows whose mean is a template's (or service's) baseline.
    factor : float, default 3.0
        A window spikes when its count is at least ``factor * (baseline mean + 1)``.
    min_count : int, default 5
        ... and at least this many lines.

    Returns
    -------
    pandas.DataFrame
        ``timestamp``, ``service``, ``name`` ("new template", "template rate spike",
        "error burst", "warning burst"), ``severity`` ("warning" or "error"), ``message``
        (with the template text), ``template_id``, ``count``, ``baseline``, ``window_end``;
        sorted by time. Concatenate with alerts for ``correlate`` / ``timeline``.
    """
    import pandas as pd

    w = to_timedelta(window, "window")
    for name, value in (("baseline", baseline), ("min_count", min_count)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise OpsInputError(f"{name} must be a positive integer, got {value!r}")
    if not factor > 1:
        raise OpsInputError(f"factor must be > 1, got {factor!r}")
    lines = _timed_lines(templates)
    tpl = templates.templates.set_index("template_id")
    events: list[dict[str, Any]] = []
    if not len(lines):
        return _frame(events)
    start, end = lines["timestamp"].min(), lines["timestamp"].max()
    if warmup is not None:
        warm = to_timedelta(warmup, "warmup") if warmup not in (0, "0") else pd.Timedelta(0)
    elif templates._base > 0:
        warm = pd.Timedelta(0)  # continued from a saved state: that state is the baseline
    else:
        warm = max((end - start) / 4, w)
    has_service = "service" in lines.columns

    # first service seen per template (for the event's service)
    first_service = (lines.drop_duplicates("template_id").set_index("template_id")["service"]
                     if has_service else pd.Series(dtype=object))
    level_of = _levels(lines)

    # -- new templates ----------------------------------------------------------------------
    present = set(lines["template_id"].unique())
    for tid, row in tpl.iterrows():
        seen = row["first_seen"]
        if pd.isna(seen) or seen < start + warm or tid not in present:
            continue
        lv = level_of.get(tid, "info")
        events.append({
            "timestamp": seen, "service": first_service.get(tid, "") if has_service else "",
            "name": "new template", "severity": "error" if lv == "error" else "warning",
            "message": _msg(f"new log template {tid} ({int(row['count'])} lines): ",
                            row["template"]),
            "template_id": tid, "count": int(row["count"]), "baseline": 0.0,
            "window_end": seen})

    # -- template rate spikes ---------------------------------------------------------------
    rate_start, _, matrix = _rate_matrix(templates, w)
    ts_ns = _ns(lines["timestamp"])
    services = lines["service"].to_numpy(dtype=object) if has_service else None
    positions = lines.groupby("template_id", sort=False).indices
    for gi in np.flatnonzero(matrix.sum(axis=1)).tolist():
        tid = f"T{gi + 1}"
        counts = matrix[gi].astype(float)
        hot = _spikes(counts, baseline, factor, min_count)
        if has_service and hot.any():
            t_sorted, s_sorted = _sorted_by_time(positions[tid], ts_ns, services)
        for a, b, peak, base in _runs(hot, counts, baseline):
            t0 = rate_start + a * w
            if t0 < start + warm:
                continue
            service = ""
            if has_service:
                service = _top_in(t_sorted, s_sorted, t0, rate_start + (b + 1) * w)
            events.append({
                "timestamp": t0, "service": service,
                "name": "template rate spike", "severity": "warning",
                "message": _msg(f"{tid} rose to {int(peak)} lines per {_fmt(w)} (baseline "
                                f"{base:.1f}): ", tpl.at[tid, "template"]),
                "template_id": tid, "count": int(peak), "baseline": round(base, 2),
                "window_end": rate_start + (b + 1) * w})

    # -- error / warning bursts per service -------------------------------------------------
    sev = lines["template_id"].map(level_of).fillna("info")
    if "level" in lines.columns:
        lv = _line_levels(lines["level"])
        sev = np.where(lv == "", sev, lv)
    flagged = lines.assign(_sev=np.asarray(sev, dtype=object))
    flagged = flagged[flagged["_sev"].isin(["error", "warning"])]
    grid = pd.date_range(start.floor(w), end.floor(w), freq=w)
    keys = ["service", "_sev"] if has_service else ["_sev"]
    for key, grp in flagged.groupby(keys, sort=True):
        if has_service:
            service, level = key
        else:
            service, level = "", key[0] if isinstance(key, tuple) else key
        per = grp.groupby(grp["timestamp"].dt.floor(w)).size().reindex(grid, fill_value=0)
        counts = per.to_numpy(dtype=float)
        hot = _spikes(counts, baseline, factor, min_count)
        if hot.any():
            t_sorted, id_sorted = _sorted_by_time(np.arange(len(grp)), _ns(grp["timestamp"]),
                                                  grp["template_id"].to_numpy(dtype=object))
        for a, b, peak, base in _runs(hot, counts, baseline):
            t0 = grid[a]
            top = _top_in(t_sorted, id_sorted, t0, grid[b] + w)
            events.append({
                "timestamp": t0, "service": service, "name": f"{level} burst",
                "severity": level,
                "message": _msg(f"{int(peak)} {level} lines per {_fmt(w)} (baseline "
                                f"{base:.1f}); most frequent {top}: ", tpl.at[top, "template"]),
                "template_id": top, "count": int(peak), "baseline": round(base, 2),
                "window_end": grid[b] + w})
    return _frame(events)


def _ns(ts: pd.Series) -> np.ndarray:
    return ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype(
        "datetime64[ns]").view(np.int64)


def _sorted_by_time(rows: np.ndarray, ts_ns: np.ndarray,
                    values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(ts_ns[rows], kind="stable")
    return ts_ns[rows][order], values[rows][order]


def _top_in(t_sorted: np.ndarray, v_sorted: np.ndarray, t0: Any, t1: Any) -> str:
    """Most frequent value with a time in [t0, t1) (ties: the earliest value)."""
    import pandas as pd

    lo = np.searchsorted(t_sorted, pd.Timestamp(t0).value, side="left")
    hi = np.searchsorted(t_sorted, pd.Timestamp(t1).value, side="left")
    picked = v_sorted[lo:hi]
    if not len(picked):
        return ""
    uniq, first, counts = np.unique(picked.astype(str), return_index=True, return_counts=True)
    best = np.lexsort((first, -counts))[0]
    return str(uniq[best])


#: canonical log level (:func:`jupyter_ops.io.normalize_level`) -> signal level ("" unknown)
_SIGNAL_LEVEL = {"fatal": "error", "error": "error", "warning": "warning", "info": "info",
                 "debug": "info", "trace": "info", "unknown": ""}


def _line_levels(level: pd.Series) -> np.ndarray:
    """error / warning / info per line, from a level column in any spelling the loaders know
    (``E``, ``WARN``, ``crit``...); ``""`` where the level is unknown or missing."""
    from .. import io

    return io.normalize_level(level).map(_SIGNAL_LEVEL).to_numpy(dtype=object)


def _levels(lines: pd.DataFrame) -> dict[str, str]:
    """Worst level per template: from the ``level`` column, else from words in the text."""
    import pandas as pd

    out: dict[str, str] = {}
    if "level" in lines.columns:
        pairs = pd.DataFrame({"template_id": lines["template_id"].to_numpy(dtype=object),
                              "_lv": _line_levels(lines["level"])}).drop_duplicates()
        for tid, worst in pairs.groupby("template_id")["_lv"]:
            vals = set(worst)
            if "error" in vals:
                out[tid] = "error"
            elif "warning" in vals:
                out[tid] = "warning"
            elif vals - {""}:
                out[tid] = "info"
    for tid, example in lines.drop_duplicates("template_id")[["template_id",
                                                              "message"]].itertuples(False):
        if tid in out:
            continue
        out[tid] = ("error" if _ERROR_WORDS.search(example)
                    else "warning" if _WARN_WORDS.search(example) else "info")
    return out


def _spikes(counts: np.ndarray, baseline: int, factor: float, min_count: int) -> np.ndarray:
    """Windows whose count is >= factor * (mean of the preceding ``baseline`` windows + 1)."""
    n = len(counts)
    if n == 0:
        return np.zeros(0, bool)
    csum = np.concatenate([[0.0], np.cumsum(counts)])
    idx = np.arange(n)
    lo = np.maximum(idx - baseline, 0)
    width = idx - lo
    base = np.where(width > 0, (csum[idx] - csum[lo]) / np.maximum(width, 1), 0.0)
    # a window needs some history before it can spike (else every first burst would)
    return (width >= min(baseline, 3)) & (counts >= min_count) & (counts >= factor * (base + 1))


def _runs(hot: np.ndarray, counts: np.ndarray, baseline: int):
    """Consecutive hot windows -> (first, last, peak count, baseline mean before the run)."""
    i, n = 0, len(hot)
    while i < n:
        if not hot[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and hot[j + 1]:
            j += 1
        lo = max(i - baseline, 0)
        base = float(counts[lo:i].mean()) if i > lo else 0.0
        yield i, j, float(counts[i:j + 1].max()), base
        i = j + 1


def _msg(prefix: str, template: str) -> str:
    text = prefix + template
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE - 1] + "…"


def _fmt(w: pd.Timedelta) -> str:
    secs = int(w.total_seconds())
    if secs % 3600 == 0:
        return f"{secs // 3600}h"
    if secs % 60 == 0:
        return f"{secs // 60}min"
    return f"{w.total_seconds():g}s"


def _frame(events: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    if not events:
        return pd.DataFrame({
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "service": pd.Series([], dtype=object), "name": pd.Series([], dtype=object),
            "severity": pd.Series([], dtype=object), "message": pd.Series([], dtype=object),
            "template_id": pd.Series([], dtype=object),
            "count": pd.Series([], dtype=np.int64), "baseline": pd.Series([], dtype=float),
            "window_end": pd.Series([], dtype="datetime64[ns, UTC]")})
    df = pd.DataFrame(events)[SIGNAL_COLUMNS]
    for col in ("timestamp", "window_end"):
        df[col] = pd.to_datetime(df[col], utc=True)
    df["count"] = df["count"].astype(np.int64)
    df["baseline"] = df["baseline"].astype(float)
    return df.sort_values(["timestamp", "name", "service"], kind="stable").reset_index(drop=True)
