"""Root-cause ranking: which service most likely started each incident.

Method (documented in docs/incidents.md), a small combination of published ideas:

* **random walk on the dependency graph** -- a personalised PageRank over the incident's
  services, as in MicroRCA (Wu et al., NOMS 2020) and the CloudRanger/MicroCause family (Wang et
  al. 2018; Meng et al. 2020): a walker moves from a symptomatic service *towards what it
  calls* (forward edge caller -> callee, weighted by the callee's anomaly evidence), may step
  back with a small weight (rho = 0.1), and stays on a service that is more anomalous than all
  of its callees (self loop). Teleports go to services in proportion to their evidence. The
  stationary mass piles up on the most-downstream anomalous service;
* **first onset** -- faults propagate upstream with delays, so the service whose first
  significant alert (severity >= error) or metric anomaly came first is favoured (exponential
  decay, tau = 2 minutes, of the lag behind the earliest onset);
* **change proximity** -- a deploy or config change of the service within ``deploy_window``
  before the incident adds evidence (linear decay).

``score = 0.45 * walk + 0.35 * onset + 0.20 * change`` (walk normalised to its maximum). Every
row comes with the evidence in words, so a responder can check it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result
from ._incidents import (
    SEVERITY_RANK,
    canonical_alerts,
    canonical_topology,
    fmt_td,
    frame_of,
    to_timedelta,
    utc_timestamps,
)

__all__ = ["rank_root_causes", "RootCauses"]

W_WALK, W_ONSET, W_CHANGE = 0.45, 0.35, 0.20
RHO = 0.1        # weight of a backward step (callee -> caller)
ALPHA = 0.15     # teleport probability of the random walk
TAU = 120.0      # seconds: onset lag at which the onset score falls to 1/e
_SEV_WEIGHT = {"critical": 1.0, "error": 0.75, "warning": 0.4, "info": 0.2, "unknown": 0.3}


def rank_root_causes(
    correlation_or_incident: Any,
    metrics: Any = None,
    anomalies: Any = None,
    topology: Any = None,
    deploys: Any = None,
    incidents: list[int] | None = None,
    top: int | None = 5,
    deploy_window: str | pd.Timedelta = "30min",
    lookback: str | pd.Timedelta = "15min",
) -> pd.DataFrame:
    """Rank the candidate root-cause services of each incident.

    Parameters
    ----------
    correlation_or_incident : Correlation, Incident or DataFrame
        A :class:`~jupyter_ops.aiops.Correlation` (all its incidents, or ``incidents=``), one
        :class:`~jupyter_ops.aiops.Incident`, or the alerts of a single incident.
    metrics : DataFrame or path, optional
        Long-form metrics; when ``anomalies`` is not given, anomalies are found with
        :func:`jupyter_ops.aiops.detect_anomalies` (default configuration).
    anomalies : AnomalyResult or DataFrame, optional
        Anomaly episodes (``service``, ``onset``, optional ``end``, ``metric``,
        ``peak_score``) or point anomalies (``timestamp``, ``service``, ``is_anomaly``).
    topology : DataFrame or path, optional
        ``caller``, ``callee``; defaults to the correlation's topology.
    deploys : DataFrame or path, optional
        Change events: ``timestamp``, ``service`` (``kind``, ``description`` shown if present).
    incidents : list of int, optional
        Only these incident ids.
    top : int or None
        Candidates kept per incident (None: all).
    deploy_window : str
        How long before an incident a change still counts.
    lookback : str
        How long before an incident's first alert anomalies still count.

    Returns
    -------
    DataFrame
        ``incident_id``, ``rank`` (1 = most likely), ``service``, ``score``, ``evidence``,
        then ``onset``, ``walk``, ``onset_score``, ``change_score``, ``alerts``,
        ``anomalous_metrics``.
    """
    from .correlation import Correlation, Incident

    dw = to_timedelta(deploy_window, "deploy_window")
    lb = to_timedelta(lookback, "lookback")
    obj = correlation_or_incident
    if isinstance(obj, Correlation):
        ids = list(obj.incidents["incident_id"]) if incidents is None else list(incidents)
        items = [obj.incident(int(i)) for i in ids]
        topo_default = obj.topology
    elif isinstance(obj, Incident):
        items = [obj]
        topo_default = obj.topology
    elif isinstance(obj, (pd.DataFrame, str)) or hasattr(obj, "__fspath__"):
        al = canonical_alerts(obj, "incident alerts").sort_values("timestamp", kind="stable")
        items = [Incident(1, al, al["timestamp"].min(), al["timestamp"].max(),
                          tuple(dict.fromkeys(al["service"])), "incident", "unknown")]
        topo_default = None
    else:
        raise OpsInputError("rank_root_causes needs a Correlation, an Incident or a frame of "
                            f"alerts, got {type(obj).__name__}")
    topo = canonical_topology(topology) if topology is not None else topo_default
    dep = _deploys(deploys)
    if anomalies is None and metrics is not None:
        anomalies = _detect(metrics, items, topo)
    episodes = _episodes(anomalies)

    rows: list[dict[str, Any]] = []
    for inc in items:
        rows.extend(_rank_one(inc, topo, dep, episodes, dw, lb, top))
    cols = ["incident_id", "rank", "service", "score", "evidence", "onset", "walk",
            "onset_score", "change_score", "alerts", "anomalous_metrics"]
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out["onset"] = pd.to_datetime(out["onset"], utc=True)
    out.attrs["method"] = "personalised PageRank (MicroRCA-style) + first onset + change proximity"
    return out


# ------------------------------------------------------------------------------------------
def _deploys(deploys: Any) -> pd.DataFrame | None:
    if deploys is None:
        return None
    df = frame_of(deploys, "deploys", "deploys")
    for col in ("timestamp", "service"):
        if col not in df.columns:
            raise OpsInputError(f"deploys are missing column {col!r}; columns found: "
                                f"{', '.join(map(str, df.columns))}")
    df = df.copy()
    df["timestamp"] = utc_timestamps(df["timestamp"], "deploys")
    df["service"] = df["service"].astype(str)
    return df


def _detect(metrics: Any, items: list, topo: pd.DataFrame | None) -> Any:
    """Anomaly episodes of the incidents' services (and their neighbours)."""
    m = frame_of(metrics, "metrics", "metrics")
    need = set()
    for inc in items:
        need.update(inc.services)
    if topo is not None:
        near = topo[topo["caller"].isin(need) | topo["callee"].isin(need)]
        need.update(near["caller"])
        need.update(near["callee"])
    if "service" in m.columns:
        m = m[m["service"].astype(str).isin(need)]
    if m.empty:
        return None
    try:
        from .anomaly import detect_anomalies
    except ImportError:  # pragma: no cover - the anomaly module ships with the package
        return _robust_onsets(m)
    return detect_anomalies(m)


