"""Alert correlation: which alerts belong to the same incident, and why.

``correlate(alerts, window="5min", topology=None, by=None)`` links alerts with explainable
rules and takes the connected groups as incidents:

1. **fingerprint** -- a repeat of the same alert source (same ``fingerprint``) while it is still
   firing (before its ``resolved_at``, or within ``window``) is the same problem; an exact
   duplicate (same fingerprint and time) is counted in ``.dedup``;
2. **topology + time** -- an alert joins the most recent alert on the same service or on a
   service within ``hops`` calls (either direction) of it, if that alert is at most ``window``
   older. Alerts on unrelated services in the same minute stay apart. Without a topology (or
   for services missing from it) time alone links (the previous alert within ``window``);
3. **shared labels** (``by=["team"]``) -- the most recent alert with the same label value
   within ``window``;
4. **message similarity** -- the most recent alert on a neighbouring service whose name and
   message are similar (token Jaccard >= ``similarity``) within ``similarity_window`` (default
   twice ``window``), which bridges short lulls inside one incident.

Links are collected vectorised (sort by time, ``searchsorted`` for "last alert on service Y
before this one" with the queries in runs of one (service, neighbour) pair, a union of the
links with :func:`scipy.sparse.csgraph.connected_components`); the queries run in chunks of
``chunk_size`` alerts so memory stays bounded. A million alerts take about half a second, a
few times faster than a per-alert Python loop over the same rules; explanations are built on
demand (:meth:`Correlation.explain`).

Noise: flapping alert sources (fire, resolve within ``flap_resolve``, fire again within
``flap_gap``, at least ``flap_count`` times) are left out of linking and marked noise; a group
made of one alert source (one fingerprint) whose highest severity is below ``min_severity``
(default ``error``) is noise too. Everything else is an incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result
from ._incidents import (
    SEVERITIES,
    SEVERITY_RANK,
    Graph,
    canonical_alerts,
    canonical_topology,
    fmt_td,
    from_ns,
    lenient_utc,
    to_ns,
    to_timedelta,
)

__all__ = ["correlate", "Correlation", "Incident", "AlertCorrelator"]

# link reasons, by priority (lower = preferred when explaining why an alert joined)
R_NONE, R_DUP, R_FP, R_SAME, R_NEIGH, R_LABEL, R_SIM, R_TIME, R_ABSENT = range(9)
_NS = 1_000_000_000


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


def correlate(
    alerts: Any,
    window: str | pd.Timedelta = "5min",
    topology: Any = None,
    by: str | list[str] | None = None,
    similarity: float | None = 0.5,
    hops: int = 1,
    min_severity: str = "error",
    similarity_window: str | pd.Timedelta | None = None,
    flap_count: int = 3,
    flap_resolve: str | pd.Timedelta = "10min",
    flap_gap: str | pd.Timedelta = "30min",
    chunk_size: int = 20_000,
    engine: str | None = None,
    client: Any = None,
    progress: bool = False,
) -> Correlation:
    """Group alerts into incidents (see the module docstring for the rules).

    Parameters
    ----------
    alerts : DataFrame or path
        Canonical alerts (``timestamp``, ``service`` required; ``name``, ``severity``,
        ``message``, ``fingerprint``, ``labels``, ``resolved_at`` used when present).
    window : str or Timedelta
        Longest gap between two linked alerts.
    topology : DataFrame or path, optional
        ``caller``, ``callee`` edges; cycles are fine. Without it, time alone links.
    by : str or list of str, optional
        Label keys (columns, or keys of the ``labels`` dicts) whose shared values link alerts.
    similarity : float or None
        Token-Jaccard threshold of the message-similarity link (None: off).
    hops : int
        How many calls apart two services may be and still link (1 = direct neighbours).
    min_severity : str
        Groups of a single alert source below this severity are noise.
    similarity_window : str, optional
        Longest gap of a similarity link (default ``2 * window``).
    flap_count, flap_resolve, flap_gap
        Flapping detection (needs ``resolved_at``); ``flap_count=0`` turns it off.
    chunk_size : int
        Alerts per vectorised batch (bounds memory; batches whose temporaries stay in the CPU
        cache are faster than big ones: 20,000 is ~15% faster than 200,000 at 1M alerts).
    engine, client, progress
        ``engine="dask"`` (implied by a Dask DataFrame): correlate time slices cut at quiet
        gaps on a Dask cluster (see ``docs/scale.md``; returns a ``PartitionedCorrelation``).

    Returns
    -------
    Correlation
        ``.incidents``, ``.assignments``, ``.compression``, ``.dedup``, ``.explain(id)``.

    Examples
    --------
    >>> from jupyter_ops.datasets import incident_scenario
    >>> s = incident_scenario(seed=0)
    >>> c = correlate(s.alerts, topology=s.topology)
    >>> len(c.incidents) >= 5
    True
    """
    from ..report.provenance import make_provenance
    from ..scale import is_dask

    if engine is not None or is_dask(alerts):  # Dask: jupyter_ops.scale.correlate
        from ..scale.correlate import correlate_dask

        return correlate_dask(alerts, client=client, progress=progress, window=window,
                              topology=topology, by=by, similarity=similarity, hops=hops,
                              min_severity=min_severity, similarity_window=similarity_window,
                              flap_count=flap_count, flap_resolve=flap_resolve,
                              flap_gap=flap_gap, chunk_size=chunk_size)
    cfg = _settings(window, by, similarity, hops, min_severity, similarity_window, flap_count,
                    flap_resolve, flap_gap, chunk_size)
    df = canonical_alerts(alerts)
    topo = canonical_topology(topology)
    _check_by(df, cfg["by"])
    state = _link(df, topo, **_link_args(cfg))
    params = dict(cfg["params"], topology=topo is not None)
    result = Correlation(df, topo, state, params)
    # hashed now, not on first read: provenance must describe the input as it was at call time
    result.provenance = make_provenance(
        "correlate", params, inputs={"alerts": _hashable(df), "topology": topo})
    return result


def _settings(window: Any, by: Any, similarity: float | None, hops: int, min_severity: str,
              similarity_window: Any, flap_count: int, flap_resolve: Any, flap_gap: Any,
              chunk_size: int) -> dict[str, Any]:
    win = to_timedelta(window, "window")
    sim_win = to_timedelta(similarity_window, "similarity_window") if similarity_window \
        is not None else 2 * win
    if hops < 0:
        raise OpsInputError(f"hops={hops} must be >= 0 (0 = same service only)")
    if similarity is not None and not 0 < similarity <= 1:
        raise OpsInputError(f"similarity={similarity} must be in (0, 1], or None to turn it off")
    if min_severity not in SEVERITY_RANK:
        raise OpsInputError(f"min_severity={min_severity!r} is not one of "
                            f"{', '.join(SEVERITIES[1:])}")
    by_list = [by] if isinstance(by, str) else list(by or [])
    fr = to_timedelta(flap_resolve, "flap_resolve")
    fg = to_timedelta(flap_gap, "flap_gap")
    params = dict(window=str(win), by=by_list or None, similarity=similarity, hops=hops,
                  min_severity=min_severity, similarity_window=str(sim_win),
                  flap_count=flap_count, flap_resolve=str(flap_resolve), flap_gap=str(flap_gap))
    return dict(win=win, sim_win=sim_win, by=by_list, similarity=similarity, hops=hops,
                min_severity=min_severity, flap_count=flap_count, flap_resolve=fr,
                flap_gap=fg, chunk=max(1000, int(chunk_size)), params=params)


def _link_args(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: cfg[k] for k in ("win", "sim_win", "by", "similarity", "hops", "min_severity",
                                "flap_count", "flap_resolve", "flap_gap", "chunk")}


def _check_by(df: pd.DataFrame, by: list[str]) -> None:
    for key in by:
        if key not in df.columns and "labels" not in df.columns:
            raise OpsInputError(f"by={key!r}: the alerts have no column {key!r} and no 'labels' "
                                f"column; columns found: {', '.join(map(str, df.columns))}")


class AlertCorrelator:
    """Streaming correlation: feed alerts chunk by chunk (in time order), get one result.

    The state carried between chunks is the union of linked groups (as edges between global
    alert numbers), the explanation of each alert, flapping flags, and a *tail* of the most
    recent alerts (``horizon``, default: long enough for the window, the similarity window and
    a flapping cycle) that the next chunk can link to. Links that need an alert older than the
    horizon (a source still firing for hours) are not made, so a stream can differ slightly
    from one :func:`correlate` call over everything.

    Parameters are those of :func:`correlate`, plus ``topology`` and ``horizon``.

    Examples
    --------
    >>> ac = AlertCorrelator(topology=topo)          # doctest: +SKIP
    >>> for chunk in chunks: ac.update(chunk)        # doctest: +SKIP
    >>> corr = ac.result()                           # doctest: +SKIP
    """

    def __init__(self, window: Any = "5min", topology: Any = None, by: Any = None,
                 similarity: float | None = 0.5, hops: int = 1, min_severity: str = "error",
                 similarity_window: Any = None, flap_count: int = 3,
                 flap_resolve: Any = "10min", flap_gap: Any = "30min",
                 chunk_size: int = 20_000, horizon: Any = None) -> None:
        self.cfg = _settings(window, by, similarity, hops, min_severity, similarity_window,
                             flap_count, flap_resolve, flap_gap, chunk_size)
        self.topology = canonical_topology(topology)
        flap_span = max(1, flap_count) * (self.cfg["flap_resolve"] + self.cfg["flap_gap"])
        self.horizon = to_timedelta(horizon, "horizon") if horizon is not None else max(
            2 * self.cfg["win"], self.cfg["sim_win"], flap_span)
        self._frames: list[pd.DataFrame] = []
        self._n = 0
        self._edges: list[tuple[np.ndarray, np.ndarray]] = []
        self._parent: list[np.ndarray] = []
        self._reason: list[np.ndarray] = []
        self._aux: list[np.ndarray] = []
        self._dup: list[np.ndarray] = []
        self._flap = np.zeros(0, dtype=bool)
        self._tail: pd.DataFrame | None = None  # canonical rows + "_gid"
        self._last_ts: pd.Timestamp | None = None

    def update(self, alerts: Any) -> AlertCorrelator:
        """Add the next chunk of alerts (not older than the previous chunk's tail)."""
        df = canonical_alerts(alerts)
        _check_by(df, self.cfg["by"])
        if self._last_ts is not None and df["timestamp"].min() < self._last_ts - self.horizon:
            raise OpsInputError(
                f"chunks must arrive in time order: this chunk starts at "
                f"{df['timestamp'].min()}, more than the horizon ({self.horizon}) before the "
                f"last alert seen ({self._last_ts})")
        gid = np.arange(self._n, self._n + len(df), dtype=np.int64)
        self._frames.append(df)
        self._n += len(df)
        new = df.assign(_gid=gid)
        both = new if self._tail is None else pd.concat([self._tail, new], ignore_index=True)
        st = _link(both.drop(columns="_gid"), self.topology, **_link_args(self.cfg))
        g = both["_gid"].to_numpy()
        # every member joins the first member of its linked group
        first = pd.Series(g).groupby(st.raw).transform("first").to_numpy()
        self._edges.append((g, first))
        is_new = g >= gid[0] if len(gid) else np.zeros(len(g), dtype=bool)
        p = st.parent[is_new]
        self._parent.append(np.where(p >= 0, g[np.maximum(p, 0)], -1))
        self._reason.append(st.reason[is_new])
        self._aux.append(st.aux[is_new])
        self._dup.append(st.duplicate[is_new])
        self._flap = np.concatenate([self._flap, np.zeros(len(df), dtype=bool)])
        self._flap[g[st.flapping]] = True
        last = both["timestamp"].max()
        self._last_ts = last if self._last_ts is None else max(self._last_ts, last)
        self._tail = both[both["timestamp"] >= self._last_ts - self.horizon]
        return self

    def result(self) -> Correlation:
        """The correlation of everything seen so far."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        from ..report.provenance import make_provenance

        if not self._frames:
            raise OpsInputError("no alerts yet: call update(chunk) first")
        df = pd.concat(self._frames)
        if not df.index.is_unique:  # e.g. every chunk numbered from 0
            df = df.reset_index(drop=True)
        n = self._n
        ea = np.concatenate([a for a, _ in self._edges])
        eb = np.concatenate([b for _, b in self._edges])
        _, raw = connected_components(coo_matrix((np.ones(len(ea), np.int8), (ea, eb)),
                                                 shape=(n, n)), directed=False)
        sev_c, sev_u = pd.factorize(df["severity"])
        sev = np.array([SEVERITY_RANK.get(str(u), 0) for u in sev_u], dtype=np.int8)[sev_c]
        f = pd.factorize(df["fingerprint"])[0].astype(np.int64)
        comp = _decide(raw, f, sev, self._flap, to_ns(df["timestamp"]),
                       SEVERITY_RANK[self.cfg["min_severity"]])
        graph = Graph(self.topology, list(pd.unique(df["service"])))
        state = _State(comp, np.concatenate(self._parent), np.concatenate(self._reason),
                       np.concatenate(self._aux), self._flap.copy(), np.concatenate(self._dup),
                       graph, np.full(n, -1, dtype=np.int64), self.cfg["by"], raw)
        params = dict(self.cfg["params"], topology=self.topology is not None,
                      streaming=True, horizon=str(self.horizon), chunks=len(self._frames))
        result = Correlation(df, self.topology, state, params)
        topo = self.topology
        result.provenance = make_provenance(
            "AlertCorrelator", params, inputs={"alerts": _hashable(df), "topology": topo})
        return result


def _hashable(df: pd.DataFrame) -> pd.DataFrame:
    # dict labels hash via their text (slow for millions of rows): hash the other columns
    return df.drop(columns=[c for c in ("labels",) if c in df.columns])


# ------------------------------------------------------------------------------------------
# linking
# ------------------------------------------------------------------------------------------
@dataclass
class _State:
    component: np.ndarray  # per input row: incident id (0 = noise)
    parent: np.ndarray     # per input row: input position of the alert it joined (-1)
    reason: np.ndarray     # per input row: R_* code
    aux: np.ndarray        # per input row: hop distance / label key index
    flapping: np.ndarray   # per input row: part of a flapping source
    duplicate: np.ndarray  # per input row: exact duplicate of an earlier row
    graph: Graph
    msg_cluster: np.ndarray  # per input row: message-similarity cluster (-1 = none)
    by: list[str]
    raw: np.ndarray        # per input row: linked group before the noise decision
    # column -> (codes, uniques) of pd.factorize, shared with the incident table
    codes: dict[str, tuple[np.ndarray, Any]] = field(default_factory=dict)


def _link(df: pd.DataFrame, topo: pd.DataFrame | None, win: pd.Timedelta, sim_win: pd.Timedelta,
          by: list[str], similarity: float | None, hops: int, min_severity: str,
          flap_count: int, flap_resolve: pd.Timedelta, flap_gap: pd.Timedelta,
          chunk: int) -> _State:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(df)
    ts_all = to_ns(df["timestamp"])
    order = _time_order(ts_all)  # time order -> input position
    t = ts_all[order]
    fac = {c: pd.factorize(df[c]) for c in ("service", "fingerprint", "severity")}
    svc_codes, svc_uniques = fac["service"]
    graph = Graph(topo, [str(s) for s in svc_uniques])
    gcode = np.array([graph.code[str(s)] for s in svc_uniques], dtype=np.int64)
    s = gcode[svc_codes][order]
    f = fac["fingerprint"][0][order].astype(np.int64)
    sev_codes, sev_uniques = fac["severity"]
    sev = np.array([SEVERITY_RANK.get(str(u), 0) for u in sev_uniques], dtype=np.int8)[
        sev_codes][order]
    res = _resolved_ns(df, order)
    nat = np.iinfo(np.int64).min
    w, sw = win.value, sim_win.value

    # -- fingerprint: repeats, duplicates and flapping -------------------------------
    a, b, ta, tb, ra, dup, flap = _source_pairs(t, f, res, flap_count, flap_resolve,
                                                flap_gap)
    still = (tb - ta <= w)
    if ra is not None:
        still |= (ra != nat) & (tb <= ra)
    keep = still & ~flap[a] & ~flap[b]
    fa, fb = a[keep], b[keep]

    # -- the sequence that links (flapping sources left out) -------------------------
    live = np.flatnonzero(~flap)  # time positions
    m = len(live)
    lt, ls = t[live], s[live]

    # best parent per time position: (reason, parent time position, aux)
    best_r = np.full(n, R_NONE, dtype=np.int8)
    best_p = np.full(n, -1, dtype=np.int64)
    best_x = np.zeros(n, dtype=np.int16)

    scratch = np.empty(n, dtype=np.int64)  # reused: fresh 8 MB arrays cost page faults

    def offer(child: np.ndarray, parent: np.ndarray, reason: int, aux: np.ndarray | int = 0):
        """Record a link as the explanation when nothing better explains ``child``."""
        if not len(child):
            return
        # the most recent parent wins among equal reasons (a scatter-max, no sort); a parent
        # lies on one service, so its hop distance / label key (aux) is unique per child
        # (over the children's span only: a chunk of queries touches a chunk of alerts)
        lo = int(child.min())
        rel = child - lo
        top = _top_parent(int(rel.max()) + 1, rel, parent, scratch)
        c = np.flatnonzero(top >= 0)
        better = (best_r[c + lo] == R_NONE) | (best_r[c + lo] > reason)
        c = c[better]
        best_r[c + lo] = reason
        best_p[c + lo] = top[c]
        if np.ndim(aux):
            win = parent == top[rel]
            ax = np.zeros(len(top), dtype=np.int16)
            ax[rel[win]] = np.asarray(aux, dtype=np.int16)[win]
            best_x[c + lo] = ax[c]
        else:
            best_x[c + lo] = aux

    edges_a: list[np.ndarray] = [fa]
    edges_b: list[np.ndarray] = [fb]
    dmask = t[fb] == t[fa]
    offer(fb[dmask], fa[dmask], R_DUP)
    offer(fb[~dmask], fa[~dmask], R_FP)

    # Links between *different* sources need at least one "strong" end (at or above
    # min_severity, unknown severity, or a sustained source): lone low-severity alerts attach
    # to incidents but do not chain unrelated ones together through a background of noise.
    # A source that keeps firing (a repeat within the window / while unresolved) counts as
    # strong too: a sustained warning is a symptom, a lone blip is not.
    min_rank = SEVERITY_RANK[min_severity]
    sustained = np.zeros(n, dtype=bool)
    rep = t[fb] > t[fa]  # exact duplicates do not make a source sustained
    sustained[fa[rep]] = True
    sustained[fb[rep]] = True
    sl = sev[live]
    strong = (sl >= min_rank) | (sl == 0) | sustained[live]

    def _Index(code: np.ndarray) -> _LastIndex:  # noqa: N802 - reads like the class
        return _LastIndex(code, strong, lt)

    weak_c: list[np.ndarray] = []
    weak_p: list[np.ndarray] = []

    def add(ci: np.ndarray, cj: np.ndarray, reason: int, aux: Any = 0) -> None:
        # a weak alert keeps only its most recent partner (below), so it cannot bridge groups
        st = strong[ci]
        edges_a.append(live[cj[st]])
        edges_b.append(live[ci[st]])
        weak_c.append(ci[~st])
        weak_p.append(cj[~st])
        offer(live[ci], live[cj], reason, aux)

    # -- time alone: without a topology, or for services missing from it -------------
    known = graph.in_topology[ls] if topo is not None else np.zeros(m, dtype=bool)
    if m:
        q = np.flatnonzero(~known)
        if len(q):  # (every service in the topology: no index needed)
            tindex = _Index(np.zeros(m, dtype=np.int64))
            ci, cj = tindex.last(q, np.zeros(len(q), dtype=np.int64), w, grouped=True)
            add(ci, cj, R_TIME if topo is None else R_ABSENT)
        # same service (and, with a topology, neighbours within `hops`)
        if topo is not None:
            indptr, nbr, dist = graph.hops(hops)
        else:
            indptr = np.arange(graph.n + 1)
            nbr = np.arange(graph.n)
            dist = np.zeros(graph.n, dtype=np.int16)
        sindex = _Index(ls)
        for lo in range(0, m, chunk):
            qi = np.arange(lo, min(m, lo + chunk))
            ci, cj = sindex.last_same(qi, w)  # same service first, then neighbours
            add(ci, cj, R_SAME)
            qi, qn, qd = _expand_grouped(qi, ls, indptr, nbr, dist)
            ci, cj = sindex.last(qi, qn, w, grouped=True)
            add(ci, cj, R_NEIGH, qd[sindex.good])

        # -- shared labels -------------------------------------------------------------
        for k, key in enumerate(by):
            codes = _label_codes(df, key)[order][live]
            q = np.flatnonzero(codes >= 0)
            ci, cj = _Index(codes).last(q, codes[q], w)
            add(ci, cj, R_LABEL, k)

    # -- message similarity: a bridge for alerts nothing earlier explains -------------------
    cl_all = np.full(n, -1, dtype=np.int64)
    if similarity is not None and m:
        cl_in = _message_clusters(df, similarity, graph, fac)
        cl_all = cl_in[order]
        cl = cl_all[live]
        base = graph.n + 1
        combo_raw = cl * base + ls
        span = (int(cl.max()) + 1) * base
        if span <= 4 * m + 1_000_000:  # dense ranks of the (cluster, service) keys: no sort
            seen = np.zeros(span, dtype=bool)
            seen[combo_raw] = True
            uniq = np.flatnonzero(seen)
            combo = (np.cumsum(seen) - 1)[combo_raw]
        else:
            uniq = np.unique(combo_raw)
            combo = np.searchsorted(uniq, combo_raw)
        if topo is not None:
            indptr, nbr, dist = graph.hops(hops)
        else:  # no topology: any service
            indptr = np.arange(0, graph.n * graph.n + 1, graph.n)
            nbr = np.tile(np.arange(graph.n), graph.n)
            dist = np.zeros(graph.n * graph.n, dtype=np.int16)
        cindex = _Index(combo)
        lonely = np.flatnonzero(best_r[live] == R_NONE)
        for lo in range(0, len(lonely), chunk):
            qi, qn, _ = _expand(lonely[lo:lo + chunk], ls, indptr, nbr, dist)
            raw = cl[qi] * base + qn
            qc = np.searchsorted(uniq, raw)
            ok = (qc < len(uniq)) & (uniq[np.minimum(qc, len(uniq) - 1)] == raw)
            ci, cj = cindex.last(qi[ok], qc[ok], sw)
            add(ci, cj, R_SIM)

    if weak_c:
        wc, wp = np.concatenate(weak_c), np.concatenate(weak_p)
        if len(wc):
            top = _top_parent(m, wc, wp)  # most recent partner of each weak alert
            c = np.flatnonzero(top >= 0)
            edges_a.append(live[top[c]])
            edges_b.append(live[c])

    # -- groups --------------------------------------------------------------------------
    ea = np.concatenate(edges_a) if edges_a else np.zeros(0, np.int64)
    eb = np.concatenate(edges_b) if edges_b else np.zeros(0, np.int64)
    g = coo_matrix((np.ones(len(ea), dtype=np.int8), (ea, eb)), shape=(n, n))
    _, comp = connected_components(g, directed=False)

    # back to input order
    in_order = bool((order == np.arange(n)).all())

    def back(x: np.ndarray, dtype: Any) -> np.ndarray:
        if in_order:
            return x.astype(dtype, copy=True)
        out = np.empty(n, dtype=dtype)
        out[order] = x
        return out

    raw = back(comp, np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    has_p = best_p >= 0
    parent[order[has_p]] = order[best_p[has_p]]
    flapping = back(flap, bool)
    f_in, sev_in = back(f, np.int64), back(sev, np.int8)
    # scipy labels components in order of their lowest node (time position): with the input
    # already in time order that is the order of first appearance
    component = _decide(raw, f_in, sev_in, flapping, ts_all, SEVERITY_RANK[min_severity],
                        first_seen=in_order)
    return _State(component, parent, back(best_r, np.int8), back(best_x, np.int16), flapping,
                  back(dup, bool), graph, back(cl_all, np.int64), by, raw, fac)


def source_flags(alerts: pd.DataFrame, flap_count: int = 3,
                 flap_resolve: str | pd.Timedelta = "10min",
                 flap_gap: str | pd.Timedelta = "30min") -> tuple[np.ndarray, np.ndarray]:
    """Only the per-source flags of :func:`correlate` (same code, no linking): cheap.

    Parameters
    ----------
    alerts : DataFrame
        Canonical alerts: ``timestamp`` (UTC), ``fingerprint``, optional ``resolved_at``
        (e.g. :attr:`Correlation.alerts`, or what :func:`jupyter_ops.io.load_alerts` gives).
    flap_count, flap_resolve, flap_gap
        As in :func:`correlate`.

    Returns
    -------
    duplicate, flapping : ndarray of bool
        Per alert in input order: an exact duplicate of an earlier alert (same fingerprint and
        time); part of a flapping source.
    """
    fr = to_timedelta(flap_resolve, "flap_resolve")
    fg = to_timedelta(flap_gap, "flap_gap")
    ts = to_ns(alerts["timestamp"])
    order = _time_order(ts)
    f = pd.factorize(alerts["fingerprint"])[0][order].astype(np.int64)
    _, _, _, _, _, dup, flap = _source_pairs(ts[order], f, _resolved_ns(alerts, order),
                                             flap_count, fr, fg)
    out_dup = np.empty(len(ts), dtype=bool)
    out_flap = np.empty(len(ts), dtype=bool)
    out_dup[order], out_flap[order] = dup, flap
    return out_dup, out_flap


def _resolved_ns(df: pd.DataFrame, order: np.ndarray) -> np.ndarray | None:
    """``resolved_at`` in nanoseconds, time order (NaT = int64 min), or None."""
    if "resolved_at" not in df.columns:
        return None
    try:
        return to_ns(lenient_utc(df["resolved_at"]))[order]
    except (TypeError, ValueError):
        return None


def _source_pairs(t: np.ndarray, f: np.ndarray, res: np.ndarray | None, flap_count: int,
                  flap_resolve: pd.Timedelta, flap_gap: pd.Timedelta) -> tuple[Any, ...]:
    """Consecutive occurrences ``a -> b`` of one source (time positions; their times and
    ``a``'s resolution) and the per-alert duplicate and flapping flags, in time order."""
    n = len(t)
    nat = np.iinfo(np.int64).min
    fo = np.argsort(_small(f), kind="stable")  # by fingerprint, then time (radix sort)
    same = np.zeros(n, dtype=bool)
    same[1:] = f[fo[1:]] == f[fo[:-1]]
    a, b = fo[:-1][same[1:]], fo[1:][same[1:]]  # consecutive occurrences of one source
    ta, tb = t[a], t[b]
    dup = np.zeros(n, dtype=bool)
    dup[b[tb == ta]] = True
    flap = np.zeros(n, dtype=bool)
    ra = res[a] if res is not None else None
    if ra is not None and flap_count > 0 and len(a):
        cyc = (ra != nat) & (ra - ta <= flap_resolve.value) & (tb > ra) & \
              (tb - ra <= flap_gap.value)
        cycles = np.bincount(f[a][cyc], minlength=int(f.max()) + 1 if n else 0)
        flap = cycles[f] >= flap_count
    return a, b, ta, tb, ra, dup, flap


def _time_order(ts: np.ndarray) -> np.ndarray:
    """Input positions in time order, ties in input order (a stable sort, skipped when the
    alerts already come in time order, the usual case)."""
    if bool((ts[1:] >= ts[:-1]).all()):
        return np.arange(len(ts))
    return np.argsort(ts, kind="stable")


def _decide(comp: np.ndarray, f: np.ndarray, sev: np.ndarray, flap: np.ndarray,
            t: np.ndarray, min_rank: int, first_seen: bool = False) -> np.ndarray:
    """Incident id per alert (0 = noise) from raw linked groups: lone low-severity sources and
    flapping alerts are noise; ids 1..K follow the groups' first alert. ``first_seen``: the
    group labels already run 0.. in order of first appearance."""
    n = len(comp)
    if not n:
        return np.zeros(0, dtype=np.int64)
    if not first_seen:
        comp = pd.factorize(comp)[0]
    n_comp = int(comp.max()) + 1
    first_src = np.full(n_comp, -1, dtype=np.int64)
    first_src[comp[::-1]] = f[::-1]
    multi = np.zeros(n_comp, dtype=bool)
    np.logical_or.at(multi, comp, f != first_src[comp])
    max_sev = np.zeros(n_comp, dtype=np.int8)
    np.maximum.at(max_sev, comp, sev)
    has_live = np.zeros(n_comp, dtype=bool)
    has_live[comp[~flap]] = True
    noise_comp = (~multi & (max_sev < min_rank)) | ~has_live
    is_noise = noise_comp[comp] | flap
    comp_first = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(comp_first, comp, t)
    inc_comps = np.flatnonzero(~noise_comp)
    inc_comps = inc_comps[np.argsort(comp_first[inc_comps], kind="stable")]
    comp_id = np.zeros(n_comp, dtype=np.int64)
    comp_id[inc_comps] = np.arange(1, len(inc_comps) + 1)
    return np.where(is_noise, 0, comp_id[comp])


class _LastIndex:
    """"The last alert with code c strictly before position i": over all alerts for a strong
    asker, over strong alerts only for a weak one.

    One sorted array of ``code * m + position`` keys; the strong-only answer is the all-alerts
    answer stepped back to the last strong alert of the same code (a forward fill in key
    order), so there is one binary search per query.
    """

    def __init__(self, code: np.ndarray, strong: np.ndarray, lt: np.ndarray) -> None:
        m = len(code)
        self.m, self.strong, self.lt = m, strong, lt
        pos = np.flatnonzero(code >= 0).astype(np.int64)
        c = code[pos]
        o = np.argsort(_small(c), kind="stable")  # by code, then position (radix sort)
        pos, c = pos[o], c[o].astype(np.int64)
        self.key, self.pos = c * m + pos, pos
        back = np.where(strong[pos], np.arange(len(pos)), -1)
        np.maximum.accumulate(back, out=back)
        ok = back >= 0
        ok[ok] = c[back[ok]] == c[ok]
        self.prev_strong = np.where(ok, back, -1)
        self.rank: np.ndarray | None = None  # key rank of each position (when asked)
        self.good = np.zeros(0, dtype=np.int64)

    def last_same(self, qi: np.ndarray, win_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`last` for the alerts' own codes: the previous key, no search needed."""
        if self.rank is None:
            self.rank = np.full(self.m, -1, dtype=np.int64)
            self.rank[self.pos] = np.arange(len(self.pos))
        r = self.rank[qi]
        j = r - 1
        jj = np.maximum(j, 0)
        ok = (r >= 1) & (self.key[jj] >= self.key[np.maximum(r, 0)] - qi)  # same code
        return self._answer(qi, j, ok, win_ns)

    def last(self, qi: np.ndarray, qc: np.ndarray, win_ns: int,
             grouped: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Links ``(asker, partner)`` within ``win_ns``; ``self.good`` indexes the answered
        queries. ``grouped``: the queries come in runs of one code with ``qi`` ascending
        (sorted needles keep the binary search in cache: several times faster than random
        ones at a million keys); otherwise they are grouped here."""
        base = np.asarray(qc, dtype=np.int64) * self.m
        if grouped:
            j = np.searchsorted(self.key, base + qi, side="left") - 1
        else:
            o = np.argsort(_small(qc), kind="stable")
            j = np.empty(len(qi), dtype=np.int64)
            j[o] = np.searchsorted(self.key, (base + qi)[o], side="left") - 1
        ok = (j >= 0) & (self.key[np.maximum(j, 0)] >= base)  # same code
        return self._answer(qi, j, ok, win_ns)

    def _answer(self, qi: np.ndarray, j: np.ndarray, ok: np.ndarray,
                win_ns: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.flatnonzero(ok)
        q, jj = qi[idx], j[idx]
        lq = self.lt[q]
        # the latest candidate already too old: no partner (a weak asker's is older still)
        near = lq - self.lt[self.pos[jj]] <= win_ns
        idx, q, jj, lq = idx[near], q[near], jj[near], lq[near]
        weak = ~self.strong[q]
        if weak.any():
            jj[weak] = self.prev_strong[jj[weak]]
            keep = jj >= 0
            p = self.pos[np.maximum(jj, 0)]
            keep &= lq - self.lt[p] <= win_ns
            idx, q, p = idx[keep], q[keep], p[keep]
        else:
            p = self.pos[jj]
        self.good = idx
        return q, p


def _small(code: np.ndarray) -> np.ndarray:
    """Non-negative codes in the smallest integer type: numpy's stable argsort of 16-bit
    integers is a radix sort (linear), of wider ones a merge sort."""
    hi = int(code.max()) if len(code) else 0
    if hi < np.iinfo(np.int16).max:
        return code.astype(np.int16, copy=False)
    if hi < np.iinfo(np.int32).max:
        return code.astype(np.int32, copy=False)
    return code


def _top_parent(size: int, child: np.ndarray, parent: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
    """Per child (0..size-1) the largest (most recent) parent, -1 where none."""
    top = np.empty(size, dtype=np.int64) if out is None else out[:size]
    top.fill(-1)
    np.maximum.at(top, child, parent)
    return top


def _expand_grouped(i: np.ndarray, svc: np.ndarray, indptr: np.ndarray, nbr: np.ndarray,
                    dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alert, neighbouring service, hops) pairs for the ascending alerts ``i`` (the alert's
    own service left out), in runs of one (service, neighbour) pair with the alerts ascending
    inside each run."""
    o = i[np.argsort(_small(svc[i]), kind="stable")]  # alerts by service, ascending
    n_svc = len(indptr) - 1
    cnt = np.bincount(svc[o], minlength=n_svc)
    off = np.cumsum(cnt) - cnt
    ps = np.repeat(np.arange(n_svc), np.diff(indptr))  # the service of each CSR pair
    size = cnt[ps]
    keep = (size > 0) & (dist > 0)  # other services only
    ps, pc, pd_, size = ps[keep], nbr[keep], dist[keep], size[keep]
    total = int(size.sum())
    within = np.arange(total) - np.repeat(np.cumsum(size) - size, size)
    qi = o[np.repeat(off[ps], size) + within]
    return qi, np.repeat(pc.astype(np.int64), size), np.repeat(pd_, size)


def _expand(i: np.ndarray, svc: np.ndarray, indptr: np.ndarray, nbr: np.ndarray,
            dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alert, neighbouring service, hops) pairs for the alerts ``i``."""
    start = indptr[svc[i]]
    cnt = indptr[svc[i] + 1] - start
    qi = np.repeat(i, cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    k = np.repeat(start, cnt) + offs
    return qi, nbr[k].astype(np.int64), dist[k]


def _label_codes(df: pd.DataFrame, key: str) -> np.ndarray:
    if key in df.columns:
        vals = df[key]
    else:
        vals = pd.Series([d.get(key) if isinstance(d, dict) else _label_from_text(d, key)
                          for d in df["labels"]], index=df.index, dtype=object)
    codes = pd.factorize(vals.astype(object).where(vals.notna(), None))[0]
    return codes.astype(np.int64)


def _label_from_text(value: Any, key: str) -> Any:
    if isinstance(value, str):  # "k=v,k2=v2"
        for part in re.split(r"[,;]\s*", value):
            k, sep, v = part.partition("=")
            if sep and k.strip() == key:
                return v.strip()
    return None


def label_value(labels: Any, key: str) -> Any:
    return labels.get(key) if isinstance(labels, dict) else _label_from_text(labels, key)


_TOKEN = re.compile(r"[a-z][a-z0-9_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def tokens(text: str, drop: frozenset = frozenset()) -> frozenset:
    """Lower-case word tokens of a name/message (CamelCase split, digits and services dropped)."""
    words = _TOKEN.findall(_CAMEL.sub(" ", text).lower())
    return frozenset(w for w in words if w not in drop and not w.isdigit())


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _message_clusters(df: pd.DataFrame, threshold: float, graph: Graph,
                      cache: dict[str, tuple[np.ndarray, Any]] | None = None) -> np.ndarray:
    """Cluster ids of ``name + message`` texts whose token Jaccard >= threshold."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    # factorize the (name, message) pairs as integers: no million-row string concatenation
    cache = {} if cache is None else cache
    for col in ("name", "message"):
        if col not in cache:
            cache[col] = pd.factorize(df[col])
    nc, nu = cache["name"]
    mc, mu = cache["message"]
    pair = nc.astype(np.int64) * (len(mu) + 1) + mc
    codes, upair = pd.factorize(pair)
    nu_a, mu_a = np.asarray(nu, dtype=object), np.asarray(mu, dtype=object)
    upair = np.asarray(upair, dtype=np.int64)
    uniques = [f"{a} {b}" for a, b in zip(nu_a[upair // (len(mu) + 1)],
                                         mu_a[upair % (len(mu) + 1)], strict=False)]
    drop = frozenset(w for s in graph.names for w in _TOKEN.findall(s.lower())) | {
        "critical", "error", "warning", "info", "unknown"}
    toks = [tokens(str(u), drop) for u in uniques]
    u = len(uniques)
    if u > 20_000:  # too many distinct texts for pairwise similarity: exact text only
        return codes.astype(np.int64)
    # texts that differ only in dropped words (service names, numbers) have one token set:
    # compare distinct sets only (numbered by first text, so the cluster labels stay those of
    # a text-by-text comparison); an empty set shares no token and links to nothing
    set_ids: dict[Any, int] = {}
    tid = np.array([set_ids.setdefault(ts if ts else (None, r), len(set_ids))
                    for r, ts in enumerate(toks)], dtype=np.int64)
    toks = [k if isinstance(k, frozenset) else frozenset() for k in set_ids]
    u = len(toks)
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for r, ts in enumerate(toks):
        for w in ts:
            rows.append(r)
            cols.append(vocab.setdefault(w, len(vocab)))
    x = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                          shape=(u, max(1, len(vocab))))
    inter = (x @ x.T).tocoo()
    size = np.asarray(x.sum(axis=1)).ravel()
    union = size[inter.row] + size[inter.col] - inter.data
    jac = np.where(union > 0, inter.data / np.maximum(union, 1), 1.0)
    keep = jac >= threshold
    g = sparse.coo_matrix((np.ones(int(keep.sum())), (inter.row[keep], inter.col[keep])),
                          shape=(u, u))
    _, lab = connected_components(g, directed=False)
    return lab[tid][codes].astype(np.int64)


# ------------------------------------------------------------------------------------------
# result
# ------------------------------------------------------------------------------------------
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
        Hashed on first read (a report or payload), not inside :func:`correlate`: hashing a
        million alerts takes about 0.1 s.
    """

    kind = "correlation"

    def __init__(self, alerts: pd.DataFrame, topology: pd.DataFrame | None, state: _State,
                 params: dict[str, Any]) -> None:
        self._make_provenance: Any = None
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

    # -- provenance: set by correlate() at call time; a deferred maker is still honoured
    @property
    def provenance(self) -> dict[str, Any]:  # type: ignore[override]
        if self._make_provenance is not None:
            self._provenance = self._make_provenance()
            self._make_provenance = None
        return self._provenance

    @provenance.setter
    def provenance(self, value: dict[str, Any]) -> None:
        self._provenance = value
        self._make_provenance = None

    def _defer_provenance(self, make: Any) -> None:
        self._make_provenance = make

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
        out["max_severity"] = pd.Series(np.asarray(SEVERITIES, dtype=object)[maxsev[1:]],
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
            reason = self._reason(p, r, q)
            if q < 0 and k > 0:
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
            ta = tokens(f"{a['name'].iat[p]} {a['message'].iat[p]}", drop)
            tb = tokens(f"{a['name'].iat[q]} {a['message'].iat[q]}", drop)
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
            "and flapping sources (noise).")
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
