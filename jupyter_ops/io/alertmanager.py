"""Alertmanager webhook payloads and API v2 alert lists -> rows for the canonical alerts frame."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import OpsInputError
from .canonical import label_fingerprint

__all__ = ["from_alertmanager"]

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
