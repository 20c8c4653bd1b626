"""Root-cause ranking: which service most likely started each incident.

Candidates are the alerted services and what they depend on (the downstream closure of the
topology, ``hops=`` to limit it); every candidate with metrics gets anomaly evidence computed
here (a change scan of each series' own part, its callees' share regressed out: the
robust median/IQR level and spread deviation of each candidate time against its own past
hour, from an hour before the first alert on, timed by a likelihood change point), so a
cause several hops below the alerting service, with no alert of its own, that changed long
before anyone was paged, can be ranked. Without alerts, ``rank_root_causes(metrics=..., topology=..., around=...)``.

Method (documented in docs/incidents.md), a small combination of published ideas:

* **random walk on the dependency graph** -- a personalised PageRank over the incident's
  services, as in MicroRCA (Wu et al., NOMS 2020) and the CloudRanger/MicroCause family (Wang et
  al. 2018; Meng et al. 2020): a walker moves from a symptomatic service *towards what it
  calls* (forward edge caller -> callee, weighted by the callee's anomaly evidence), may step
  back with a small weight (rho = 0.1), and stays on a service that is more anomalous than all
  of its callees (self loop). Teleports go to services in proportion to their evidence. The
  stationary mass piles up on the most-downstream anomalous service;
* **first onset** -- faults propagate upstream with delays, so the service whose first
  metric anomaly (or, without one, first significant alert of severity >= error) came first
  is favoured (exponential decay, tau = 2 minutes, of the lag behind the earliest onset of a
  clearly anomalous service);
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
    to_ns,
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
    correlation_or_incident: Any = None,
    metrics: Any = None,
    anomalies: Any = None,
    topology: Any = None,
    deploys: Any = None,
    incidents: list[int] | None = None,
    top: int | None = 5,
    deploy_window: str | pd.Timedelta = "30min",
    lookback: str | pd.Timedelta = "15min",
    hops: int | None = None,
    around: Any = None,
    weights: tuple[float, float, float] | None = None,
    tau: float | None = None,
) -> pd.DataFrame:
    """Rank the candidate root-cause services of each incident.

    Parameters
    ----------
    correlation_or_incident : Correlation, Incident, DataFrame or None
        A :class:`~jupyter_ops.aiops.Correlation` (all its incidents, or ``incidents=``), one
        :class:`~jupyter_ops.aiops.Incident`, or the alerts of a single incident. None: the
        metrics-only mode (needs ``metrics``, ``topology`` and ``around``).
    metrics : DataFrame or path, optional
        Long-form metrics; when ``anomalies`` is not given, every candidate service with
        metrics is scanned here for a change (robust median/IQR deviation against its own
        past, from an hour before the first alert to the incident's end).
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
        How long before an incident's first alert anomalies still count (metrics-only mode:
        how far around ``around``).
    hops : int or None
        Candidates are the alerted services and the services they depend on, up to ``hops``
        calls down the topology (None: the whole downstream closure). A root cause several
        hops below the alerting service, with no alert of its own, is a candidate when its
        metrics are anomalous.
    around : str or Timestamp, optional
        Metrics-only mode: the time users noticed (``"12:40"`` is read on the day of the
        metrics' last sample, ``"2026-02-02 12:40"`` as given, UTC).
    weights : (walk, onset, change), optional
        Score weights (default 0.45, 0.35, 0.20).
    tau : float, optional
        Seconds of onset lag at which the onset score falls to 1/e (default 120).

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
    if hops is not None and hops < 0:
        raise OpsInputError(f"hops={hops} must be >= 0, or None for the whole closure")
    if obj is None:
        items, topo_default = _metrics_only(metrics, topology, around, lb), None
    elif isinstance(obj, Correlation):
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
                            f"alerts (or None with metrics=, topology=, around=), got "
                            f"{type(obj).__name__}")
    topo = canonical_topology(topology) if topology is not None else topo_default
    dep = _deploys(deploys)
    graph = _DepGraph(topo)
    mframe = None
    if anomalies is None and metrics is not None:
        mframe = frame_of(metrics, "metrics", "metrics")
        scanned: list[pd.DataFrame] = []
        anomalies = _detect(mframe, items, graph, hops, scanned)
        mframe = scanned[0] if scanned else mframe  # shapes named on what was scanned
    episodes = _episodes(anomalies)
    if episodes is not None and mframe is not None:
        episodes = _describe(episodes, mframe)
    w = tuple(weights) if weights is not None else (W_WALK, W_ONSET, W_CHANGE)
    if len(w) != 3 or any(x < 0 for x in w) or not sum(w) > 0:
        raise OpsInputError(f"weights={weights!r} must be three non-negative numbers "
                            "(walk, onset, change), not all zero")
    t = TAU if tau is None else float(tau)
    if not t > 0:
        raise OpsInputError(f"tau={tau!r} must be a positive number of seconds")

    rows: list[dict[str, Any]] = []
    for inc in items:
        rows.extend(_rank_one(inc, topo, dep, episodes, dw, lb, top, graph, hops, w, t))
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


