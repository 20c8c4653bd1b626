"""Ops metrics: how well is the alerting doing (MTTD, MTTA, MTTR, noise, fatigue)?"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result
from ._incidents import canonical_alerts, fmt_td, frame_of, lenient_utc, utc_timestamps

__all__ = ["ops_metrics", "OpsMetrics"]


def ops_metrics(
    alerts: Any,
    incidents: Any,
    resolutions: Any = None,
    assignments: pd.Series | None = None,
    on_call_hours: float | None = None,
    numbering: Any = None,
) -> OpsMetrics:
    """Alerting quality and response times.

    Parameters
    ----------
    alerts : DataFrame or path
        Canonical alerts; ``acknowledged_at`` / ``resolved_at`` columns give MTTA / MTTR.
    incidents : Correlation, IncidentTruth or DataFrame
        A :class:`~jupyter_ops.aiops.Correlation` (its assignments are used), the ``truth`` of
        a generated scenario, or a frame ``incident_id``, ``start`` (when the fault began: gives
        MTTD) with ``assignments=`` or an ``incident_id`` column in the alerts.
    resolutions : DataFrame, optional
        Per incident: ``incident_id``, ``acknowledged_at``, ``resolved_at`` (overrides the
        alerts' columns).
    assignments : Series, optional
        Incident id of each alert (aligned with ``alerts``), ``<NA>`` for noise.
    on_call_hours : float, optional
        Hours of on-call the alerts cover (default: the span of the alerts).
    numbering : Correlation, optional
        Number the incidents as this correlation of the same alerts does, so a report uses
        one numbering: each incident takes the id of the correlated incident holding most of
        its alerts (its own id stays in ``source_incident``; none when no alert correlated).

    Returns
    -------
    OpsMetrics
        ``.metrics`` (one row per measure: ``metric``, ``value``, ``unit``, ``note``),
        ``.per_incident``, ``.noisy_sources``, plus a chart of alerts per hour.

    Notes
    -----
    MTTD = first alert - fault start (needs incident start times that are not derived from the
    alerts, e.g. the scenario's truth or your incident tracker); MTTA = first acknowledgement -
    first alert; MTTR = last resolution - fault start (or first alert when the start is
    unknown). The false-positive rate is the share of alerts that belong to no incident.
    """
    from ..provenance import make_provenance
    from .correlation import Correlation

    known_start = True
    flapping = None
    if isinstance(incidents, Correlation):
        raw = frame_of(alerts, "alerts", "alerts")
        if len(incidents.alerts) != len(raw) or not incidents.alerts.index.equals(raw.index):
            raise OpsInputError("the alerts differ from those the correlation was made from; "
                                "pass the same alerts (e.g. ops_metrics(alerts, corr))")
        # the correlation holds these alerts canonical already; re-check only a frame that
        # brings columns it lacks (e.g. acknowledged_at added after correlating)
        known_cols = set(incidents.alerts.columns)
        al = incidents.alerts if set(raw.columns) <= known_cols else canonical_alerts(raw)
        assign = incidents.assignments
        inc = incidents.incidents[["incident_id", "start"]].copy()
        known_start = False
        flapping = incidents.dedup.get("flapping_sources")
    elif hasattr(incidents, "incidents") and hasattr(incidents, "alert_incident"):
        al = canonical_alerts(alerts)
        assign = incidents.alert_incident
        inc = incidents.incidents[["incident_id", "start"]].copy()
    else:
        al = canonical_alerts(alerts)
        inc = frame_of(incidents, "incidents", "incidents")
        for col in ("incident_id", "start"):
            if col not in inc.columns:
                raise OpsInputError(f"incidents are missing column {col!r}; columns found: "
                                    f"{', '.join(map(str, inc.columns))}")
        inc = inc[["incident_id", "start"]].copy()
        inc["start"] = utc_timestamps(inc["start"], "incidents", "start")
        if assignments is not None:
            assign = assignments
        elif "incident_id" in al.columns:
            assign = al["incident_id"]
        else:
            raise OpsInputError("which alert belongs to which incident? pass assignments= "
                                "(a Series aligned with the alerts) or an incident_id column")
    if assignments is not None:
        assign = assignments
    if len(assign) != len(al):
        raise OpsInputError(f"assignments have {len(assign)} rows but the alerts have {len(al)}; "
                            "they must be aligned")
    assign = pd.Series(np.asarray(pd.array(assign, dtype="Int64")), index=al.index,
                       dtype="Int64")
    n = len(al)
    ts = al["timestamp"]
    span_h = max((ts.max() - ts.min()).total_seconds() / 3600.0, 1 / 60)
    hours = float(on_call_hours) if on_call_hours else span_h
    in_inc = assign.notna()

    # per incident: detection, acknowledgement, resolution
    grp = al[in_inc.to_numpy()].assign(_id=assign[in_inc].astype("int64").to_numpy())
    per = grp.groupby("_id").agg(detected=("timestamp", "min"), alerts=("timestamp", "size"))
    for col in ("acknowledged_at", "resolved_at"):
        if col in grp.columns:
            v = lenient_utc(grp[col])
            agg = v.groupby(grp["_id"]).min() if col == "acknowledged_at" else \
                v.groupby(grp["_id"]).max()
            per[col] = agg
    per = per.rename_axis("incident_id").reset_index()
    per = inc.merge(per, on="incident_id", how="left")
    if resolutions is not None:
        res = frame_of(resolutions, "resolutions", "resolutions")
        if "incident_id" not in res.columns:
            raise OpsInputError("resolutions are missing column 'incident_id'; columns found: "
                                f"{', '.join(map(str, res.columns))}")
        for col in ("acknowledged_at", "resolved_at"):
            if col in res.columns:
                m = res.set_index("incident_id")[col]
                per[col] = pd.to_datetime(per["incident_id"].map(
                    utc_timestamps(m, "resolutions", col)), utc=True)
    start = per["start"] if known_start else per["detected"]
    per["time_to_detect"] = (per["detected"] - per["start"]).dt.total_seconds() \
        if known_start else np.nan
    per["time_to_acknowledge"] = (per["acknowledged_at"] - per["detected"]).dt.total_seconds() \
        if "acknowledged_at" in per else np.nan
    per["time_to_resolve"] = (per["resolved_at"] - start).dt.total_seconds() \
        if "resolved_at" in per else np.nan
    for col in ("time_to_acknowledge", "time_to_resolve"):
        # an acknowledgement or resolution before the problem began is bad data, not a time
        v = pd.to_numeric(per[col], errors="coerce")
        per[col] = v.where(v >= 0)

    def mean(col: str) -> float:
        v = pd.to_numeric(per[col], errors="coerce").dropna()
        return float(v.mean()) if len(v) else float("nan")

    mttd, mtta, mttr = mean("time_to_detect"), mean("time_to_acknowledge"), mean(
        "time_to_resolve")
    noise = int((~in_inc).sum())
    fp_counts = al["fingerprint"].value_counts()
    repeats = int(n - len(fp_counts))
    if flapping is None:  # only the flags, not a whole correlation
        from .correlation import source_flags

        flap = source_flags(al)[1]
        flapping = int(al.loc[flap, "fingerprint"].nunique()) if n else 0
    n_inc = int(per["detected"].notna().sum())
    rows = [
        ("MTTD", mttd / 60, "min", "mean first alert - fault start" if known_start else
         "n/a: needs fault start times (pass the truth or an incidents frame with start)"),
        ("MTTA", mtta / 60, "min", "mean first acknowledgement - first alert"),
        ("MTTR", mttr / 60, "min", "mean last resolution - " + (
            "fault start" if known_start else "first alert")),
        ("false-positive rate", noise / n if n else 0.0, "share",
         "alerts that belong to no incident"),
        ("alerts per on-call hour", n / hours, "alerts/h", f"{n:,} alerts over {hours:.1f} h"),
        ("incidents per on-call hour", n_inc / hours, "incidents/h", ""),
        ("repeat alerts", repeats / n if n else 0.0, "share",
         "notifications from a source that already fired"),
        ("flapping sources", float(flapping), "sources",
         "fire, resolve within minutes, fire again (3+ times)"),
        ("compression", 1 - n_inc / n if n else 0.0, "share", "1 - incidents / alerts"),
    ]
    table = pd.DataFrame(rows, columns=["metric", "value", "unit", "note"])
    table["value"] = table["value"].astype(float).round(4)
    noisy = al[~in_inc.to_numpy()].groupby(["service", "name"]).size() \
        .sort_values(ascending=False).head(10).rename("alerts").reset_index()
    noisy["share_of_noise"] = (noisy["alerts"] / max(noise, 1)).round(3)
    hourly = pd.DataFrame({"hour": ts.dt.floor("h"),
                           "kind": np.where(in_inc, "in an incident", "noise")}) \
        .groupby(["hour", "kind"]).size().rename("alerts").reset_index()
    if numbering is not None:
        per = _renumber(per, assign, numbering)
    result = OpsMetrics(table, per, noisy, hourly, known_start)
    result.provenance = make_provenance(
        "ops_metrics", {"on_call_hours": on_call_hours, "known_start": known_start,
                        "numbered": numbering is not None},
        inputs={"alerts": al.drop(columns=[c for c in ("labels",) if c in al.columns])})
    return result


def _renumber(per: pd.DataFrame, assign: pd.Series, corr: Any) -> pd.DataFrame:
    """``per`` with the incident ids of ``corr`` (most shared alerts wins; ties: lowest id)."""
    from .correlation import Correlation

    if not isinstance(corr, Correlation):
        raise OpsInputError("numbering= takes a Correlation of the same alerts (from correlate)")
    theirs = corr.assignments
    if not theirs.index.equals(assign.index):
        raise OpsInputError("numbering= must be a correlation of these same alerts")
    both = pd.DataFrame({"own": assign, "theirs": theirs}).dropna()
    best = (both.groupby(["own", "theirs"]).size().rename("n").reset_index()
            .sort_values(["own", "n", "theirs"], ascending=[True, False, True])
            .drop_duplicates("own").set_index("own")["theirs"])
    out = per.rename(columns={"incident_id": "source_incident"})
    out.insert(0, "incident_id", pd.array(out["source_incident"].map(best), dtype="Int64"))
    return out.sort_values(["incident_id", "source_incident"], na_position="last",
                           kind="stable").reset_index(drop=True)


class OpsMetrics(Result):
    """Alerting and response metrics.

    Attributes
    ----------
    metrics : DataFrame
        ``metric``, ``value``, ``unit``, ``note``.
    per_incident : DataFrame
        ``incident_id``, ``start``, ``detected``, ``acknowledged_at``, ``resolved_at``,
        ``alerts``, ``time_to_detect``/``_acknowledge``/``_resolve`` (seconds).
    noisy_sources : DataFrame
        The services/alert names that produce most of the noise.
    """

    kind = "ops_metrics"

    def __init__(self, metrics: pd.DataFrame, per_incident: pd.DataFrame,
                 noisy: pd.DataFrame, hourly: pd.DataFrame, known_start: bool) -> None:
        super().__init__()
        self.metrics = metrics
        self.per_incident = per_incident
        self.noisy_sources = noisy
        self._hourly = hourly
        self.known_start = known_start

    def value(self, name: str) -> float:
        """One metric by name, e.g. ``value("MTTA")`` (minutes for MTT*)."""
        row = self.metrics[self.metrics["metric"].str.lower() == name.lower()]
        if row.empty:
            raise KeyError(f"no metric {name!r}; metrics: {', '.join(self.metrics['metric'])}")
        return float(row["value"].iloc[0])

    @property
    def title(self) -> str:
        return "Ops metrics"

    def summary(self) -> str:
        def m(name: str) -> str:
            v = self.value(name)
            return "n/a" if not np.isfinite(v) else fmt_td(v * 60)
        return (f"MTTD {m('MTTD')}, MTTA {m('MTTA')}, MTTR {m('MTTR')}; "
                f"{self.value('false-positive rate'):.0%} of alerts are noise, "
                f"{self.value('alerts per on-call hour'):.1f} alerts per on-call hour")

    def figures(self) -> list[dict[str, Any]]:
        out = []
        for name in ("MTTD", "MTTA", "MTTR"):
            v = self.value(name)
            out.append({"label": name, "value": fmt_td(v * 60) if np.isfinite(v) else "n/a"})
        fpr = self.value("false-positive rate")
        out.append({"label": "false-positive rate", "value": round(fpr, 3),
                    "status": "ok" if fpr < 0.2 else "warn" if fpr < 0.5 else "bad"})
        out.append({"label": "alerts / on-call hour",
                    "value": round(self.value("alerts per on-call hour"), 1)})
        out.append({"label": "compression", "value": round(self.value("compression"), 3)})
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        per = self.per_incident.copy()
        for c in ("time_to_detect", "time_to_acknowledge", "time_to_resolve"):
            if c in per:
                per[c] = [fmt_td(v) if pd.notna(v) else "" for v in per[c]]
        return {"metrics": self.metrics, "per_incident": per,
                "noisy_sources": self.noisy_sources}

    def charts(self) -> dict[str, Any]:
        import altair as alt

        if not len(self._hourly):
            return {}
        d = self._hourly.assign(hour=self._hourly["hour"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        chart = alt.Chart(d).mark_bar().encode(
            x=alt.X("hour:T", title="hour (UTC)"), y=alt.Y("alerts:Q", title="alerts"),
            color=alt.Color("kind:N", title=None,
                            scale=alt.Scale(domain=["in an incident", "noise"],
                                            range=["#cf222e", "#8c959f"])),
            tooltip=["hour:T", "kind:N", "alerts:Q"],
        ).properties(width=640, height=180)
        return {"alerts_per_hour": chart}
