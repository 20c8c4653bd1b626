"""Prometheus HTTP API responses (``query`` / ``query_range``) -> canonical metrics frame."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from . import _common as c

__all__ = ["from_prometheus"]


def is_prometheus(data: Any) -> bool:
    """True for a Prometheus API response envelope (``{"status": ..., "data"/"error": ...}``)."""
    return isinstance(data, dict) and "status" in data and (
        "data" in data or "error" in data or "errorType" in data
    )


def _series_name(labels: dict[str, Any]) -> str:
    name = str(labels.get("__name__", ""))
    rest = ",".join(f'{k}="{labels[k]}"' for k in sorted(labels) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def _float(v: Any) -> float:
    # Prometheus encodes sample values as strings: "0.5", "NaN", "+Inf", "-Inf"
    if isinstance(v, bool):
        raise OpsInputError(f"Prometheus sample value {v!r} is not a number")
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        raise OpsInputError(f"Prometheus sample value {c.fmt_value(v)} is not a number")


def from_prometheus(
    response: Any, metric: str | None = None, service: str | None = None
) -> pd.DataFrame:
    """Convert a Prometheus ``query``/``query_range`` JSON response to long-form metrics.

    Parameters
    ----------
    response : dict
        The parsed JSON body: ``{"status": "success", "data": {"resultType": "matrix" |
        "vector" | "scalar", "result": ...}}``.
    metric : str, optional
        Metric name for every series (default: each series' ``__name__``, else the query-less
        ``"value"``).
    service : str, optional
        Service for series without a ``service``/``job``/``app`` label (default "").

    Returns
    -------
    pandas.DataFrame
        ``timestamp`` (datetime64[ns, UTC]), ``service``, ``metric``, ``value`` (float64; NaN and
        ±inf kept), ``series`` (the series' label set, e.g. ``up{instance="a:9100",job="node"}``),
        ``instance``; series after series, samples in time order as returned.

    Raises
    ------
    OpsInputError
        An error response (the message carries Prometheus' ``errorType`` and ``error``), an
        unknown result type, or an empty result.
    """
    if not is_prometheus(response):
        raise OpsInputError(
            "not a Prometheus API response: expected an object with 'status' and 'data'"
        )
    if response.get("status") != "success":
        raise OpsInputError(
            f"Prometheus returned status {response.get('status')!r}: "
            f"{response.get('errorType', 'error')}: {response.get('error', '(no message)')}"
        )
    data = response.get("data") or {}
    if not isinstance(data, dict):
        raise OpsInputError(
            f"Prometheus 'data' must be an object with 'resultType' and 'result'; got "
            f"{type(data).__name__}"
        )
    rtype = data.get("resultType")
    result = data.get("result")
    if rtype == "scalar" or rtype == "string":
        result = [{"metric": {}, "value": result}]
        rtype = "vector"
    if rtype not in ("matrix", "vector") or not isinstance(result, list):
        raise OpsInputError(
            f"unsupported Prometheus resultType {rtype!r}; expected matrix, vector or scalar"
        )
    ts_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    meta: list[tuple[str, str, str, str, int]] = []
    pairs = "samples must be [unix_time, \"value\"] pairs"
    for i, series in enumerate(result):
        if not isinstance(series, dict):
            raise OpsInputError(f"Prometheus series {i} is a {type(series).__name__}, not an object")
        labels = series.get("metric") or {}
        if not isinstance(labels, dict):
            raise OpsInputError(f"Prometheus series {i}: 'metric' must be an object of labels")
        samples = series.get("values") if rtype == "matrix" else [series.get("value")]
        if not isinstance(samples, list) or any(s is None for s in samples):
            raise OpsInputError(f"Prometheus series {i} has no samples ('values'/'value')")
        if not all(isinstance(s, (list, tuple)) and len(s) == 2 for s in samples):
            raise OpsInputError(f"Prometheus series {i}: {pairs}")
        try:
            ts = np.array([float(s[0]) for s in samples], dtype="float64")
        except (TypeError, ValueError):
            raise OpsInputError(f"Prometheus series {i}: {pairs}")
        if not np.isfinite(ts).all() or (np.abs(ts) > 9.2e9).any():
            raise OpsInputError(f"Prometheus series {i}: sample times must be unix seconds")
        ts_parts.append(ts)
        val_parts.append(np.array([_float(s[1]) for s in samples], dtype="float64"))
        svc = labels.get("service") or labels.get("job") or labels.get("app") or (service or "")
        name = metric or labels.get("__name__") or "value"
        meta.append((str(svc), str(name), _series_name(labels), str(labels.get("instance", "")),
                     len(samples)))
    total = sum(m[4] for m in meta)
    if total == 0:
        raise OpsInputError("the metrics input is empty (0 rows): Prometheus returned no samples")
    counts = [m[4] for m in meta]
    frame = pd.DataFrame({
        "timestamp": _seconds_to_utc(np.concatenate(ts_parts)),
        "service": np.repeat(np.array([m[0] for m in meta], dtype=object), counts),
        "metric": np.repeat(np.array([m[1] for m in meta], dtype=object), counts),
        "value": np.concatenate(val_parts),
        "series": np.repeat(np.array([m[2] for m in meta], dtype=object), counts),
        "instance": np.repeat(np.array([m[3] for m in meta], dtype=object), counts),
    })
    for col in ("service", "metric", "series", "instance"):
        frame[col] = c.as_text(frame[col])
    return frame


def _seconds_to_utc(seconds: np.ndarray) -> pd.Series:
    # Prometheus times are float seconds with millisecond precision
    ns = np.round(seconds * 1e6).astype("int64") * 1000  # int before *1000: exact ms
    return pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")