def _robust_onsets(m: pd.DataFrame, threshold: float = 5.0) -> pd.DataFrame:
    """Fallback: robust z-score (median/MAD of the series) onsets per service and metric."""
    m = m.copy()
    m["timestamp"] = utc_timestamps(m["timestamp"], "metrics")
    rows = []
    for (svc, met), g in m.groupby(["service", "metric"], sort=True):
        v = g["value"].to_numpy(dtype=float)
        med = np.nanmedian(v)
        mad = np.nanmedian(np.abs(v - med)) * 1.4826 or 1e-9
        z = np.abs(v - med) / mad
        hit = z >= threshold
        if hit.any():
            ts = g["timestamp"].to_numpy()
            rows.append({"service": svc, "metric": met, "onset": ts[hit][0],
                         "end": ts[hit][-1], "peak_score": float(z.max())})
    return pd.DataFrame(rows, columns=["service", "metric", "onset", "end", "peak_score"])


def _episodes(anomalies: Any) -> pd.DataFrame | None:
    if anomalies is None:
        return None
    if hasattr(anomalies, "episodes"):
        ep = anomalies.episodes
    elif isinstance(anomalies, pd.DataFrame):
        ep = anomalies
    else:
        raise OpsInputError("anomalies must be an AnomalyResult or a DataFrame, got "
                            f"{type(anomalies).__name__}")
    if "onset" not in ep.columns:
        if {"timestamp", "service", "is_anomaly"} <= set(ep.columns):
            hit = ep[ep["is_anomaly"].astype(bool)]
            ep = pd.DataFrame({"service": hit["service"], "onset": hit["timestamp"],
                               "end": hit["timestamp"],
                               "metric": hit["metric"] if "metric" in hit else "",
                               "peak_score": hit["score"] if "score" in hit else 1.0})
        else:
            raise OpsInputError(
                "anomalies need columns service, onset (episodes) or timestamp, service, "
                f"is_anomaly; columns found: {', '.join(map(str, ep.columns))}")
    ep = ep.copy()
    ep["onset"] = utc_timestamps(ep["onset"], "anomalies", "onset")
    ep["end"] = utc_timestamps(ep["end"], "anomalies", "end") if "end" in ep.columns \
        else ep["onset"]
    if "metric" not in ep.columns:
        ep["metric"] = ""
    if "peak_score" not in ep.columns:
        ep["peak_score"] = 1.0
    ep["service"] = ep["service"].astype(str)
    return ep