class _DepGraph:
    """Callee lists of the topology (who each service depends on) and downstream distances."""

    def __init__(self, topo: pd.DataFrame | None) -> None:
        self.callees: dict[str, list[str]] = {}
        self.callers: dict[str, list[str]] = {}
        self.nodes: set[str] = set()
        if topo is not None:
            for u, v in zip(topo["caller"], topo["callee"], strict=False):
                self.callees.setdefault(u, []).append(v)
                self.callers.setdefault(v, []).append(u)
            self.nodes = set(topo["caller"]) | set(topo["callee"])

    def below(self, sources: list[str],
              hops: int | None) -> dict[str, tuple[int, str, str | None]]:
        """Services reachable from ``sources`` along caller -> callee edges: hop distance,
        the nearest source and the breadth-first parent (None for the sources themselves,
        at distance 0) -- the one walk that gives both the candidates and their paths."""
        out: dict[str, tuple[int, str, str | None]] = {s: (0, s, None) for s in sources}
        frontier = list(sources)
        d = 0
        while frontier and (hops is None or d < hops):
            d += 1
            nxt = []
            for u in frontier:
                for v in self.callees.get(u, ()):
                    if v not in out:
                        out[v] = (d, out[u][1], u)
                        nxt.append(v)
            frontier = nxt
        return out


def _metrics_only(metrics: Any, topology: Any, around: Any, lb: pd.Timedelta) -> list:
    """A pseudo incident without alerts at ``around`` (metrics-only mode)."""
    from .correlation import Incident

    if metrics is None or around is None:
        raise OpsInputError("rank_root_causes without alerts needs metrics=, topology= and "
                            "around= (the time users noticed, e.g. around='12:40')")
    m = frame_of(metrics, "metrics", "metrics")
    if "timestamp" not in m.columns or "service" not in m.columns:
        raise OpsInputError("metrics need columns timestamp, service (and metric, value); "
                            f"columns found: {', '.join(map(str, m.columns))}")
    last = utc_timestamps(m["timestamp"], "metrics").max()
    try:
        at = pd.Timestamp(around)
    except (TypeError, ValueError):
        raise OpsInputError(f"around={around!r} is not a time; use e.g. '12:40' or "
                            "'2026-02-02 12:40'") from None
    if isinstance(around, str) and len(around.strip()) <= 8 and ":" in around:
        at = pd.Timestamp(f"{last:%Y-%m-%d} {around.strip()}")  # a time of day
    at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
    empty = pd.DataFrame({"timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                          "service": pd.Series([], dtype=object),
                          "name": pd.Series([], dtype=object),
                          "severity": pd.Series([], dtype=object)})
    return [Incident(1, empty, at - lb, at + lb, (), f"around {at:%Y-%m-%d %H:%M}", "none")]


def _candidates(inc: Any, graph: _DepGraph,
                hops: int | None) -> dict[str, tuple[int, str, str | None]]:
    alerted = list(dict.fromkeys(map(str, inc.services)))
    if not alerted:  # metrics-only: every service of the topology
        return {s: (0, "", None) for s in sorted(graph.nodes)}
    return graph.below(alerted, hops)


