"""Alertmanager webhook payloads and API v2 alert lists -> rows for the canonical alerts frame."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import OpsInputError
from .canonical import label_fingerprint

__all__ = ["from_alertmanager", "fetch_alerts", "fetch_silences"]

#: Alertmanager writes this for "not set" (Go's zero time)
_ZERO_TIME_PREFIX = "0001-01-01"


def _unset(ts: Any) -> bool:
    return ts is None or ts == "" or (isinstance(ts, str) and ts.startswith(_ZERO_TIME_PREFIX))


def from_alertmanager(payload: Any) -> pd.DataFrame:
    """Turn an Alertmanager webhook payload or API v2 alert list into an alerts table.

    Parameters
    ----------
    payload : dict or list
        A webhook body (``{"version": "4", "status": ..., "alerts": [...]}``) or the list
        returned by ``GET /api/v2/alerts``.

    Returns
    -------
    pandas.DataFrame
        Columns ``timestamp`` (``startsAt``), ``service`` (label ``service``, else ``job``, else
        ``app``), ``name`` (``alertname``), ``severity`` (label), ``message`` (annotation
        ``summary``, else ``description``), ``host`` (``instance``), ``labels`` (all labels),
        ``fingerprint`` (given, else computed from the labels exactly as Alertmanager does),
        ``status`` (``firing``/``resolved``, or the API state such as
        ``active``/``suppressed``), ``resolved_at`` (``endsAt`` of resolved alerts, else
        missing) and ``generator_url``. Pass it to :func:`load_alerts` for the canonical dtypes
        (``load_alerts`` does this itself when given the payload).
    """
    if isinstance(payload, dict):
        if "alerts" not in payload or not isinstance(payload["alerts"], list):
            raise OpsInputError(
                "an Alertmanager webhook payload needs an 'alerts' list; keys found: "
                + ", ".join(map(str, list(payload)[:10]))
            )
        alerts = payload["alerts"]
    elif isinstance(payload, list):
        alerts = payload
    else:
        raise OpsInputError(
            f"expected an Alertmanager payload (dict or list), got {type(payload).__name__}"
        )
    rows = []
    for i, a in enumerate(alerts):
        if not isinstance(a, dict):
            raise OpsInputError(f"Alertmanager alert {i} is a {type(a).__name__}, not an object")
        labels = a.get("labels") or {}
        ann = a.get("annotations") or {}
        if not isinstance(labels, dict) or not isinstance(ann, dict):
            raise OpsInputError(f"Alertmanager alert {i}: 'labels'/'annotations' must be objects")
        status = a.get("status")
        if isinstance(status, dict):  # API v2: {"state": "active", "silencedBy": [...], ...}
            status = status.get("state")
        ends = a.get("endsAt")
        resolved = status == "resolved" and not _unset(ends)
        starts = a.get("startsAt")
        rows.append({
            "timestamp": None if _unset(starts) else starts,
            "service": labels.get("service") or labels.get("job") or labels.get("app") or "",
            "name": labels.get("alertname", ""),
            "severity": labels.get("severity"),
            "message": ann.get("summary") or ann.get("description") or ann.get("message") or "",
            "host": labels.get("instance", ""),
            "labels": dict(labels),
            # Alertmanager's own fingerprint, or the same hash of the label set when absent
            "fingerprint": a.get("fingerprint") or label_fingerprint(labels),
            "status": status or "",
            "resolved_at": ends if resolved else None,
            "generator_url": a.get("generatorURL", ""),
        })
    columns = ["timestamp", "service", "name", "severity", "message", "host", "labels",
               "fingerprint", "status", "resolved_at", "generator_url"]
    return pd.DataFrame(rows, columns=columns)


# -- live API v2 -------------------------------------------------------------------------------

def _flag(v: bool) -> str:
    return "true" if v else "false"


def fetch_alerts(url: str | None = None, active: bool = True, silenced: bool = False,
                 inhibited: bool = False, filter: list[str] | None = None,  # noqa: A002
                 receiver: str | None = None, **client: Any) -> pd.DataFrame:
    """Alerts from Alertmanager's API v2 (``GET /api/v2/alerts``) as the canonical alerts frame.

    Parameters
    ----------
    url : str, optional
        Alertmanager base URL; default ``JUPYTER_OPS_ALERTMANAGER_URL``.
    active, silenced, inhibited : bool
        Which alert states to include (default: active alerts only, as the UI shows them).
    filter : list of str, optional
        Label matchers, e.g. ``['severity="critical"', 'service=~"check.*"']``.
    receiver : str, optional
        Regex of receivers whose alerts to return.
    **client
        :class:`jupyter_ops.io.http.LiveClient` settings (token, timeout, ...).

    Returns
    -------
    pandas.DataFrame
        The canonical alerts frame (what :func:`jupyter_ops.io.load_alerts` returns for a saved
        API payload; ``correlate`` takes it), sorted by ``timestamp``;
        ``attrs["jupyter_ops_source"]`` records the server and the filters. An empty frame
        with the canonical columns when nothing fires.
    """
    from .canonical import load_alerts
    from .http import LiveClient
    from .live import ATTRS_KEY, iso

    matchers = [str(m) for m in (filter or [])]
    params: list[tuple[str, str]] = [("active", _flag(active)), ("silenced", _flag(silenced)),
                                     ("inhibited", _flag(inhibited))]
    params += [("filter", m) for m in matchers]
    if receiver:
        params.append(("receiver", receiver))
    query = ",".join(matchers) or "(all alerts)"
    with LiveClient("alertmanager", url, **client) as cl:
        body = cl.get_json("/api/v2/alerts", query=query, params=params)
        base = cl.base
    if not isinstance(body, list):
        raise OpsInputError(f"Alertmanager at {base} answered {type(body).__name__}, not the "
                            f"alert list of API v2; is {base} an Alertmanager?")
    if body:
        frame = load_alerts(body)
        frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    else:
        frame = _empty_alerts()
    frame.attrs[ATTRS_KEY] = {
        "source": "alertmanager", "server": base, "query": query, "active": active,
        "silenced": silenced, "inhibited": inhibited,
        "fetched_at": iso(pd.Timestamp.now(tz="UTC")), "spec": "alertmanager:" + ",".join(matchers)}
    return frame


def _empty_alerts() -> pd.DataFrame:
    from .canonical import load_alerts

    # the canonical dtypes, from a one-row frame emptied again
    one = load_alerts(pd.DataFrame({"timestamp": ["2000-01-01T00:00:00Z"], "service": ["x"],
                                    "name": ["x"], "severity": ["warning"], "message": [""]}))
    return one.iloc[0:0].reset_index(drop=True)


def fetch_silences(url: str | None = None, state: str | None = None,
                   **client: Any) -> pd.DataFrame:
    """Silences from Alertmanager's API v2 (``GET /api/v2/silences``).

    Parameters
    ----------
    url : str, optional
        Alertmanager base URL; default ``JUPYTER_OPS_ALERTMANAGER_URL``.
    state : str, optional
        Keep only ``active``, ``pending`` or ``expired`` silences.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``state``, ``matchers`` (text such as ``alertname="X", service=~"a.*"``),
        ``starts_at``, ``ends_at`` (UTC), ``created_by``, ``comment``; newest start first.
    """
    from . import _common as c
    from .http import LiveClient

    if state is not None and state not in ("active", "pending", "expired"):
        raise OpsInputError(f"state must be active, pending or expired, got {state!r}")
    with LiveClient("alertmanager", url, **client) as cl:
        body = cl.get_json("/api/v2/silences", query="silences")
        base = cl.base
    if not isinstance(body, list):
        raise OpsInputError(f"Alertmanager at {base} answered {type(body).__name__}, not the "
                            f"silence list of API v2")
    rows = []
    for s in body:
        if not isinstance(s, dict):
            continue
        st = (s.get("status") or {}).get("state", "")
        if state and st != state:
            continue
        ms = []
        for m in s.get("matchers") or []:
            op = ("=~" if m.get("isRegex") else "=") if m.get("isEqual", True) else (
                "!~" if m.get("isRegex") else "!=")
            ms.append(f'{m.get("name", "")}{op}"{m.get("value", "")}"')
        rows.append({"id": s.get("id", ""), "state": st, "matchers": ", ".join(ms),
                     "starts_at": s.get("startsAt"), "ends_at": s.get("endsAt"),
                     "created_by": s.get("createdBy", ""), "comment": s.get("comment", "")})
    cols = ["id", "state", "matchers", "starts_at", "ends_at", "created_by", "comment"]
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("starts_at", "ends_at"):
        frame[col] = c.to_utc(frame[col].astype(object), col, "silences", allow_missing=True) \
            if len(frame) else pd.Series([], dtype=c.TS_DTYPE)
    for col in ("id", "state", "matchers", "created_by", "comment"):
        frame[col] = c.as_text(frame[col])
    return frame.sort_values("starts_at", ascending=False, kind="stable").reset_index(drop=True)