def _rank_one(inc: Any, topo: pd.DataFrame | None, dep: pd.DataFrame | None,
              ep: pd.DataFrame | None, dw: pd.Timedelta, lb: pd.Timedelta,
              top: int | None) -> list[dict[str, Any]]:
    al = inc.alerts
    start, end = inc.start, inc.end
    # evidence from alerts
    al = al.assign(_sr=al["severity"].map(SEVERITY_RANK).fillna(0).astype(int).to_numpy())
    ev: dict[str, dict[str, Any]] = {}
    max_count = max(2, int(al["service"].value_counts().max())) if len(al) else 2
    for svc, g in al.groupby("service", sort=False):
        strong = g[g["_sr"].to_numpy() >= SEVERITY_RANK["error"]]
        first = (strong if len(strong) else g)["timestamp"].min()
        top_sev = max(g["severity"], key=lambda s: SEVERITY_RANK.get(s, 0))
        # volume relative to the busiest service of the incident (log scale)
        vol = np.log1p(len(g)) / np.log1p(max_count)
        w = _SEV_WEIGHT.get(top_sev, 0.3) * (0.4 + 0.6 * vol)
        ev[str(svc)] = {"alert_w": w, "onset": first, "alerts": len(g), "max_sev": top_sev,
                        "names": list(dict.fromkeys(g["name"]))[:3], "anom_w": 0.0,
                        "metrics": []}
    # evidence from metric anomalies overlapping the incident
    if ep is not None and len(ep):
        near = ep[(ep["end"] >= start - lb) & (ep["onset"] <= end)]
        cand_extra = set()
        if topo is not None:
            svcs = set(ev)
            cand_extra = set(topo.loc[topo["caller"].isin(svcs), "callee"]) | \
                set(topo.loc[topo["callee"].isin(svcs), "caller"])
        top_peak = float(np.nanmax(near["peak_score"].to_numpy(dtype=float))) if len(near) \
            else 1.0
        for svc, g in near.groupby("service", sort=False):
            svc = str(svc)
            if svc not in ev and svc not in cand_extra:
                continue
            e = ev.setdefault(svc, {"alert_w": 0.0, "onset": g["onset"].min(), "alerts": 0,
                                    "max_sev": "none", "names": [], "anom_w": 0.0,
                                    "metrics": []})
            peak = float(np.nanmax(g["peak_score"].to_numpy(dtype=float))) if len(g) else 0.0
            # relative to the strongest anomaly of the incident (log scale): a marginal
            # anomaly next to a 100-sigma one is weak evidence
            rel = np.log1p(max(peak, 0.0)) / np.log1p(max(top_peak, 1e-9))
            e["anom_w"] = max(e["anom_w"], float(min(1.0, 0.9 * rel)))
            e["onset"] = min(e["onset"], g["onset"].min())
            e["metrics"] = sorted(set(map(str, g["metric"])))
    if not ev:
        return []
    svcs = list(ev)
    k = len(svcs)
    a = np.array([1 - (1 - ev[s]["alert_w"]) * (1 - ev[s]["anom_w"]) for s in svcs])
    # random walk (personalised PageRank) on the incident's part of the dependency graph
    idx = {s: i for i, s in enumerate(svcs)}
    P = np.zeros((k, k))
    callers_of: dict[str, list[str]] = {s: [] for s in svcs}
    callees_of: dict[str, list[str]] = {s: [] for s in svcs}
    if topo is not None:
        sub = topo[topo["caller"].isin(idx) & topo["callee"].isin(idx)]
        for u, v in zip(sub["caller"], sub["callee"], strict=False):
            P[idx[u], idx[v]] += a[idx[v]]          # towards what u calls
            P[idx[v], idx[u]] += RHO * a[idx[u]]    # a small step back
            callers_of[v].append(u)
            callees_of[u].append(v)
    for s in svcs:
        i = idx[s]
        best_callee = max((a[idx[c]] for c in callees_of[s]), default=0.0)
        P[i, i] += max(0.0, a[i] - best_callee) + (1e-3 if not callees_of[s] else 0.0)
    P = P / np.maximum(P.sum(axis=1, keepdims=True), 1e-12)
    pers = a / a.sum() if a.sum() > 0 else np.full(k, 1.0 / k)
    pi = pers.copy()
    for _ in range(200):
        nxt = ALPHA * pers + (1 - ALPHA) * pi @ P
        if np.abs(nxt - pi).sum() < 1e-10:
            pi = nxt
            break
        pi = nxt
    # weak evidence (a lone warning) should not win by position or timing alone
    strength = a / a.max() if a.max() > 0 else np.ones(k)
    walk = pi * strength
    walk = walk / walk.max()
    onsets = np.array([ev[s]["onset"].value for s in svcs], dtype=np.float64)
    lag = (onsets - onsets.min()) / 1e9
    onset_score = np.exp(-lag / TAU) * strength
    t0 = min(start, pd.Timestamp(int(onsets.min()), tz="UTC"))
    change = np.zeros(k)
    change_txt: dict[str, str] = {}
    if dep is not None and len(dep):
        win = dep[(dep["timestamp"] <= t0) & (dep["timestamp"] >= t0 - dw)]
        for r in win.itertuples(index=False):
            s = str(r.service)
            if s in idx:
                c = 1.0 - (t0 - r.timestamp) / dw
                if c > change[idx[s]]:
                    change[idx[s]] = c
                    what = getattr(r, "description", None) or getattr(r, "kind", "change")
                    change_txt[s] = f"{what!s} {fmt_td((t0 - r.timestamp).total_seconds())} " \
                                    "before the incident"
    score = W_WALK * walk + W_ONSET * onset_score + W_CHANGE * change
    order = np.argsort(-score, kind="stable")
    rows = []
    first_onset = onsets.min()
    for rank, i in enumerate(order[: top or k], start=1):
        s = svcs[i]
        e = ev[s]
        parts = []
        if lag[i] == 0:
            parts.append(f"first onset ({e['onset']:%H:%M:%S})")
        else:
            parts.append(f"onset {e['onset']:%H:%M:%S}, {fmt_td(lag[i])} after the first")
        if e["alerts"]:
            parts.append(f"{e['alerts']} alert(s), max {e['max_sev']} ({', '.join(e['names'])})")
        if e["metrics"]:
            parts.append(f"anomalous {', '.join(e['metrics'])}")
        later = [c for c in callers_of[s] if ev[c]["onset"].value > e["onset"].value]
        earlier = [c for c in callees_of[s] if ev[c]["onset"].value < e["onset"].value]
        if later:
            parts.append(f"callers {', '.join(later)} hit later (upstream propagation)")
        if earlier:
            parts.append(f"calls {', '.join(earlier)}, which went bad earlier")
        if topo is not None and not callees_of[s] and len(svcs) > 1:
            parts.append("none of its callees is affected")
        if s in change_txt:
            parts.append(f"change: {change_txt[s]}")
        if topo is not None and s not in set(topo["caller"]) | set(topo["callee"]):
            parts.append("not in the topology")
        parts.append(f"walk {walk[i]:.2f}")
        rows.append({
            "incident_id": int(inc.incident_id), "rank": rank, "service": s,
            "score": round(float(score[i]), 4), "evidence": "; ".join(parts),
            "onset": pd.Timestamp(int(onsets[i]), tz="UTC"), "walk": round(float(walk[i]), 4),
            "onset_score": round(float(onset_score[i]), 4),
            "change_score": round(float(change[i]), 4), "alerts": int(e["alerts"]),
            "anomalous_metrics": ", ".join(e["metrics"]),
        })
    _ = first_onset
    return rows


