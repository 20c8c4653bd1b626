"""The result of alert correlation: :class:`Correlation` (incidents, assignments, explanations,
report parts) and :class:`Incident` (what RCA, timelines and runbooks take)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result
from ._corr_flags import _time_order
from ._corr_link import (
    R_ABSENT,
    R_DUP,
    R_FP,
    R_LABEL,
    R_NEIGH,
    R_SAME,
    R_SIM,
    R_TIME,
    _State,
    label_value,
)
from ._corr_similarity import _TOKEN, jaccard, template, tokens
from ._incidents import SEVERITY_BY_RANK, SEVERITY_RANK, fmt_td, from_ns, to_ns


@dataclass
class Incident:
    """One incident of a :class:`Correlation` (what RCA, timelines and runbooks take).

    Attributes
    ----------
    incident_id : int
    alerts : DataFrame
        Its alerts (canonical columns, time order, the input index).
    start, end : Timestamp
        First and last alert.
    services : tuple of str
        Services in order of their first alert.
    title : str
    max_severity : str
    topology : DataFrame or None
        The topology the correlation used.
    """

    incident_id: int
    alerts: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    services: tuple
    title: str
    max_severity: str
    topology: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (f"Incident({self.incident_id}: {self.title!r}, {len(self.alerts)} alerts, "
                f"{self.start:%Y-%m-%d %H:%M} - {self.end:%H:%M})")


class Correlation(Result):
    """Alerts grouped into incidents.

    Attributes
    ----------
    alerts : DataFrame
        The canonical alerts (input order and index).
    incidents : DataFrame
        One row per incident: ``incident_id``, ``start``, ``end``, ``duration``, ``services``
        (in order of first alert), ``n_services``, ``alerts``, ``sources`` (distinct
        fingerprints), ``max_severity``, ``title``.
    assignments : Series
        Aligned with the input: the incident id of each alert (``Int64``), ``<NA>`` for noise.
    compression : float
        ``1 - incidents / alerts``.
    dedup : dict
        ``alerts``, ``exact_duplicates``, ``repeats`` (same source while still firing),
        ``sources`` (distinct fingerprints), ``flapping_alerts``, ``flapping_sources``,
        ``noise_alerts``.
    topology : DataFrame or None
    params : dict
    provenance : dict
        Set by :func:`correlate` / :meth:`AlertCorrelator.result` at call time (input hashes
        describe the alerts as they were then).
    """

    kind = "correlation"

    def __init__(self, alerts: pd.DataFrame, topology: pd.DataFrame | None, state: _State,
                 params: dict[str, Any]) -> None:
        super().__init__()
        self.alerts = alerts
        self.topology = topology
        self.params = params
        self._s = state
        ids = state.component
        self.assignments = pd.Series(pd.arrays.IntegerArray(ids.astype(np.int64), ids == 0),
                                     index=alerts.index, name="incident_id")
        self.incidents = self._incident_table()
        n = len(alerts)
        self.compression = 1.0 - len(self.incidents) / n if n else 0.0
        fp_repeat = int(((state.reason == R_FP)).sum())
        fp_c, fp_u = self._factorized("fingerprint")
        self.dedup = {
            "alerts": n,
            "exact_duplicates": int(state.duplicate.sum()),
            "repeats": fp_repeat,
            "sources": int(len(fp_u)),
            "flapping_alerts": int(state.flapping.sum()),
            "flapping_sources": int(len(np.unique(fp_c[state.flapping & (fp_c >= 0)]))),
            "noise_alerts": int((ids == 0).sum()),
        }

    def _factorized(self, col: str) -> tuple[np.ndarray, Any]:
        """``pd.factorize`` of an alerts column, shared with the linking step."""
        cache = self._s.codes
        if col not in cache:
            cache[col] = pd.factorize(self.alerts[col])
        return cache[col]

    def _incident_table(self) -> pd.DataFrame:
        a = self.alerts
        ids = self._s.component
        cols = ["incident_id", "start", "end", "duration", "services", "n_services", "alerts",
                "sources", "max_severity", "title"]
        if not (ids > 0).any():
            return pd.DataFrame({c: [] for c in cols})
        # integer codes in time order (ties: input order) only: a million alerts stay fast
        ts_all = to_ns(a["timestamp"])
        o = _time_order(ts_all)
        o = o[ids[o] > 0]
        iid = ids[o]
        ts = ts_all[o]
        svc_c, svc_u = self._factorized("service")
        name_c, name_u = self._factorized("name")
        fp_c, fp_u = self._factorized("fingerprint")
        sev_c, sev_u = self._factorized("severity")
        sev = np.array([SEVERITY_RANK.get(str(u), 0) for u in sev_u] + [0],
                       dtype=np.int64)[sev_c][o]
        svc, name = svc_c[o].astype(np.int64), name_c[o]
        k = int(iid.max())
        start = np.full(k + 1, np.iinfo(np.int64).max)
        np.minimum.at(start, iid, ts)
        end = np.full(k + 1, np.iinfo(np.int64).min)
        np.maximum.at(end, iid, ts)
        count = np.bincount(iid, minlength=k + 1)
        maxsev = np.zeros(k + 1, dtype=np.int64)
        np.maximum.at(maxsev, iid, sev)
        nf = len(fp_u) + 1
        pairs = pd.unique(iid * nf + fp_c[o].astype(np.int64))  # distinct (incident, source)
        sources = np.bincount(pairs // nf, minlength=k + 1)
        # services in order of their first alert (ties: service code, as a sort would give)
        ns = len(svc_u) + 1
        pair = iid * ns + svc
        if (k + 1) * ns <= 4 * len(o) + 1_000_000:  # dense table, no hashing
            at = np.full((k + 1) * ns, len(o), dtype=np.int64)
            np.minimum.at(at, pair, np.arange(len(o)))
            first = np.zeros(len(o), dtype=bool)
            first[at[at < len(o)]] = True
        else:
            first = ~pd.Series(pair).duplicated().to_numpy()
        fi, fs, ft = iid[first], svc[first], ts[first]
        o2 = np.lexsort((fs, ft, fi))
        fi, fs = fi[o2], fs[o2]
        cut = np.flatnonzero(np.diff(fi)) + 1
        svc_names = np.asarray(svc_u, dtype=object)
        groups = np.split(svc_names[fs], cut)
        gid = fi[np.concatenate([[0], cut])] if len(fi) else fi
        services = np.empty(k + 1, dtype=object)
        for g_id, g in zip(gid, groups, strict=False):
            services[g_id] = tuple(g)
        # the title names the first alert of the highest severity
        top = np.flatnonzero(sev == maxsev[iid])
        h = np.full(k + 1, len(o), dtype=np.int64)
        np.minimum.at(h, iid[top], top)
        h = h[h < len(o)]  # ids run 1..k
        hname = np.empty(k + 1, dtype=object)
        hsvc = np.empty(k + 1, dtype=object)
        hname[iid[h]] = np.asarray(name_u, dtype=object)[name[h]]
        hsvc[iid[h]] = svc_names[svc[h]]
        rng = np.arange(1, k + 1)
        nsv = np.array([len(x) for x in services[1:]], dtype=np.int64)
        out = pd.DataFrame({
            "incident_id": rng.astype(np.int64),
            "start": from_ns(start[1:]), "end": from_ns(end[1:]),
        })
        out["duration"] = out["end"] - out["start"]
        out["services"] = pd.Series(list(services[1:]), dtype=object)
        out["n_services"] = nsv
        out["alerts"] = count[1:].astype(np.int64)
        out["sources"] = sources[1:].astype(np.int64)
        out["max_severity"] = pd.Series(np.asarray(SEVERITY_BY_RANK, dtype=object)[maxsev[1:]],
                                        dtype=object).astype(str)
        out["title"] = pd.Series([
            f"{n} on {sv}" + (f" (+{m - 1} service{'s' if m > 2 else ''})" if m > 1 else "")
            for n, sv, m in zip(hname[1:], hsvc[1:], nsv, strict=False)], dtype=object).astype(str)
        return out[cols]

    # -- access ------------------------------------------------------------------------
    def incident(self, incident_id: int) -> Incident:
        """One incident with its alerts (for :func:`rank_root_causes`, :func:`timeline`)."""
        row = self._row(incident_id)
        mask = (self._s.component == int(incident_id))
        alerts = self.alerts[mask].sort_values("timestamp", kind="stable")
        return Incident(int(incident_id), alerts, row["start"], row["end"],
                        tuple(row["services"]), str(row["title"]), str(row["max_severity"]),
                        self.topology)

    def _row(self, incident_id: Any) -> pd.Series:
        try:
            iid = int(incident_id)
        except (TypeError, ValueError):
            raise OpsInputError(f"incident id must be a number, got {incident_id!r}")
        rows = self.incidents[self.incidents["incident_id"] == iid]
        if rows.empty:
            raise OpsInputError(f"no incident {iid}; incident ids run from 1 to "
                                f"{len(self.incidents)}")
        return rows.iloc[0]

    def explain(self, incident_id: int, max_rows: int = 500) -> pd.DataFrame:
        """Why each alert of an incident joined it: one row per alert, in time order.

        Columns: ``alert`` (input index), ``timestamp``, ``service``, ``name``, ``severity``,
        ``joined`` (input index of the alert it was linked to, ``<NA>`` for the first),
        ``reason`` (in words).
        """
        self._row(incident_id)
        s = self._s
        pos = np.flatnonzero(s.component == int(incident_id))
        a = self.alerts
        ts = from_ns(to_ns(a["timestamp"]))
        pos = pos[np.argsort(ts[pos], kind="stable")][:max_rows]
        idx = a.index
        svc = a["service"].to_numpy()
        rows = []
        for k, p in enumerate(pos):
            r, q = int(s.reason[p]), int(s.parent[p])
            cut = q >= 0 and s.component[q] != s.component[p]
            if cut:  # its link crossed a max_span cut (or joined noise): first of this piece
                reason = (f"first alert of the incident: it links to alert {idx[q]}, but "
                          f"incidents are cut at max_span={self.params.get('max_span')} "
                          "so a steady stream does not chain into one incident"
                          if s.linked is not None and s.linked[q] == s.linked[p]
                          else "first alert of the incident")
                q = -1
            else:
                reason = self._reason(p, r, q)
            if q < 0 and k > 0 and not cut:
                reason = ("no earlier alert matched it; later alerts link it to this incident"
                          + reason[len("first alert of the incident"):])
            rows.append({
                "alert": idx[p], "timestamp": ts[p], "service": svc[p],
                "name": a["name"].iat[p], "severity": a["severity"].iat[p],
                "joined": idx[q] if q >= 0 else None,
                "reason": reason,
            })
        out = pd.DataFrame(rows)
        out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
        out["joined"] = out["joined"].astype("object")
        return out

    def explain_text(self, incident_id: int, max_lines: int = 60) -> str:
        """:meth:`explain` as plain text lines."""
        ex = self.explain(incident_id, max_rows=max_lines)
        row = self._row(incident_id)
        lines = [f"incident {int(incident_id)}: {row['title']} ({row['alerts']} alerts, "
                 f"{row['n_services']} services)"]
        for r in ex.itertuples():
            lines.append(f"- {r.timestamp:%H:%M:%S} {r.service} {r.name} [{r.severity}]: "
                         f"{r.reason}")
        if row["alerts"] > max_lines:
            lines.append(f"... {row['alerts'] - max_lines} more alerts")
        return "\n".join(lines)

    def _reason(self, p: int, r: int, q: int) -> str:
        a = self.alerts
        idx = a.index
        graph = self._s.graph
        svc = a["service"].iat[p]
        absent = self.topology is not None and not graph.in_topology[graph.code[svc]]
        note = f"; service {svc!r} is not in the topology, so only time and labels group it" \
            if absent else ""
        if q < 0:
            return "first alert of the incident" + note
        dt = (a["timestamp"].iat[p] - a["timestamp"].iat[q]).total_seconds()
        other = f"alert {idx[q]}"
        qsvc = a["service"].iat[q]
        if r == R_DUP:
            return f"exact duplicate of {other} (same fingerprint and time)" + note
        if r == R_FP:
            return (f"same fingerprint as {other} ({a['name'].iat[q]} on {qsvc}), still firing, "
                    f"{fmt_td(dt)} later") + note
        if r == R_SAME:
            return f"within {fmt_td(dt)} of {other} on the same service {qsvc}" + note
        if r == R_NEIGH:
            hop = int(self._s.aux[p])
            rel = self._relation(svc, qsvc) if hop == 1 else f"{hop} calls apart"
            return (f"within {fmt_td(dt)} of {other} on neighbouring service {qsvc} "
                    f"({rel})") + note
        if r == R_LABEL:
            key = self._s.by[int(self._s.aux[p])]
            val = a[key].iat[p] if key in a.columns else label_value(a["labels"].iat[p], key)
            return f"shared label {key}={val} with {other} on {qsvc}, {fmt_td(dt)} later" + note
        if r == R_SIM:
            drop = frozenset(w for s in graph.names for w in _TOKEN.findall(s.lower()))
            ta = tokens(f"{a['name'].iat[p]} {template(a['message'].iat[p])}", drop)
            tb = tokens(f"{a['name'].iat[q]} {template(a['message'].iat[q])}", drop)
            return (f"message similar to {other} on {qsvc} (token Jaccard "
                    f"{jaccard(ta, tb):.2f}), {fmt_td(dt)} later") + note
        if r == R_TIME:
            return f"within {fmt_td(dt)} of {other} on {qsvc} (no topology given: time only)"
        if r == R_ABSENT:
            return (f"within {fmt_td(dt)} of {other} on {qsvc}: service {svc!r} is not in the "
                    "topology, so time alone links it")
        return "linked"  # pragma: no cover

    def _relation(self, a: str, b: str) -> str:
        t = self.topology
        if t is None:
            return "neighbours"
        if ((t["caller"] == a) & (t["callee"] == b)).any():
            return f"{a} calls {b}"
        if ((t["caller"] == b) & (t["callee"] == a)).any():
            return f"{b} calls {a}"
        return "neighbours"  # pragma: no cover

    # -- Result ------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return "Alert correlation"

    def summary(self) -> str:
        n = len(self.alerts)
        return (f"{n:,} alerts -> {len(self.incidents):,} incidents "
                f"({self.compression:.1%} compression); {self.dedup['noise_alerts']:,} alerts "
                f"left as noise, {self.dedup['exact_duplicates']:,} exact duplicates")

    def figures(self) -> list[dict[str, Any]]:
        d = self.dedup
        return [
            {"label": "alerts", "value": d["alerts"]},
            {"label": "incidents", "value": len(self.incidents)},
            {"label": "compression", "value": round(self.compression, 4),
             "status": "ok" if self.compression >= 0.9 else "warn"},
            {"label": "noise alerts", "value": d["noise_alerts"],
             "hint": "flapping sources and lone low-severity alerts"},
            {"label": "duplicates", "value": d["exact_duplicates"]},
            {"label": "flapping sources", "value": d["flapping_sources"],
             "status": "warn" if d["flapping_sources"] else "ok"},
        ]

    def tables(self) -> dict[str, pd.DataFrame]:
        inc = self.incidents.copy()
        inc["services"] = inc["services"].map(lambda s: ", ".join(s))
        inc["duration"] = inc["duration"].map(lambda d: fmt_td(d.total_seconds()))
        return {"incidents": inc}

    def explanations(self) -> list[tuple[str, str]]:
        p = self.params
        rules = (
            f"Alerts were linked when: the same source re-fired while still firing; an alert "
            f"on the same service or a service within {p['hops']} call(s) fired at most "
            f"{p['window']} earlier" + ("" if p["topology"] else " (no topology: any service)")
            + (f"; they share label(s) {', '.join(p['by'])}" if p["by"] else "")
            + (f"; their messages are similar (token Jaccard >= {p['similarity']}) within "
               f"{p['similarity_window']}" if p["similarity"] else "")
            + f". Linked groups are incidents, except lone sources below {p['min_severity']} "
            "and flapping sources (noise)"
            + (f"; a group lasting longer than {p['max_span']} is cut into pieces of "
               f"{p['max_span']} (a steady stream must not chain into one incident)."
               if p.get("max_span") else "; no cap on an incident's span."))
        out = [("How alerts were grouped", rules)]
        for iid in self.incidents["incident_id"].head(3):
            out.append((f"Why incident {iid}", self.explain_text(int(iid), max_lines=15)))
        return out

    def chart_data(self, max_incidents: int = 8, bins: int = 96) -> pd.DataFrame:
        """Alerts per time bin and incident (top incidents by size; the rest grouped)."""
        a = self.alerts
        ts = a["timestamp"]
        lo, hi = ts.min(), ts.max()
        span = max((hi - lo).total_seconds(), 60.0)
        step = pd.Timedelta(seconds=max(60, int(np.ceil(span / bins / 60.0)) * 60))
        binned = ts.dt.floor(step)
        top = set(self.incidents.nlargest(max_incidents, "alerts")["incident_id"])
        ids = self._s.component
        label = np.where(ids == 0, "noise", "other incidents").astype(object)
        for iid in top:
            label[ids == iid] = f"#{iid}"
        d = pd.DataFrame({"time": binned.to_numpy(), "group": label})
        out = d.groupby(["time", "group"], sort=True).size().reset_index(name="alerts")
        out["time"] = pd.to_datetime(out["time"], utc=True)
        return out

    def charts(self) -> dict[str, Any]:
        import altair as alt

        if not len(self.alerts):
            return {}
        data = self.chart_data()
        data["time"] = data["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        chart = alt.Chart(data).mark_bar().encode(
            x=alt.X("time:T", title="time (UTC)"),
            y=alt.Y("alerts:Q", title="alerts"),
            color=alt.Color("group:N", title="incident"),
            tooltip=["time:T", "group:N", "alerts:Q"],
        ).properties(width=640, height=200)
        return {"alerts_by_incident": chart}
