"""Prometheus HTTP API responses (``query`` / ``query_range``) -> canonical metrics frame."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsConnectionError, OpsInputError
from . import _common as c

__all__ = ["from_prometheus", "prometheus_query_range", "prometheus_query", "PrometheusError"]

#: Prometheus refuses range queries of more than 11,000 points per series
MAX_POINTS = 11_000


class PrometheusError(OpsInputError):
    """Prometheus answered with an error envelope (``status: error``): its ``errorType`` and
    ``error`` are in the message. A distinct type so callers that try other readers on a
    failed load (e.g. a JSON file that may be a table) re-raise it instead."""



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
        raise PrometheusError(
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


# -- live HTTP API -----------------------------------------------------------------------------

def _client(url: str | None, client: dict[str, Any]) -> Any:
    from .http import LiveClient

    return LiveClient("prometheus", url, **client)


def _check_envelope(body: Any, base: str, query: str) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("status") != "success":
        etype = body.get("errorType", "error") if isinstance(body, dict) else "error"
        msg = body.get("error", "(no message)") if isinstance(body, dict) else repr(body)[:100]
        raise PrometheusError(f"Prometheus at {base} answered {etype}: {msg} for {query!r}")
    data = body.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise PrometheusError(f"Prometheus at {base} answered without a result list for {query!r}")
    return data


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def _seconds_text(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _chunks(start_ms: int, end_ms: int, step_ms: int, max_points: int) -> list[tuple[int, int]]:
    """Sub-ranges of at most ``max_points`` points on the grid ``start + k*step``: chunk ``i``
    ends one step before chunk ``i+1`` starts, so no point is fetched twice or skipped."""
    out = []
    s = start_ms
    span = (max_points - 1) * step_ms
    while s <= end_ms:
        e = min(s + span, end_ms)
        out.append((s, e))
        s = s + max_points * step_ms
    return out


_MATRIX_HEAD = b'{"status":"success","data":{"resultType":"matrix","result":['
_NUMBER_BYTES = b"0123456789.,eE+-NaInfity"


def _fast_matrix(content: bytes) -> dict[tuple, tuple[np.ndarray, np.ndarray]] | None:
    """Parse a successful matrix answer without building a Python object per sample.

    The samples of a series are ``[[<time>,"<value>"],...]``: brackets and quotes removed,
    numpy reads the numbers in one pass (``NaN``, ``+Inf``, ``-Inf`` included); only each
    series' small ``metric`` object goes through :mod:`json`. ``"values":[`` cannot occur
    inside a JSON string (quotes there are escaped), so the split is exact. Anything
    unexpected (another layout, native histograms, a number numpy cannot read) returns None
    and the caller parses the answer with :mod:`json` instead.
    """
    import json

    if not content.startswith(_MATRIX_HEAD):
        return None
    out: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    pos = len(_MATRIX_HEAD)
    strip = bytes.maketrans(b"", b"")
    while True:
        m = content.find(b'{"metric":', pos)
        if m < 0:
            break
        v = content.find(b',"values":[', m)
        if v < 0:
            return None
        try:
            labels = json.loads(content[m + 10:v])
        except ValueError:
            return None
        end = content.find(b"]]", v)
        if not isinstance(labels, dict) or end < 0 or content[end + 2:end + 3] != b"}":
            return None
        region = content[v + 11:end + 1].translate(strip, b'[]"')
        # only number characters (NaN, Inf included): numpy then reads every one of them
        # (no warnings.catch_warnings here: it is not thread-safe and chunks parse in threads)
        if region.translate(strip, _NUMBER_BYTES):
            return None
        try:
            nums = np.fromstring(region, sep=",") if region else np.empty(0)
        except ValueError:
            return None
        if nums.size % 2 or nums.size != region.count(b",") + 1:
            return None
        pairs = nums.reshape(-1, 2)
        key = tuple(sorted((str(k), str(val)) for k, val in labels.items()))
        out[key] = (pairs[:, 0].copy(), pairs[:, 1].copy())
        pos = end + 3
    return out


def _series_arrays(series: dict[str, Any], matrix: bool) -> tuple[np.ndarray, np.ndarray]:
    samples = series.get("values") if matrix else [series.get("value")]
    if not samples:
        return np.empty(0), np.empty(0)
    try:
        arr = np.array(samples, dtype=object)
        # object -> float64 runs float() in C: handles "NaN", "+Inf", "-Inf"
        return arr[:, 0].astype("float64"), arr[:, 1].astype("float64")
    except (ValueError, TypeError, IndexError):
        raise OpsInputError("Prometheus answered samples that are not [unix_time, \"value\"] "
                            "pairs") from None


def _build_frame(parts: dict[tuple, list[tuple[np.ndarray, np.ndarray]]], query: str,
                 service_label: str | None, metric: str | None) -> pd.DataFrame:
    """Series (label tuple -> time-ordered array chunks) -> the canonical metrics frame with
    one column per label. Series are in label order; samples in time order."""
    keys = sorted(parts)
    ts_parts, val_parts, counts, metas = [], [], [], []
    for key in keys:
        labels = dict(key)
        ts = np.concatenate([p[0] for p in parts[key]])
        vals = np.concatenate([p[1] for p in parts[key]])
        ts_parts.append(ts)
        val_parts.append(vals)
        counts.append(len(ts))
        svc = (labels.get(service_label) if service_label else None) or labels.get("service") \
            or labels.get("job") or labels.get("app") or ""
        metas.append((labels, str(svc), str(metric or labels.get("__name__") or query)))
    total = sum(counts)
    if total == 0:
        raise OpsInputError(f"Prometheus returned no samples for {query!r} in the range; "
                            f"check the query in the Prometheus UI or widen the range")
    label_names = sorted({k for labels, _, _ in metas for k in labels if k != "__name__"})
    idx = np.repeat(np.arange(len(metas)), counts)

    def text(values: list[str]) -> Any:
        # one value per series, spread by index: converting millions of repeated Python
        # strings to pandas' string dtype would dominate the whole fetch
        small = c.as_text(pd.Series(values, dtype=object)).array
        return small.take(idx)

    out: dict[str, Any] = {
        "timestamp": _seconds_to_utc(np.concatenate(ts_parts)),
        "service": text([m[1] for m in metas]),
        "metric": text([m[2] for m in metas]),
        "value": np.concatenate(val_parts),
        "series": text([_series_name(m[0]) for m in metas]),
    }
    reserved = set(out)
    for name in label_names:
        col = f"label_{name}" if name in reserved else name
        out[col] = text([m[0].get(name, "") for m in metas])
    return pd.DataFrame(out)


def prometheus_query_range(url: str | None, promql: str, start: Any, end: Any,
                           step: Any = None, *, service_label: str | None = None,
                           metric: str | None = None, max_points: int = MAX_POINTS,
                           workers: int = 4, **client: Any) -> pd.DataFrame:
    """Run a PromQL range query and return the canonical metrics frame.

    Ranges longer than ``max_points`` (Prometheus's limit: 11,000 points per series) are split
    into sub-ranges on the same step grid, fetched concurrently and merged in time order: no
    point at a chunk edge is fetched twice or skipped. Any failed chunk fails the call (no
    partial frame).

    Parameters
    ----------
    url : str or None
        Prometheus base URL; None reads ``JUPYTER_OPS_PROMETHEUS_URL``.
    promql : str
        The query, e.g. ``rate(http_requests_total[5m])``.
    start, end : time
        Range (datetime, ISO text, epoch seconds or ``"now"``), whole milliseconds.
    step : str or float, optional
        Resolution (``"15s"`` or seconds); default range / 720, at least 1 s.
    service_label : str, optional
        Label naming the service; default ``service``, then ``job``, then ``app``.
    metric : str, optional
        Metric name for every series; default the series' ``__name__``, else the query text.
    max_points : int
        Points per series per request (at most 11,000).
    workers : int
        Sub-ranges fetched at once.
    **client
        :class:`jupyter_ops.io.http.LiveClient` settings: ``token``, ``username``,
        ``password``, ``headers``, ``ca_bundle``, ``verify``, ``timeout``, ``retries``.

    Returns
    -------
    pandas.DataFrame
        ``timestamp`` (UTC), ``service``, ``metric``, ``value`` (float64), ``series``, then
        one column per label (a label named like a canonical column gets a ``label_``
        prefix). ``attrs["jupyter_ops_source"]`` records server (no userinfo), query, exact
        range and step so a re-run fetches the same data.

    Raises
    ------
    OpsInputError
        Bad query (Prometheus's error type and message), refused credentials, no samples.
    OpsConnectionError
        Server unreachable, timed out or failing (5xx) after retries.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .live import ATTRS_KEY, iso, parse_duration, time_range

    if not isinstance(promql, str) or not promql.strip():
        raise OpsInputError("promql must be a non-empty PromQL query, e.g. 'up'")
    s, e = time_range(start=start, end=end)
    step_s = (parse_duration(step, "step") if step is not None
              else max(1.0, (e - s).total_seconds() / 720))
    step_ms = max(1, int(round(step_s * 1000)))
    if not 2 <= int(max_points) <= MAX_POINTS:
        raise OpsInputError(f"max_points must be between 2 and {MAX_POINTS}, got {max_points}")
    chunks = _chunks(_ms(s), _ms(e), step_ms, int(max_points))
    with _client(url, client) as cl:

        def fetch(rng: tuple[int, int]) -> dict[tuple, tuple[np.ndarray, np.ndarray]]:
            resp = cl.request("GET", "/api/v1/query_range", query=promql, params={
                "query": promql, "start": _seconds_text(rng[0]), "end": _seconds_text(rng[1]),
                "step": f"{step_ms / 1000:g}"})
            fast = _fast_matrix(resp.content)
            if fast is not None:
                return fast
            try:
                body = resp.json()
            except ValueError:
                raise OpsConnectionError(f"Prometheus at {cl.base} answered a body that is not "
                                         f"JSON for {promql!r}") from None
            data = _check_envelope(body, cl.base, promql)
            if data.get("resultType") != "matrix":
                raise PrometheusError(f"Prometheus at {cl.base} answered resultType "
                                      f"{data.get('resultType')!r} for a range query")
            return {tuple(sorted((str(k), str(v)) for k, v in (r.get("metric") or {}).items())):
                    _series_arrays(r, True) for r in data["result"]}

        if len(chunks) == 1:
            answers = [fetch(chunks[0])]
        else:
            with ThreadPoolExecutor(max_workers=max(1, min(int(workers), len(chunks)))) as ex:
                answers = list(ex.map(fetch, chunks))  # in chunk order; first error re-raised
        base = cl.base
    parts: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
    for ans in answers:
        for key, arrays in ans.items():
            parts.setdefault(key, []).append(arrays)
    frame = _build_frame(parts, promql, service_label, metric)
    frame.attrs[ATTRS_KEY] = {
        "source": "prometheus", "server": base, "query": promql, "start": iso(s),
        "end": iso(e), "step": f"{step_ms / 1000:g}s",
        "spec": f"prometheus:{promql}", "chunks": len(chunks)}
    return frame


def prometheus_query(url: str | None, promql: str, time: Any = None, *,
                     service_label: str | None = None, metric: str | None = None,
                     **client: Any) -> pd.DataFrame:
    """Run an instant PromQL query (at ``time``, default now) -> canonical metrics frame.

    Same columns, errors and provenance as :func:`prometheus_query_range` (one sample per
    series; a scalar result is one row).
    """
    from .live import ATTRS_KEY, iso, to_timestamp

    if not isinstance(promql, str) or not promql.strip():
        raise OpsInputError("promql must be a non-empty PromQL query, e.g. 'up'")
    at = to_timestamp("now" if time is None else time, "time").floor("ms")
    with _client(url, client) as cl:
        body = cl.get_json("/api/v1/query", query=promql,
                           params={"query": promql, "time": _seconds_text(_ms(at))})
        data = _check_envelope(body, cl.base, promql)
        base = cl.base
    rtype, result = data.get("resultType"), data["result"]
    if rtype in ("scalar", "string"):
        result, rtype = [{"metric": {}, "value": result}], "vector"
    if rtype != "vector":
        raise PrometheusError(f"Prometheus at {base} answered resultType {rtype!r} for an "
                              f"instant query; use prometheus_query_range for range vectors")
    parts = {tuple(sorted((str(k), str(v)) for k, v in (r.get("metric") or {}).items())):
             [_series_arrays(r, False)] for r in result}
    frame = _build_frame(parts, promql, service_label, metric)
    frame.attrs[ATTRS_KEY] = {"source": "prometheus", "server": base, "query": promql,
                              "time": iso(at), "spec": f"prometheus:{promql}"}
    return frame


def query_range(url: str | None, promql: str, start: Any, end: Any, step: Any = None,
                **kwargs: Any) -> pd.DataFrame:
    """Alias of :func:`prometheus_query_range` (``jupyter_ops.io.prometheus.query_range``)."""
    return prometheus_query_range(url, promql, start, end, step, **kwargs)


def query(url: str | None, promql: str, time: Any = None, **kwargs: Any) -> pd.DataFrame:
    """Alias of :func:`prometheus_query`."""
    return prometheus_query(url, promql, time, **kwargs)
