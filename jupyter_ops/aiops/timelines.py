"""Incident timelines: what happened in what order, across alerts, logs, anomalies and changes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result
from ._incidents import (
    canonical_alerts,
    fmt_td,
    frame_of,
    lenient_utc,
    to_timedelta,
    utc_timestamps,
)

__all__ = ["timeline", "Timeline"]

#: canonical log levels (:data:`jupyter_ops.io.LOG_LEVELS`) that make it onto a timeline
SHOWN_LEVELS = ("fatal", "error", "warning")
MAX_MARKS = 3000


def timeline(
    incident: Any,
    alerts: Any = None,
    logs: Any = None,
    anomalies: Any = None,
    deploys: Any = None,
    incident_id: int | None = None,
    margin: str | pd.Timedelta = "15min",
    services: list[str] | None = None,
) -> Timeline:
    """Order the events of one incident across sources.

    Parameters
    ----------
    incident : Incident, Correlation or DataFrame
        An :class:`~jupyter_ops.aiops.Incident`, a Correlation with ``incident_id=``, or the
        alerts of one incident.
    alerts : DataFrame, optional
        More alerts to place on the timeline (e.g. all alerts, to see the noise around it);
        only those of the incident's services inside the window are kept.
    logs : DataFrame, optional
        Canonical logs; warning/error lines of the incident's services are kept.
    anomalies : AnomalyResult or DataFrame, optional
        Anomaly episodes (``service``, ``onset``, ``metric``...).
    deploys : DataFrame, optional
        Change events (``timestamp``, ``service``, ``kind``, ``description``).
    incident_id : int, optional
        Which incident of a Correlation.
    margin : str
        How far before the first and after the last alert to look.
    services : list of str, optional
        Services to show (default: the incident's services).

    Returns
    -------
    Timeline
        ``.events`` (collapsed: repeats of one source are one event with a ``count``), a
        swimlane chart per service (binned counts per source).
    """
    from ..provenance import make_provenance
    from .correlation import Correlation, Incident

    mg = to_timedelta(margin, "margin")
    if isinstance(incident, Correlation):
        if incident_id is None:
            raise OpsInputError("timeline(correlation) needs incident_id=, e.g. "
                                "timeline(corr, incident_id=1)")
        inc = incident.incident(int(incident_id))
    elif isinstance(incident, Incident):
        inc = incident
    else:
        al = canonical_alerts(incident, "incident alerts").sort_values("timestamp", kind="stable")
        inc = Incident(1, al, al["timestamp"].min(), al["timestamp"].max(),
                       tuple(dict.fromkeys(al["service"])), "incident", "unknown")
    svcs = list(services) if services else list(inc.services)
    lo, hi = inc.start - mg, inc.end + mg
    raw: list[pd.DataFrame] = []   # one row per raw event (for the chart)
    events: list[pd.DataFrame] = []  # collapsed (for the table)
    used: dict[str, pd.DataFrame] = {}  # rows of each optional input that were shown

    al = inc.alerts
    if alerts is not None:
        extra = canonical_alerts(alerts, "alerts")
        extra = extra[extra["service"].isin(svcs) & (extra["timestamp"] >= lo)
                      & (extra["timestamp"] <= hi)]
        al = pd.concat([al, extra[~extra.index.isin(al.index)]]) if len(extra) else al
    if len(al):
        in_inc = al.index.isin(inc.alerts.index)
        raw.append(pd.DataFrame({"timestamp": al["timestamp"], "service": al["service"],
                                 "source": np.where(in_inc, "alert", "other alert")}))
        g = al.assign(_in=in_inc).groupby(["fingerprint"], sort=False)
        first = g.head(1).set_index("fingerprint")
        cnt = g.size()
        last = g["timestamp"].max()
        ev = pd.DataFrame({
            "timestamp": first["timestamp"], "service": first["service"],
            "source": np.where(first["_in"], "alert", "other alert"),
            "kind": first["name"], "severity": first["severity"],
            "text": first["message"], "count": cnt.reindex(first.index).to_numpy(),
            "until": last.reindex(first.index).to_numpy(),
        }).reset_index(drop=True)
        events.append(ev)
        for col, label in (("acknowledged_at", "acknowledged"), ("resolved_at", "resolved")):
            if col in inc.alerts.columns:
                t = lenient_utc(inc.alerts[col])
                if t.notna().any():
                    i = t.idxmin() if label == "acknowledged" else t.idxmax()
                    events.append(pd.DataFrame({
                        "timestamp": [t[i]], "service": [inc.alerts.at[i, "service"]],
                        "source": ["response"], "kind": [label], "severity": [""],
                        "text": [f"incident {label} ({inc.alerts.at[i, 'name']})"],
                        "count": [1], "until": [t[i]]}))
    if logs is not None:
        lg = frame_of(logs, "logs", "logs")
        for col in ("timestamp", "service", "message"):
            if col not in lg.columns:
                raise OpsInputError(f"logs are missing column {col!r}; columns found: "
                                    f"{', '.join(map(str, lg.columns))}")
        lg = lg[lg["service"].astype(str).isin(svcs)]
        lg = lg.assign(timestamp=utc_timestamps(lg["timestamp"], "logs"))
        lg = lg[(lg["timestamp"] >= lo) & (lg["timestamp"] <= hi)]
        if "level" in lg.columns:
            from .. import io

            # any spelling the loaders know (WARN, E, err...); fatal is the alerts' critical
            canon = io.normalize_level(lg["level"])
            shown = canon.isin(SHOWN_LEVELS).to_numpy()
            lg = lg[shown]
            sev: Any = canon[shown].replace("fatal", "critical").to_numpy()
        else:
            sev = "log"
        used["logs"] = lg
        if len(lg):
            from ..io._common import as_text

            # missing text as "" on pandas 2 and 3 alike (astype(str) writes "nan" on pandas 2,
            # keeps NaN on pandas 3, where the group key below then dropped the line)
            level = as_text(lg["level"]).str.upper() if "level" in lg.columns else "LOG"
            raw.append(pd.DataFrame({"timestamp": lg["timestamp"], "service": lg["service"],
                                     "source": "log"}))
            key = lg["service"].astype(str) + "\x00" + as_text(lg["message"]).str.replace(
                r"\d+", "#", regex=True)
            g = lg.assign(_k=key, _lvl=level, _sev=sev).groupby("_k", sort=False)
            first = g.head(1).set_index("_k")
            events.append(pd.DataFrame({
                "timestamp": first["timestamp"], "service": first["service"].astype(str),
                "source": "log", "kind": first["_lvl"], "severity": first["_sev"],
                "text": as_text(first["message"]).str.slice(0, 300),
                "count": g.size().reindex(first.index).to_numpy(),
                "until": g["timestamp"].max().reindex(first.index).to_numpy(),
            }).reset_index(drop=True))
    if anomalies is not None:
        from .rootcause import _episodes

        ep = _episodes(anomalies)
        ep = ep[ep["service"].isin(svcs) & (ep["end"] >= lo) & (ep["onset"] <= hi)]
        used["anomalies"] = ep
        if len(ep):
            _one_per_row(raw, events, ep["onset"], ep["service"], "anomaly",
                         ep["metric"].astype(str),
                         [f"{m} anomalous until {e:%H:%M} (peak score {p:.1f})" for m, e, p in
                          zip(ep["metric"], ep["end"], ep["peak_score"], strict=False)],
                         ep["end"])
    if deploys is not None:
        from .rootcause import _deploys

        dp = _deploys(deploys)
        dlo = lo - pd.Timedelta("45min")  # changes shortly before matter most
        dp = dp[dp["service"].isin(svcs) & (dp["timestamp"] >= dlo) & (dp["timestamp"] <= hi)]
        used["deploys"] = dp
        if len(dp):
            from ..io._common import as_text

            _one_per_row(raw, events, dp["timestamp"], dp["service"], "change",
                         as_text(dp["kind"], "change") if "kind" in dp.columns else "change",
                         as_text(dp["description"]) if "description" in dp.columns else "",
                         dp["timestamp"])
    cols = ["timestamp", "service", "source", "kind", "severity", "text", "count", "until"]
    ev = pd.concat(events, ignore_index=True) if events else pd.DataFrame(columns=cols)
    ev = ev[cols]
    if len(ev):
        ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True)
        ev["until"] = pd.to_datetime(ev["until"], utc=True)
        ev = ev.sort_values(["timestamp", "service"], kind="stable").reset_index(drop=True)
        ev["t"] = [fmt_td(x) if x >= 0 else "-" + fmt_td(-x)
                   for x in (ev["timestamp"] - inc.start).dt.total_seconds()]
        ev["count"] = ev["count"].astype("int64")
    rw = pd.concat(raw, ignore_index=True) if raw else pd.DataFrame(
        columns=["timestamp", "service", "source"])
    result = Timeline(inc, ev, rw)
    result.provenance = make_provenance(
        "timeline", {"incident_id": inc.incident_id, "margin": str(mg), "services": svcs},
        # hashes of the rows that made it onto the timeline (the whole logs may be large)
        inputs={"incident_alerts": inc.alerts.drop(columns=[c for c in ("labels",)
                                                            if c in inc.alerts.columns]),
                **used})
    return result


class Timeline(Result):
    """The ordered events of one incident and a swimlane chart per service.

    Attributes
    ----------
    incident : Incident
    events : DataFrame
        ``timestamp``, ``service``, ``source`` (alert, other alert, log, anomaly, change,
        response), ``kind``, ``severity``, ``text``, ``count`` (repeats collapsed),
        ``until`` (last repeat), ``t`` (offset from the incident's first alert).
    """

    kind = "timeline"

    def __init__(self, incident: Any, events: pd.DataFrame, raw: pd.DataFrame) -> None:
        super().__init__()
        self.incident = incident
        self.events = events
        self._raw = raw

    @property
    def title(self) -> str:
        return f"Timeline of incident {self.incident.incident_id}"

    def summary(self) -> str:
        inc = self.incident
        src = self.events["source"].value_counts().to_dict() if len(self.events) else {}
        parts = ", ".join(f"{v} {k}" for k, v in src.items())
        return (f"{inc.title}: {fmt_td((inc.end - inc.start).total_seconds())} from first to "
                f"last alert across {len(inc.services)} service(s); events: {parts or 'none'}")

    def figures(self) -> list[dict[str, Any]]:
        inc = self.incident
        return [{"label": "start", "value": f"{inc.start:%Y-%m-%d %H:%M:%S}"},
                {"label": "duration", "value": fmt_td((inc.end - inc.start).total_seconds())},
                {"label": "services", "value": len(inc.services)},
                {"label": "events", "value": len(self.events)}]

    def tables(self) -> dict[str, pd.DataFrame]:
        if not len(self.events):
            return {"events": self.events}
        return {"events": self.events[["t", "timestamp", "service", "source", "kind",
                                       "severity", "count", "text"]]}

    def chart_data(self, max_marks: int = MAX_MARKS) -> pd.DataFrame:
        """Events per time bin, service and source (bins widen until marks <= max_marks).

        With more (service, source) pairs than ``max_marks``, one bin spans the whole
        incident and the ``max_marks`` busiest pairs are kept.
        """
        r = self._raw
        if not len(r):
            return pd.DataFrame(columns=["time", "service", "source", "events"])
        ts = pd.to_datetime(r["timestamp"], utc=True)
        span = max((ts.max() - ts.min()).total_seconds(), 60.0)
        step = max(60, int(np.ceil(span / 120 / 60)) * 60)
        while True:
            b = ts.dt.floor(f"{step}s")
            d = pd.DataFrame({"time": b, "service": r["service"].astype(str),
                              "source": r["source"].astype(str)})
            out = d.groupby(["time", "service", "source"], sort=True).size() \
                .reset_index(name="events")
            if len(out) <= max_marks:
                return out
            if step > span:  # bins as wide as the incident: one bin, the busiest pairs
                out = d.assign(time=b.min()).groupby(["time", "service", "source"]).size() \
                    .reset_index(name="events")
                return out.nlargest(max_marks, "events", keep="first") \
                    .sort_values(["time", "service", "source"]).reset_index(drop=True)
            step *= 2

    def charts(self) -> dict[str, Any]:
        import altair as alt

        data = self.chart_data()
        if not len(data):
            return {}
        data = data.assign(time=data["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        order = list(self.incident.services)
        order += [s for s in data["service"].unique() if s not in order]
        chart = alt.Chart(data).mark_circle(opacity=0.8).encode(
            x=alt.X("time:T", title="time (UTC)"),
            y=alt.Y("service:N", sort=order, title=None),
            color=alt.Color("source:N", title="source"),
            size=alt.Size("events:Q", title="events", scale=alt.Scale(range=[20, 400])),
            tooltip=["time:T", "service:N", "source:N", "events:Q"],
        ).properties(width=640, height=max(80, 28 * len(order)))
        return {"swimlanes": chart}


def _one_per_row(raw: list, events: list, ts: Any, svc: Any, source: str, kind: Any,
                 text: Any, until: Any) -> None:
    """Events shown one per row (anomaly onsets, changes): the swimlane marks and the rows."""
    raw.append(pd.DataFrame({"timestamp": ts, "service": svc, "source": source}))
    events.append(pd.DataFrame({"timestamp": ts, "service": svc, "source": source, "kind": kind,
                                "severity": "", "text": text, "count": 1, "until": until}))