def _detect(m: pd.DataFrame, items: list, graph: _DepGraph, hops: int | None,
            scanned: list | None = None) -> Any:
    """Anomaly episodes of every candidate service with metrics (alerted or not); the
    frame scanned (each series' own part) is appended to ``scanned`` when given."""
    need: set[str] = set()
    for inc in items:
        need.update(_candidates(inc, graph, hops))
    if "service" in m.columns:
        if not items or not any(len(inc.services) for inc in items):
            need |= set(m["service"].astype(str))  # metrics-only: also services off the graph
        m = m[m["service"].astype(str).isin(need)]
    if m.empty:
        return None
    # one evidence source on one scale: the incident-relative change scan. (Round 2 also
    # ran detect_anomalies here; its -log10 p peaks and later onsets, mixed with the scan's
    # robust deviations in one relative scale, buried causes that changed long before the
    # alert; without it family A stays at 1.000 and the call is ~3x faster.)
    if OWN_PART:
        m = _own_part(m, graph)
    if scanned is not None:
        scanned.append(m)
    found = _robust_shift(m, items)
    return found if len(found) else None


OWN_PART = True   # scan each service's own part (its callees' share regressed out)
OWN_LAGS = 3      # sample steps a callee's change may take to reach its caller (a-priori:
                  # a few minutes of queueing/retries at 1-minute samples)


def _own_part(m: pd.DataFrame, graph: _DepGraph) -> pd.DataFrame:
    """Each series with the share its callees explain removed (its "own part").

    A caller's latency (errors, ...) is its own work plus what its callees add: a root
    cause's change can be small next to the noise its callees pass up, and every caller of
    the root changes too. Regressing each series on the same metric of the services it
    calls (lags 0..``OWN_LAGS`` steps, least squares with an intercept, over the whole
    series) leaves the service's own term: a caller that only passes a callee's change on
    keeps little of it, the service whose own behaviour changed keeps all of it (its own
    change is independent of its callees' values, so where the fit window lies does not
    matter). This is the regression-based hypothesis test of CIRCA (Li et al., KDD 2022)
    on the call graph instead of a learned causal graph. Series without callees with the
    same metric, or with too few points for the fit (fewer than 5 per coefficient), stay
    as they are.
    """
    need = {"timestamp", "service", "value"}
    if not need <= set(m.columns) or not graph.callees:
        return m
    met = m["metric"].astype(str) if "metric" in m.columns else pd.Series("value", m.index)
    m = m.assign(timestamp=utc_timestamps(m["timestamp"], "metrics"),
                 service=m["service"].astype(str), metric=met)
    wide = m.pivot_table(index="timestamp", columns=["service", "metric"], values="value",
                         aggfunc="mean", observed=True).sort_index()
    arr = wide.to_numpy(dtype=float)
    at = {c: j for j, c in enumerate(wide.columns)}
    n = len(arr)
    own: dict[tuple[str, str], np.ndarray] = {}
    for (svc, mt) in wide.columns:
        regs = [at[(c, mt)] for c in graph.callees.get(svc, ()) if (c, mt) in at and c != svc]
        if not regs:
            continue
        base, k = arr[:, regs], len(regs)
        X = np.full((n, 1 + (OWN_LAGS + 1) * k), np.nan)
        X[:, 0] = 1.0
        for lag in range(OWN_LAGS + 1):
            X[lag:, 1 + lag * k: 1 + (lag + 1) * k] = base[: n - lag]
        y = arr[:, at[(svc, mt)]]
        ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
        if ok.sum() < max(30, 5 * X.shape[1]):
            continue
        # normal equations on the centred columns (p x p): an SVD of the n x p matrix per
        # series tripled the ranking's time; a tiny ridge keeps collinear callees solvable
        Xo, yo = X[ok, 1:], y[ok]
        mx, my = Xo.mean(axis=0), yo.mean()
        Xc = Xo - mx
        G = Xc.T @ Xc
        G[np.diag_indices_from(G)] += 1e-9 * (np.trace(G) / len(G) + 1e-12)
        try:
            beta = np.linalg.solve(G, Xc.T @ (yo - my))
        except np.linalg.LinAlgError:
            continue  # degenerate callees (constant series): the raw series is scanned
        coef = np.concatenate([[my - mx @ beta], beta])
        r = np.full(n, np.nan)
        r[ok] = y[ok] - X[ok] @ coef
        own[(svc, mt)] = r
    if not own:
        return m
    # write the residuals back into the long frame in one gather (raw values elsewhere)
    W = np.full(wide.shape, np.nan)
    is_own = np.zeros(wide.shape[1], dtype=bool)
    for j, col in enumerate(wide.columns):
        if col in own:
            W[:, j], is_own[j] = own[col], True
    ri = wide.index.get_indexer(m["timestamp"])
    ci = wide.columns.get_indexer(pd.MultiIndex.from_arrays([m["service"], m["metric"]]))
    take = (ri >= 0) & (ci >= 0)
    take[take] = is_own[ci[take]]
    val = m["value"].to_numpy(dtype=float, copy=True)
    val[take] = W[ri[take], ci[take]]
    return m.assign(value=val)