class RootCauses(Result):
    """Display/report wrapper of a :func:`rank_root_causes` frame (used by magics and CLI)."""

    kind = "root_causes"

    def __init__(self, ranking: pd.DataFrame) -> None:
        super().__init__()
        self.ranking = ranking

    @classmethod
    def rank(cls, correlation_or_incident: Any, **kwargs: Any) -> RootCauses:
        """:func:`rank_root_causes` as a displayable result, with its provenance.

        Takes the arguments of :func:`rank_root_causes`; the magic, the CLI and the demo
        use it so their reports record the same parameters and input hashes.
        """
        from ..provenance import make_provenance

        result = cls(rank_root_causes(correlation_or_incident, **kwargs))
        alerts = getattr(correlation_or_incident, "alerts", correlation_or_incident)
        if isinstance(alerts, pd.DataFrame) and "labels" in alerts.columns:
            alerts = alerts.drop(columns=["labels"])  # dicts hash slowly; the rest suffices
        anomalies = kwargs.get("anomalies")
        inputs = {"alerts": alerts, "metrics": kwargs.get("metrics"),
                  "anomalies": getattr(anomalies, "episodes", anomalies),
                  "topology": kwargs.get("topology"), "deploys": kwargs.get("deploys")}
        params = {k: kwargs[k] for k in ("incidents", "top", "deploy_window", "lookback")
                  if k in kwargs}
        result.provenance = make_provenance("rank_root_causes", params, inputs)
        return result

    @property
    def title(self) -> str:
        return "Root-cause candidates"

    def top1(self) -> pd.DataFrame:
        """The most likely root cause of each incident."""
        return self.ranking[self.ranking["rank"] == 1].reset_index(drop=True)

    def summary(self) -> str:
        t = self.top1()
        if t.empty:
            return "no incidents to rank"
        head = ", ".join(f"#{r.incident_id}: {r.service}" for r in t.head(5).itertuples())
        more = f" (+{len(t) - 5} more)" if len(t) > 5 else ""
        return f"most likely root causes -- {head}{more}"

    def figures(self) -> list[dict[str, Any]]:
        t = self.top1()
        return [{"label": "incidents ranked", "value": len(t)},
                {"label": "candidates", "value": len(self.ranking)}]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"candidates": self.ranking[["incident_id", "rank", "service", "score",
                                            "evidence"]]}

    def explanations(self) -> list[tuple[str, str]]:
        return [("Method", "Score = 0.45 x random-walk mass (personalised PageRank towards "
                 "called services, weighted by alert and metric-anomaly evidence; MicroRCA, "
                 "Wu et al. 2020) + 0.35 x first-onset score (exp(-lag / 2 min)) + 0.20 x "
                 "change proximity (deploy/config change within 30 min before).")]

    def charts(self) -> dict[str, Any]:
        import altair as alt

        if self.ranking.empty:
            return {}
        ids = list(self.top1()["incident_id"].head(12))
        d = self.ranking[self.ranking["incident_id"].isin(ids)][
            ["incident_id", "rank", "service", "score"]].copy()
        d["incident"] = "#" + d["incident_id"].astype(str)
        chart = alt.Chart(d).mark_bar().encode(
            x=alt.X("score:Q", title="score"),
            y=alt.Y("service:N", sort="-x", title=None),
            color=alt.Color("rank:O", title="rank"),
            row=alt.Row("incident:N", title=None),
            tooltip=["incident:N", "rank:O", "service:N", "score:Q"],
        ).properties(width=360).resolve_scale(y="independent")
        return {"candidates": chart}
