"""A second root-cause scenario family, designed independently of the ranker: a structural
causal model (SCM) of service metrics on a random dependency DAG.

:func:`incident_scenario` walks a layered topology and lets the root cause fire first, with
the most severe alert; a ranker that rewards onset, severity and volume is close to right by
construction there. Here nothing is arranged for the ranker:

* **metrics are caused, not painted**: every service's latency is its own noise plus a
  (linear or non-linear: ``tanh``, square, softplus) function of its callees' latency, each
  link with a random weight and a lag of 0-2 minutes (a random DAG; optionally a shared
  database that many services call: fan-in);
* **faults** are a level shift or a noise change (variance x3-5) in the root cause's own term;
* **alerts** come from thresholds on the metrics (robust z of 4 for 2 minutes), so noisy
  services alert early or late by chance; the root cause alerts normally, late (10-25
  minutes), or never; ``alerts="sli"`` keeps only the user-facing services' alerts
  (services nobody calls);
* **two simultaneous root causes** (``roots=2``) in different parts of the graph.

Ground truth: ``truth.root_causes`` (one or two services) and the fault time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError

__all__ = ["RCAScenario", "scm_scenario", "scm_scenarios"]

_T0 = pd.Timestamp("2026-02-02 12:00", tz="UTC")


@dataclass
class RCAScenario:
    """One SCM fault scenario.

    Attributes
    ----------
    topology : DataFrame
        ``caller``, ``callee`` (a DAG; a fault propagates from callee to caller).
    metrics : DataFrame
        Long form ``timestamp``, ``service``, ``metric`` (``latency_ms``), ``value``, 1-minute.
    alerts : DataFrame
        ``timestamp``, ``service``, ``name``, ``severity``, ``message`` (with numbers).
    root_causes : tuple of str
    fault_time : Timestamp
    sli : tuple of str
        The user-facing services (nobody calls them).
    params : dict
    """

    topology: pd.DataFrame
    metrics: pd.DataFrame
    alerts: pd.DataFrame
    root_causes: tuple
    fault_time: pd.Timestamp
    sli: tuple
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"RCAScenario(roots={self.root_causes}, services="
                f"{self.metrics['service'].nunique()}, alerts={len(self.alerts)}, "
                f"{self.params.get('fault')}, {self.params.get('link')})")


def scm_scenario(seed: int = 0, n_services: int = 20, fault: str = "level",
                 link: str = "linear", roots: int = 1, root_alerts: str = "late",
                 alerts: str = "all", fan_in: bool = False, minutes: int = 180,
                 fault_at: int | None = None) -> RCAScenario:
    """Generate one SCM fault scenario (deterministic by ``seed``).

    Parameters
    ----------
    seed : int
    n_services : int
        Nodes of the random DAG (>= 4).
    fault : {"level", "noise"}
        Level shift (+6-10 sigma) or noise change (sigma x3-5) of the root cause's own term.
    link : {"linear", "nonlinear"}
        How a callee's deviation reaches its caller.
    roots : {1, 2}
        Simultaneous root causes (two: in different parts of the graph).
    root_alerts : {"normal", "late", "never"}
        Whether the root cause's own alerts fire as the threshold says, 10-25 minutes late,
        or never.
    alerts : {"all", "sli"}
        Every service's threshold alerts, or only the user-facing services'.
    fan_in : bool
        Add a shared database called by at least a third of the services.
    minutes : int
        Length of the series (1-minute samples); the fault starts after 55-70% of it.

    Returns
    -------
    RCAScenario
    """
    if n_services < 4:
        raise OpsInputError(f"n_services={n_services} must be >= 4")
    for name, value, allowed in (("fault", fault, ("level", "noise")),
                                 ("link", link, ("linear", "nonlinear")),
                                 ("root_alerts", root_alerts, ("normal", "late", "never")),
                                 ("alerts", alerts, ("all", "sli"))):
        if value not in allowed:
            raise OpsInputError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    if roots not in (1, 2):
        raise OpsInputError(f"roots={roots} must be 1 or 2")
    rng = np.random.default_rng(seed)
    n = n_services
    names = [f"svc-{i:02d}" for i in range(n)]
    # random DAG: node i may call nodes j > i (0 is the front end side)
    edges: set[tuple[int, int]] = set()
    for j in range(1, n):
        k = int(rng.integers(1, 3)) if j > 1 else 1
        for i in rng.choice(j, size=min(k, j), replace=False):
            edges.add((int(i), j))
    if fan_in:
        db = n - 1
        names[db] = "shared-db"
        for i in rng.choice(n - 1, size=max(3, n // 3), replace=False):
            edges.add((int(i), db))
    callers = {j: [i for i, jj in edges if jj == j] for j in range(n)}
    callees = {i: sorted(j for ii, j in edges if ii == i) for i in range(n)}
    sli = tuple(names[i] for i in range(n) if not callers[i])
    # root causes: not a user-facing service (a fault there is trivially visible); two roots
    # in different parts of the graph (neither reaches the other)
    inner = [i for i in range(n) if callers[i]]
    downstream = _closure(callees, n)
    # an incident is something users saw: draw root(s) and fault until a user-facing service
    # crosses its alert threshold (a fault nobody upstream notices is not an RCA case)
    for _attempt in range(40):
        first = int(rng.choice(inner))
        chosen = [first]
        if roots == 2:
            others = [i for i in inner if i != first and i not in downstream[first]
                      and first not in downstream[i]]
            if not others:
                others = [i for i in inner if i != first]
            chosen.append(int(rng.choice(others)))
        T = int(minutes)
        t_f = int(fault_at) if fault_at is not None else int(rng.integers(int(0.55 * T),
                                                                          int(0.7 * T)))
        base = rng.uniform(20, 200, n)
        sigma = base * rng.uniform(0.03, 0.08, n)
        own = rng.normal(0.0, 1.0, (n, T)) * sigma[:, None]
        for r in chosen:
            if fault == "level":
                own[r, t_f:] += rng.uniform(6, 10) * sigma[r]
            else:
                own[r, t_f:] *= rng.uniform(3, 5)
        w = {e: rng.uniform(0.7, 1.0) for e in sorted(edges)}
        lag = {e: int(rng.integers(0, 3)) for e in sorted(edges)}
        kind = {e: str(rng.choice(["tanh", "square", "softplus"])) for e in sorted(edges)}
        dev = np.zeros((n, T))  # deviation of each service from its baseline
        for j in range(n - 1, -1, -1):  # callees have larger indices: compute them first
            d = own[j].copy()
            for c in callees[j]:
                src = dev[c] / sigma[c]  # in the callee's sigmas
                shifted = np.concatenate([np.zeros(lag[(j, c)]), src[:T - lag[(j, c)]]])
                d += w[(j, c)] * sigma[c] * _link(shifted, link, kind[(j, c)])
            dev[j] = d
        value = base[:, None] + dev
        ref_v = value[:, : int(0.4 * minutes)]
        med_v = np.median(ref_v, axis=1)
        mad_v = np.median(np.abs(ref_v - med_v[:, None]), axis=1) * 1.4826 + 1e-9
        zz = np.abs(value - med_v[:, None]) / mad_v[:, None]
        user = [i for i in range(n) if not callers[i]]
        hot_u = zz[user][:, t_f:] >= 4.0
        if (hot_u[:, 1:] & hot_u[:, :-1]).any():
            break
    ts = _T0 + pd.to_timedelta(np.arange(T), unit="min")
    metrics = pd.DataFrame({
        "timestamp": np.tile(ts, n), "service": np.repeat(names, T),
        "metric": "latency_ms", "value": value.ravel().round(3)})
    # threshold alerts: robust z against the first 40% of the series, 2 minutes in a row
    ref = value[:, : int(0.4 * T)]
    med = np.median(ref, axis=1)
    mad = np.median(np.abs(ref - med[:, None]), axis=1) * 1.4826 + 1e-9
    z = np.abs(value - med[:, None]) / mad[:, None]
    rows = []
    for i in range(n):
        hot = z[i] >= 4.0
        fire = np.flatnonzero(hot[1:] & hot[:-1]) + 1
        if not len(fire):
            continue
        if i in chosen:
            if root_alerts == "never":
                continue
            if root_alerts == "late":
                fire = fire + int(rng.integers(10, 26))
                fire = fire[fire < T]
        if alerts == "sli" and names[i] not in sli:
            continue
        # one alert when it starts firing, then a repeat every 5 minutes while it fires
        keep = fire[np.concatenate([[True], np.diff(fire) >= 5])] if len(fire) else fire
        for t in keep:
            v = value[i, t]
            user = names[i] in sli
            rows.append({
                "timestamp": ts[t] + pd.Timedelta(seconds=int(rng.integers(0, 50))),
                "service": names[i],
                "name": "SLOLatencyBurn" if user else "HighLatency",
                "severity": "critical" if user else str(rng.choice(["error", "warning"])),
                "message": f"p99 latency {v:.0f}ms > {med[i] + 4 * mad[i]:.0f}ms on "
                           f"{names[i]}-{int(rng.integers(0, 5))}"})
    al = pd.DataFrame(rows, columns=["timestamp", "service", "name", "severity", "message"])
    al = al.sort_values("timestamp", kind="stable").reset_index(drop=True)
    topo = pd.DataFrame(sorted((names[a], names[b]) for a, b in edges),
                        columns=["caller", "callee"])
    params = dict(seed=seed, n_services=n, fault=fault, link=link, roots=roots,
                  root_alerts=root_alerts, alerts=alerts, fan_in=fan_in, minutes=T)
    return RCAScenario(topo, metrics, al, tuple(names[r] for r in chosen), ts[t_f], sli,
                       params)


def scm_scenarios(n: int = 40, seed: int = 0, alerts: str = "all") -> list[RCAScenario]:
    """A varied set of :func:`scm_scenario` (the benchmark's second family): faults, links,
    one or two roots, root alerts normal/late/never, fan-in, 12-30 services."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        out.append(scm_scenario(
            seed=int(rng.integers(0, 2**31)), n_services=int(rng.choice([12, 20, 30])),
            fault=str(rng.choice(["level", "noise"])),
            link=str(rng.choice(["linear", "nonlinear"])),
            roots=int(rng.choice([1, 1, 1, 2])),
            root_alerts=str(rng.choice(["normal", "late", "never"])), alerts=alerts,
            fan_in=bool(rng.random() < 0.4)))
    return out


def _link(x: np.ndarray, link: str, kind: str) -> np.ndarray:
    if link == "linear":
        return x
    if kind == "tanh":
        return 8.0 * np.tanh(x / 8.0)
    if kind == "square":
        return np.sign(x) * x * x / 4.0
    return np.log1p(np.exp(np.clip(x, -30, 30))) - np.log(2.0)  # softplus, 0 at 0


def _closure(callees: dict[int, list[int]], n: int) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for i in range(n - 1, -1, -1):
        s: set[int] = set()
        for c in callees[i]:
            s.add(c)
            s |= out.get(c, set())
        out[i] = s
    return out