# change scan: how far before the first alert a cause's change is looked for (a 1-hour SLO
# burn-rate alert fires up to an hour after the change it reports), the history each
# candidate change time is compared with, the window after it, and the threshold on the
# robust deviation (3x its value on unchanged Gaussian noise, 0.5)
STRONG = 0.5  # evidence (relative to the strongest) that starts the onset race
SCAN_SEARCH, SCAN_HISTORY, SCAN_WINDOW, SCAN_THRESHOLD = "60min", "60min", "10min", 1.5


def _robust_shift(m: pd.DataFrame, items: list, threshold: float | None = None,
                  history: str | None = None, search: str | None = None,
                  window: str | None = None) -> pd.DataFrame:
    """Change points of each series around each incident, scored the BARO way (robust median
    and IQR scaling, Pham et al. 2024) but per candidate time instead of one global one.

    For every time tau from ``search`` before the incident's first alert to its end, the
    ``history`` before tau gives a median and an IQR; the deviation of tau is the median of
    ``|x - median| / IQR`` over the ``window`` from tau on (a level shift moves it by the
    shift, a noise change by the growth of the spread; one outlier does not move it). The
    onset is the first tau whose deviation reaches ``threshold`` twice in a row, the peak the
    largest deviation in the range. No fixed "before" window: the reference moves with tau,
    so a cause that changed long before the alert still stands out against its own past.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    thr = SCAN_THRESHOLD if threshold is None else threshold
    h = pd.Timedelta(history or SCAN_HISTORY)
    sr = pd.Timedelta(search or SCAN_SEARCH)
    wn = pd.Timedelta(window or SCAN_WINDOW)
    # each episode belongs to the incident it was scanned for: a neighbouring incident's
    # scan (its own "before") is no evidence here
    cols = ["service", "metric", "onset", "end", "peak_score", "method", "incident_id",
            "timed"]
    if not {"timestamp", "service", "value"} <= set(m.columns) or not items:
        return pd.DataFrame(columns=cols)
    m = m.assign(timestamp=utc_timestamps(m["timestamp"], "metrics"),
                 service=m["service"].astype(str),
                 metric=m["metric"].astype(str) if "metric" in m.columns else "value")
    rows = []
    for (svc, met), g in m.groupby(["service", "metric"], sort=True):
        g = g.sort_values("timestamp")
        t = to_ns(g["timestamp"])
        v = g["value"].to_numpy(dtype=float)
        ok = np.isfinite(v)
        t, v = t[ok], v[ok]
        n = len(v)
        if n < 20:
            continue
        step = float(np.median(np.diff(t))) or 1.0
        nh = max(10, int(round(h.value / step)))
        nw = max(3, int(round(wn.value / step)))
        spans = [(int(np.searchsorted(t, (inc.start - sr).value)),
                  int(np.searchsorted(t, inc.end.value, side="right"))) for inc in items]
        # a past of at least half the history: a dozen points at the start of the series
        # give no IQR to trust (they made "changes" out of ordinary noise)
        least = max(10, nh // 2)
        need = np.zeros(n, dtype=bool)
        for a, b in spans:
            need[max(a, least):b] = True
        idx = np.flatnonzero(need)
        if not len(idx):
            continue
        # the past of each tau, v[tau - nh: tau]: rolling quantiles (linear interpolation,
        # as np.percentile) shifted by one, in C over the whole series
        # rolling statistics only over the stretch the scan needs (the past of the first
        # time to the future of the last): the same values, not a day-long series' worth
        ns = max(nw, int(round(pd.Timedelta(SCALE_WINDOW).value / step)))
        lo, hi = max(0, int(idx[0]) - nh - 1), min(n, int(idx[-1]) + max(nw, ns) + 1)
        j = idx - lo
        roll = pd.Series(v[lo:hi]).rolling(nh, min_periods=least)
        q1, med, q3 = (roll.quantile(q).shift(1).to_numpy()[j] for q in (0.25, 0.5, 0.75))
        iqr_all = np.maximum(q3 - q1, 1e-9 + 1e-6 * np.abs(med))
        vp = np.concatenate([v, np.full(nw, np.nan)])
        fwd = sliding_window_view(vp, nw)[idx]            # v[tau: tau + nw]
        dev = np.empty(len(idx))
        first = np.zeros(len(idx), dtype=np.int64)  # first deviating point of each window
        full = idx + nw <= n  # nan-free windows: the fast kernel
        for sel, mdn in ((full, np.median), (~full, np.nanmedian)):
            if sel.any():
                r = np.abs(fwd[sel] - med[sel, None]) / iqr_all[sel, None]
                dev[sel] = mdn(r, axis=1)
                big = np.nan_to_num(r) >= thr
                pair = big[:, :-1] & big[:, 1:]  # two in a row: one noisy point is no onset
                first[sel] = np.where(pair.any(axis=1), np.argmax(pair, axis=1), 0)
        if SCALE_SCAN:
            # a spread change: the IQR of the next SCALE_WINDOW against the past's, scaled so
            # its null quantile meets the level threshold (forward rolling quantiles: the
            # same C kernel on the reversed series)
            rv = pd.Series(v[lo:hi][::-1]).rolling(ns, min_periods=max(nw, 2 * ns // 3))
            f1, f3 = (rv.quantile(q).to_numpy()[::-1][j] for q in (0.25, 0.75))
            dev = np.fmax(dev, (f3 - f1) / iqr_all * (thr / SCALE_NULL))
        d = np.full(n, np.nan)
        d[idx] = dev
        off = np.zeros(n, dtype=np.int64)
        off[idx] = first
        for inc, (a, b) in zip(items, spans, strict=True):
            z = d[a:b]
            if not np.isfinite(z).any():
                continue
            zz = np.nan_to_num(z, nan=0.0)
            hot = zz >= thr
            hot = hot & (np.r_[hot[1:], False] | np.r_[False, hot[:-1]])  # two in a row
            if hot.any():
                # the incident's change is the strongest one in the range: the run of hot
                # times holding the largest deviation (an earlier marginal crossing - noise,
                # a daily drift - is not its onset)
                top = int(np.argmax(np.where(hot, zz, -np.inf)))
                i = top
                while i > 0 and hot[i - 1]:
                    i -= 1
                i += a
                if CHANGE_POINT_ONSET:
                    i, llr = _change_point(v, i, a + top, nh, nw)
                else:
                    # the window's median crosses when half of it has changed: the onset is
                    # the window's first pair of points beyond the threshold
                    i, llr = min(i + int(off[i]), n - 1), np.inf
                rows.append({"service": svc, "metric": met,
                             "onset": pd.Timestamp(int(t[i]), tz="UTC"),
                             "end": pd.Timestamp(int(t[b - 1]), tz="UTC"),
                             "peak_score": float(zz[top]), "method": "robust-shift",
                             "incident_id": int(inc.incident_id),
                             "timed": bool(llr >= CP_LLR)})
    return pd.DataFrame(rows, columns=cols)


# round 2c (docs/incidents.md, "Round 2c"): the onset of a change is the likelihood change
# point of mean and spread around the scan's hot run (CP_BACK: it may lie up to one scan
# window before the first hot time - a spread change x3 holds the window statistic near the
# threshold, so it crosses late); a run whose best split is no significant change (twice the
# log likelihood ratio under CP_LLR, the 99.9 % point of its null on 80 i.i.d. Gaussian
# points, simulated) keeps its evidence but does not run the onset race; a marginal metric
# run (under STRONG of the strongest, log scale) does not set an alerting service's onset.
# All False (with OWN_PART) reproduces round 2b: the benchmark's same-run row.
CHANGE_POINT_ONSET = True
SCALE_SCAN = True
SCALE_WINDOW = "30min"
SCALE_NULL = 2.23  # 99.96 % of IQR(30 points) / IQR(60 points) on i.i.d. noise (simulated)
CP_BACK = 1
CP_LLR = 20.0
MARGINAL_ONSET = True


def _change_point(v: np.ndarray, run: int, peak: int, nh: int,
                  nw: int) -> tuple[int, float]:
    """The most likely change of mean and spread around a hot run, and its strength: the
    split ``k`` of ``v[run - nh: peak + nw]`` (``run - CP_BACK * nw <= k <= peak + nw``)
    that maximises the two-segment
    Gaussian likelihood, i.e. minimises ``k log var(before) + (n - k) log var(after)``
    (the normal mean-and-variance change-point cost of PELT/binary segmentation; cumulative
    sums, O(n)). The scan's own first crossing comes early for a pure spread change (a
    window straddling the change is already hot) and late when a caller's noise hides it;
    the likelihood split is neither for a level shift nor for a spread change. Returns
    ``(k, 2 log LR)`` of that split against no change."""
    n = len(v)
    lo, hi = max(0, run - nh), min(n, peak + nw)
    x = v[lo:hi] - np.median(v[lo:hi])  # centred: the cumulative sums stay accurate
    m = len(x)
    least = 5  # points on each side to estimate a variance
    ks = np.arange(max(run - lo - CP_BACK * nw, least), min(peak + nw - lo, m - least) + 1)
    if m < 2 * least or not len(ks):
        return min(run, n - 1), 0.0
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    floor = 1e-6 * (np.var(x) + 1e-12)
    n1, n2 = ks.astype(float), (m - ks).astype(float)
    v1 = np.maximum(c2[ks] / n1 - (c1[ks] / n1) ** 2, floor)
    v2 = np.maximum((c2[m] - c2[ks]) / n2 - ((c1[m] - c1[ks]) / n2) ** 2, floor)
    cost = n1 * np.log(v1) + n2 * np.log(v2)
    j = int(np.argmin(cost))
    # twice the log likelihood ratio of "a change at k" against "no change"
    llr = float(m * np.log(max(np.var(x), floor)) - cost[j])
    return int(lo + ks[j]), llr


def _describe(ep: pd.DataFrame, m: pd.DataFrame) -> pd.DataFrame:
    """Name each episode's shape: a level shift (the median moved) or a noise change (the
    spread grew, the median did not), from the hour before the onset against the episode."""
    if ep.empty or not {"service", "metric", "value", "timestamp"} <= set(m.columns):
        return ep.assign(shape="anomaly")
    m = m[m["service"].astype(str).isin(set(ep["service"]))]
    m = m.assign(timestamp=utc_timestamps(m["timestamp"], "metrics"),
                 service=m["service"].astype(str), metric=m["metric"].astype(str))
    groups = {}
    for k, g in m.groupby(["service", "metric"]):
        g = g.sort_values("timestamp")
        v = g["value"].to_numpy(dtype=float)
        ok = np.isfinite(v)
        groups[k] = (to_ns(g["timestamp"])[ok], v[ok])
    hour, ten = pd.Timedelta("60min").value, pd.Timedelta("10min").value
    shapes = []
    for r in ep.itertuples(index=False):
        g = groups.get((str(r.service), str(r.metric)))
        shape = "anomaly"
        if g is not None:
            t, v = g
            on, end = r.onset.value, max(r.end.value, r.onset.value + ten)
            a, b, c = np.searchsorted(t, [on - hour, on, end], side="left")
            c = int(np.searchsorted(t, end, side="right"))
            before, after = v[a:b], v[b:c]
            if len(before) >= 5 and len(after) >= 3:
                q1, q3 = np.percentile(before, [25, 75])
                iqr = max(q3 - q1, 1e-9)
                shift = abs(np.median(after) - np.median(before)) / iqr
                a1, a3 = np.percentile(after, [25, 75])
                spread = (a3 - a1) / iqr
                shape = "level shift" if shift >= 0.5 * spread else "noise change"
        shapes.append(shape)
    return ep.assign(shape=shapes)


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
              top: int | None, graph: _DepGraph, hops: int | None,
              weights: tuple[float, float, float], tau: float) -> list[dict[str, Any]]:
    al = inc.alerts
    start, end = inc.start, inc.end
    cand = _candidates(inc, graph, hops)
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
        if {"incident_id", "method"} <= set(near.columns):  # scans of other incidents out
            scan = (near["method"] == "robust-shift").to_numpy(dtype=bool)
            mine = (near["incident_id"] == int(inc.incident_id)).to_numpy(dtype=bool)
            near = near[~scan | mine]
        # candidates: what the alerted services depend on, down the topology (all of it in
        # the metrics-only mode, where any service with metrics may be the cause)
        cand_extra = set(cand)
        if not len(al):
            cand_extra |= set(near["service"])
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
            # one clock for the onset race: a service with metric anomalies starts at its
            # first anomaly (alerts are thresholds on metrics, fired with their own delays;
            # an SLI alert must not beat the metric onset of the cause below it)
            # ... unless the metric evidence is marginal (under half the strongest on the
            # log scale) and the service alerted: a barely-crossing noise run must not
            # start the race for a service that is strong only through its alert
            if not (MARGINAL_ONSET and e["alerts"] and rel < STRONG):
                e["onset"] = g["onset"].min()
            if "timed" in g.columns and not g["timed"].astype(bool).any():
                e["untimed"] = True
            e["metrics"] = sorted(set(map(str, g["metric"])))
            f = g.sort_values("onset", kind="stable").iloc[0]
            e["first_anomaly"] = (str(f["metric"]), str(f.get("shape", "anomaly")), f["onset"])
    if not ev:
        return []
    ranked = list(ev)
    # services on the dependency paths between the alerted services and the candidates with
    # evidence take part in the walk (so mass can flow down to a cause several hops below),
    # without evidence of their own and never ranked
    path: list[str] = []
    if topo is not None and cand:
        parent = {s: r[2] for s, r in cand.items() if r[2] is not None}
        for s in ranked:
            p = parent.get(s)
            while p is not None and p not in ev and p not in path:
                path.append(p)
                p = parent.get(p)
    svcs = ranked + path
    for s in path:
        ev[s] = {"alert_w": 0.0, "onset": None, "alerts": 0, "max_sev": "none", "names": [],
                 "anom_w": 0.0, "metrics": []}
    k = len(svcs)
    a = np.array([1 - (1 - ev[s]["alert_w"]) * (1 - ev[s]["anom_w"]) for s in svcs])
    a_walk = np.maximum(a, 0.05)  # path services pass the walker on
    # random walk (personalised PageRank) on the incident's part of the dependency graph
    idx = {s: i for i, s in enumerate(svcs)}
    P = np.zeros((k, k))
    callers_of: dict[str, list[str]] = {s: [] for s in svcs}
    callees_of: dict[str, list[str]] = {s: [] for s in svcs}
    if topo is not None:
        sub = topo[topo["caller"].isin(idx) & topo["callee"].isin(idx)]
        for u, v in zip(sub["caller"], sub["callee"], strict=False):
            P[idx[u], idx[v]] += a_walk[idx[v]]          # towards what u calls
            P[idx[v], idx[u]] += RHO * a_walk[idx[u]]    # a small step back
            callers_of[v].append(u)
            callees_of[u].append(v)
    for s in svcs:
        i = idx[s]
        best_callee = max((a_walk[idx[c]] for c in callees_of[s]), default=0.0)
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
    onsets = np.array([ev[s]["onset"].value if ev[s]["onset"] is not None else np.nan
                       for s in svcs], dtype=np.float64)
    lag = (onsets - np.nanmin(onsets)) / 1e9
    race = onsets.copy()
    # a run that is no significant change of mean or spread (likelihood ratio) has no
    # time to trust: its service keeps its evidence but does not run the onset race
    for i, s in enumerate(svcs):
        if ev[s].get("untimed") and not ev[s]["alerts"]:
            race[i] = np.nan
    # the race starts at the first onset among the clearly anomalous (evidence at least
    # half the strongest): a marginal early blip must not set everyone's lag, nor move the
    # incident's start before the change that caused it
    strong = (strength >= STRONG) & np.isfinite(race)
    finite = np.isfinite(race)
    ref = np.min(race[strong]) if strong.any() else \
        (np.min(race[finite]) if finite.any() else np.nan)
    rlag = np.maximum(race - ref, 0.0) / 1e9
    onset_score = np.nan_to_num(np.exp(-rlag / tau)) * strength
    first_strong = np.nanmin(onsets[strong]) if strong.any() else np.nanmin(onsets)
    t0 = min(start, pd.Timestamp(int(first_strong), tz="UTC"))
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
    score = weights[0] * walk + weights[1] * onset_score + weights[2] * change
    order = [i for i in np.argsort(-score, kind="stable") if i < len(ranked)]
    rows = []
    for rank, i in enumerate(order[: top or len(order)], start=1):
        s = svcs[i]
        e = ev[s]
        parts = []
        fa = e.get("first_anomaly")
        if fa is not None and not e["alerts"]:
            d, src = cand[s][:2] if s in cand else (0, "")
            where = (f", {d} hop{'s' if d != 1 else ''} below the alerting {src}"
                     if d > 0 and src else "")
            parts.append(f"{fa[0]} {fa[1]} at {fa[2]:%H:%M}{where}; no alert of its own")
        if lag[i] == 0:
            parts.append(f"first onset ({e['onset']:%H:%M:%S})")
        else:
            parts.append(f"onset {e['onset']:%H:%M:%S}, {fmt_td(lag[i])} after the first")
        if e["alerts"]:
            parts.append(f"{e['alerts']} alert(s), max {e['max_sev']} ({', '.join(e['names'])})")
        if e["metrics"]:
            parts.append(f"anomalous {', '.join(e['metrics'])}")
        later = [c for c in callers_of[s] if ev[c]["onset"] is not None
                 and ev[c]["onset"].value > e["onset"].value]
        earlier = [c for c in callees_of[s] if ev[c]["onset"] is not None
                   and ev[c]["onset"].value < e["onset"].value]
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
        params = {k: kwargs[k] for k in ("incidents", "top", "deploy_window", "lookback",
                                         "hops", "around", "weights", "tau") if k in kwargs}
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
        # "incident N", not "#N": "#1: payments" read as a rank, and ranks repeat services
        head = ", ".join(f"incident {r.incident_id}: {r.service}"
                         for r in t.head(5).itertuples())
        more = f" (+{len(t) - 5} more incidents)" if len(t) > 5 else ""
        return f"most likely root causes -- {head}{more}"

    def figures(self) -> list[dict[str, Any]]:
        t = self.top1()
        return [{"label": "incidents ranked", "value": len(t)},
                {"label": "candidates", "value": len(self.ranking)}]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"candidates": self.ranking[["incident_id", "rank", "service", "score",
                                            "evidence"]]}

    def explanations(self) -> list[tuple[str, str]]:
        return [("Method", "Candidates: the alerted services and everything they depend on "
                 "(downstream in the topology), with change evidence from their metrics (each "
                 "series with its callees' share regressed out; robust median/IQR level and "
                 "spread deviation against each time's own past hour, from an hour before "
                 "the first alert; onset = likelihood change point). "
                 "Score = 0.45 x random-walk mass (personalised PageRank towards "
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
