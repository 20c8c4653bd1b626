"""``incident_scenario``: a microservice shop with outages, alerts, metrics, logs and truth.

The story: an online shop runs ``n_services`` services in tiers (front ends -> gateways ->
business services -> data stores). Over ``hours`` hours, ``n_incidents`` faults happen. Each
starts at one *root-cause* service (sometimes right after a deploy of that service) and spreads
to its callers, hop by hop, with a delay of one to four minutes per hop: the callers see the
latency and errors of what they call. Monitoring turns this into alerts (the root cause and the
affected callers fire, re-notify and get acknowledged/resolved), mixed with background noise
(unrelated low-severity alerts), a few *flapping* alerts (fire, resolve within minutes, fire
again) and exact duplicate notifications. Everything is generated from one seed with numpy
(no per-alert Python loop), so a million alerts take seconds.

``.truth`` says which alert belongs to which incident (``<NA>`` for noise and flapping alerts),
where each incident started and which service caused it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import OpsInputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = ["incident_scenario", "IncidentScenario", "IncidentTruth"]

# -- service catalogue ---------------------------------------------------------------------
_TIER_NAMES = [
    ["web", "mobile-bff", "admin-ui", "partner-portal"],
    ["api-gateway", "edge-proxy", "graphql"],
    ["checkout", "payments", "cart", "catalog", "search", "users", "auth", "inventory",
     "shipping", "orders", "recommendations", "notifications", "pricing", "reviews", "fraud",
     "loyalty", "promotions", "invoicing"],
    ["orders-db", "payments-db", "users-db", "redis-cache", "kafka", "search-index",
     "inventory-db", "blob-store", "catalog-db", "session-store"],
]
#: share of services in each tier
_TIER_SHARE = (0.12, 0.12, 0.50, 0.26)
_TEAMS = ["storefront", "platform", "payments", "growth", "fulfilment", "data"]

#: alert names a faulty service raises (root cause: first rows, callers: last rows)
_ROOT_ALERTS = {
    2: ["HighErrorRate", "HighLatencyP99", "PodCrashLooping", "MemoryPressure"],
    3: ["DBConnectionsExhausted", "ReplicationLagHigh", "SlowQueries", "DiskIOSaturated"],
}
_CALLER_ALERTS = ["UpstreamErrors", "HighLatencyP99", "HighErrorRate", "CircuitBreakerOpen"]
_NOISE_ALERTS = ["DiskSpaceLow", "CertificateExpiresSoon", "NodeClockSkew", "BackupSlow",
                 "CronJobFailed", "HighGCPause", "QueueDepthHigh", "ConfigReloadFailed"]
_FLAP_ALERTS = ["HealthCheckFlapping", "TargetDown", "ProbeTimeout"]

_SEVERITIES = ["critical", "error", "warning", "info"]
_METRICS = ["latency_ms", "error_rate", "cpu"]


@dataclass
class IncidentTruth:
    """Ground truth of an :class:`IncidentScenario`.

    Attributes
    ----------
    incidents : DataFrame
        One row per incident: ``incident_id`` (int, 1-based), ``start`` (fault onset at the root
        cause, UTC), ``end``, ``root_cause`` (service), ``services`` (tuple of affected
        services, root cause first), ``cause`` (``deploy`` or ``fault``), ``n_alerts``.
    alert_incident : Series
        Aligned with ``scenario.alerts`` (same index): the incident id of each alert
        (``Int64``), ``<NA>`` for noise and flapping alerts.
    alert_kind : Series
        Aligned with the alerts: ``incident``, ``duplicate``, ``noise`` or ``flapping``.
    """

    incidents: pd.DataFrame
    alert_incident: pd.Series
    alert_kind: pd.Series


@dataclass
class IncidentScenario:
    """Generated observability data of a microservice system with known incidents.

    Attributes
    ----------
    topology : DataFrame
        Service dependencies, ``caller`` -> ``callee`` (a layered, mostly acyclic graph;
        ``cycles=`` adds back edges).
    services : DataFrame
        ``service``, ``tier`` (0 front end .. 3 data store), ``team``.
    metrics : DataFrame
        Long form: ``timestamp``, ``service``, ``metric`` (``latency_ms``, ``error_rate``,
        ``cpu``), ``value``; daily seasonality plus noise, faults raise latency/errors.
    logs : DataFrame
        Canonical logs: ``timestamp``, ``service``, ``level``, ``message``.
    alerts : DataFrame
        Canonical alerts in time order: ``timestamp``, ``service``, ``name``, ``severity``,
        ``message``, ``host``, ``labels`` (dict), ``fingerprint``, ``acknowledged_at``,
        ``resolved_at``.
    deploys : DataFrame
        Change events: ``timestamp``, ``service``, ``kind``, ``description``.
    truth : IncidentTruth
    seed : int
    params : dict
        The arguments the scenario was generated with.
    """

    topology: pd.DataFrame
    services: pd.DataFrame
    metrics: pd.DataFrame
    logs: pd.DataFrame
    alerts: pd.DataFrame
    deploys: pd.DataFrame
    truth: IncidentTruth
    seed: int
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"IncidentScenario(seed={self.seed}, services={len(self.services)}, "
                f"incidents={len(self.truth.incidents)}, alerts={len(self.alerts):,}, "
                f"metrics={len(self.metrics):,} rows, logs={len(self.logs):,} lines, "
                f"deploys={len(self.deploys)})")


def incident_scenario(
    seed: int = 0,
    n_services: int = 12,
    n_incidents: int = 5,
    hours: float = 24,
    n_alerts: int | None = None,
    noise_rate: float = 0.15,
    flapping: int = 2,
    duplicates: float = 0.05,
    deploy_share: float = 0.6,
    cycles: int = 0,
    start: str = "2026-01-05",
    with_metrics: bool = True,
    with_logs: bool = True,
    logs_per_hour: int = 12,
) -> IncidentScenario:
    """Generate a microservice incident scenario with ground truth (deterministic by seed).

    Parameters
    ----------
    seed : int
        Seed of every random choice; the same arguments give byte-identical frames.
    n_services : int
        Number of services (3 .. 5000); names are realistic (``checkout``, ``payments-db``),
        numbered once the catalogue runs out.
    n_incidents : int
        Number of incidents. They do not overlap in time (each gets its own slot), so the
        truth is recoverable from the alerts.
    hours : float
        Length of the observed period.
    n_alerts : int, optional
        Total alert volume (approximate; the exact count is ``len(scenario.alerts)``). By
        default about 45 alerts per incident plus noise. Use e.g. ``n_alerts=1_000_000`` (with
        ``with_metrics=False``) for scale tests.
    noise_rate : float
        Share of alerts that belong to no incident (background noise and flapping).
    flapping : int
        Number of flapping alert sources (fire, resolve within minutes, fire again).
    duplicates : float
        Share of notifications delivered twice (exact duplicate rows).
    deploy_share : float
        Share of incidents caused by a deploy of the root-cause service 2-15 minutes before.
    cycles : int
        Number of back edges added to the topology (callee calls caller), to test cycles.
    start : str
        Start of the period (UTC).
    with_metrics, with_logs : bool
        Generate the per-minute metrics / the logs (skip them for large alert volumes).
    logs_per_hour : int
        Background log lines per service and hour.

    Returns
    -------
    IncidentScenario

    Examples
    --------
    >>> from jupyter_ops.datasets import incident_scenario
    >>> s = incident_scenario(seed=1)
    >>> s.truth.incidents[["incident_id", "root_cause"]].shape[0]
    5
    """
    import numpy as np
    import pandas as pd

    _check(n_services >= 3 and n_services <= 5000, "n_services must be between 3 and 5000")
    _check(n_incidents >= 0, "n_incidents must be >= 0")
    _check(hours > 0, "hours must be > 0")
    _check(0 <= noise_rate < 1, "noise_rate must be in [0, 1)")
    _check(0 <= duplicates < 1, "duplicates must be in [0, 1)")
    _check(0 <= deploy_share <= 1, "deploy_share must be in [0, 1]")
    _check(flapping >= 0 and cycles >= 0, "flapping and cycles must be >= 0")
    _check(n_alerts is None or n_alerts >= 0, "n_alerts must be >= 0")
    minutes = int(round(hours * 60))
    _check(n_incidents == 0 or minutes / n_incidents >= 6,
           f"{n_incidents} incidents do not fit in {hours} hours: give each at least 6 minutes")
    try:
        t0 = pd.Timestamp(start)
    except (ValueError, TypeError):
        raise OpsInputError(f"start={start!r} is not a timestamp; use e.g. '2026-01-05'")
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    t0_ns = t0.value
    rng = np.random.default_rng(seed)
    params = dict(seed=seed, n_services=n_services, n_incidents=n_incidents, hours=hours,
                  n_alerts=n_alerts, noise_rate=noise_rate, flapping=flapping,
                  duplicates=duplicates, deploy_share=deploy_share, cycles=cycles, start=start,
                  with_metrics=with_metrics, with_logs=with_logs, logs_per_hour=logs_per_hour)

    # -- topology --------------------------------------------------------------------
    names, tiers = _service_names(n_services)
    services = pd.DataFrame({"service": names, "tier": tiers,
                             "team": [_TEAMS[i % len(_TEAMS)] for i in range(n_services)]})
    edges = _topology(rng, tiers, cycles)
    topology = pd.DataFrame({"caller": [names[a] for a, _ in edges],
                             "callee": [names[b] for _, b in edges]})
    callers: list[list[int]] = [[] for _ in range(n_services)]
    for a, b in edges:
        callers[b].append(a)

    # -- incidents -------------------------------------------------------------------
    if n_alerts is None:
        per_incident = 45
        total_incident_alerts = per_incident * n_incidents
        n_noise_total = int(round(total_incident_alerts * noise_rate / (1 - noise_rate)))
        if n_incidents == 0:
            n_noise_total = int(round(4 * hours))
    else:
        n_noise_total = int(round(n_alerts * noise_rate))
        total_incident_alerts = max(0, int(round(n_alerts * (1 - duplicates))) - n_noise_total)
        if n_incidents == 0:
            n_noise_total += total_incident_alerts
            total_incident_alerts = 0
    slot = minutes / max(n_incidents, 1)
    candidates = np.array([i for i in range(n_services) if callers[i]], dtype=int)
    if not len(candidates):  # pragma: no cover - every topology has callees
        candidates = np.arange(n_services)
    inc_rows = []
    fp_rows = []  # (incident, service, name, severity, onset_ns, end_ns, count)
    deploys_rows = []
    log_events = []  # (ts_ns, service, level, message)
    if n_incidents:
        shares = rng.dirichlet(np.full(n_incidents, 4.0)) if n_incidents > 1 else np.ones(1)
        counts = np.maximum(4, np.round(shares * total_incident_alerts).astype(int))
    for k in range(n_incidents):
        dur = float(min(rng.uniform(12, 40), 0.55 * slot))
        lo = k * slot + 0.15 * slot
        hi = (k + 1) * slot - dur - 0.2 * slot
        onset = lo if hi <= lo else rng.uniform(lo, hi)
        root = int(rng.choice(candidates))
        # spread upstream (callee -> callers), hop by hop with a 1-4 min delay
        affected = {root: 0.0}
        frontier = [root]
        while frontier and len(affected) < 8:
            nxt = []
            for s in frontier:
                cs = [c for c in callers[s] if c not in affected]
                if not cs:
                    continue
                go = rng.random(len(cs)) < 0.75
                if s == root and not go.any():
                    go[rng.integers(len(cs))] = True
                for c, g in zip(cs, go, strict=False):
                    if g and len(affected) < 8:
                        affected[c] = affected[s] + float(rng.uniform(1, 4))
                        nxt.append(c)
            frontier = nxt
        order = sorted(affected, key=lambda s: affected[s])
        max_delay = max(affected.values())
        dur = max(dur, max_delay + 4)
        start_ns = t0_ns + int(onset * 60e9)
        end_ns = start_ns + int(dur * 60e9)
        cause = "deploy" if rng.random() < deploy_share else "fault"
        if cause == "deploy":
            dep_ns = start_ns - int(rng.uniform(2, 15) * 60e9)
            version = f"v{rng.integers(1, 5)}.{rng.integers(0, 30)}.{rng.integers(0, 10)}"
            deploys_rows.append((dep_ns, names[root], "deploy",
                                 f"{names[root]} {version} rolled out"))
        # alert sources: the root cause raises 2-3 alerts, callers 1-2
        srcs = []
        for s in order:
            if s == root:
                pool = _ROOT_ALERTS[3] if tiers[s] == 3 else _ROOT_ALERTS[2]
                chosen = rng.choice(len(pool), size=int(rng.integers(2, 4)), replace=False)
                for j, c in enumerate(sorted(chosen)):
                    sev = "critical" if j == 0 else "error"
                    srcs.append((s, pool[c], sev))
            else:
                chosen = rng.choice(len(_CALLER_ALERTS), size=int(rng.integers(1, 3)),
                                    replace=False)
                for c in sorted(chosen):
                    srcs.append((s, _CALLER_ALERTS[c], "error" if rng.random() < 0.5
                                 else "warning"))
        n_k = int(counts[k])
        per_src = _split(rng, n_k, len(srcs))
        for (s, name, sev), cnt in zip(srcs, per_src, strict=False):
            detect = affected[s] + float(rng.uniform(0.5, 2.0))  # detection lag of monitoring
            fp_rows.append((k + 1, s, name, sev, start_ns + int(detect * 60e9), end_ns, cnt))
        inc_rows.append((k + 1, start_ns, end_ns, names[root],
                         tuple(names[s] for s in order), cause))
        for s in order:
            t = start_ns + int((affected[s] + 0.3) * 60e9)
            if s == root:
                msg = (f"ERROR {names[s]}: request failed: "
                       + ("connection pool exhausted" if tiers[s] == 3
                          else "NullPointerException in handler"))
            else:
                dn = [d for d in order if d != s and s in callers[d]]
                tgt = names[dn[0]] if dn else names[root]
                msg = f"ERROR {names[s]}: timeout calling {tgt} after 3000 ms"
            log_events.append((t, names[s], "ERROR", msg, end_ns))

    # background deploys, away from incidents
    n_bg_deploys = int(rng.poisson(hours / 6))
    for _ in range(n_bg_deploys):
        s = int(rng.integers(n_services))
        ts = t0_ns + int(rng.uniform(0, minutes) * 60e9)
        near = any(abs(ts - r[1]) < 60 * 60e9 for r in inc_rows)
        if near:
            continue
        deploys_rows.append((ts, names[s], "deploy" if rng.random() < 0.7 else "config",
                             f"{names[s]} routine {'release' if rng.random() < 0.7 else 'config change'}"))
    deploys_rows.sort(key=lambda r: (r[0], r[1]))
    deploys = pd.DataFrame({
        "timestamp": pd.to_datetime(np.array([r[0] for r in deploys_rows], dtype="int64"),
                                    utc=True),
        "service": pd.Series([r[1] for r in deploys_rows], dtype=object).astype(str),
        "kind": pd.Series([r[2] for r in deploys_rows], dtype=object).astype(str),
        "description": pd.Series([r[3] for r in deploys_rows], dtype=object).astype(str),
    })

    # -- alerts: incident notifications (vectorised per source) ----------------------
    ts_parts, src_parts, kind_parts, inc_parts, ack_parts, res_parts = [], [], [], [], [], []
    fp_service, fp_name, fp_sev, fp_host = [], [], [], []
    for i, (k, s, name, sev, on_ns, end_ns, cnt) in enumerate(fp_rows):
        # first notification at onset, repeats spread until the end of the incident
        extra = np.sort(rng.uniform(on_ns, max(end_ns, on_ns + 60e9), size=cnt - 1))
        ts = np.concatenate([[on_ns], extra]).astype("int64")
        ack = on_ns + int(rng.uniform(2, 12) * 60e9)
        res = end_ns + int(rng.uniform(0, 5) * 60e9)
        ts_parts.append(ts)
        src_parts.append(np.full(cnt, i, dtype=np.int64))
        kind_parts.append(np.zeros(cnt, dtype=np.int8))
        inc_parts.append(np.full(cnt, k, dtype=np.int64))
        ack_parts.append(np.maximum(ts, ack))
        res_parts.append(np.maximum(ts + int(60e9), np.full(cnt, res, dtype=np.int64)))
        fp_service.append(s)
        fp_name.append(name)
        fp_sev.append(sev)
        fp_host.append(f"{names[s]}-{int(rng.integers(0, 3))}")
    n_inc_src = len(fp_rows)

    # -- noise: unrelated, mostly low-severity alerts at random times --------------------
    n_flap_alerts = 0
    flap_counts = []
    if flapping:
        flap_counts = [int(rng.integers(6, 13)) for _ in range(flapping)]
        n_flap_alerts = sum(flap_counts)
    n_noise = max(0, n_noise_total - n_flap_alerts)
    n_noise_src = max(1, min(len(_NOISE_ALERTS) * n_services, max(1, n_noise // 3)))
    noise_src_service = rng.integers(0, n_services, size=n_noise_src)
    noise_src_name = rng.integers(0, len(_NOISE_ALERTS), size=n_noise_src)
    noise_src_sev = rng.choice(np.array([1, 2, 3]), size=n_noise_src, p=[0.15, 0.55, 0.30])
    base_src = len(fp_service)
    for j in range(n_noise_src):
        fp_service.append(int(noise_src_service[j]))
        fp_name.append(_NOISE_ALERTS[int(noise_src_name[j])])
        fp_sev.append(_SEVERITIES[int(noise_src_sev[j])])
        fp_host.append(f"{names[int(noise_src_service[j])]}-{int(rng.integers(0, 3))}")
    if n_noise:
        ts = t0_ns + (rng.uniform(0, minutes, size=n_noise) * 60e9).astype("int64")
        src = base_src + rng.integers(0, n_noise_src, size=n_noise)
        ts_parts.append(ts)
        src_parts.append(src.astype(np.int64))
        kind_parts.append(np.full(n_noise, 2, dtype=np.int8))
        inc_parts.append(np.zeros(n_noise, dtype=np.int64))
        acked = rng.random(n_noise) < 0.5
        ack_parts.append(np.where(acked, ts + (rng.uniform(1, 20, n_noise) * 60e9).astype("int64"),
                                  np.iinfo("int64").min))
        res_parts.append(ts + (rng.uniform(2, 30, n_noise) * 60e9).astype("int64"))
    # flapping: fire, resolve after 1-3 minutes, fire again 3-10 minutes later
    for f, cnt in enumerate(flap_counts):
        s = int(rng.integers(n_services))
        fp_service.append(s)
        fp_name.append(_FLAP_ALERTS[f % len(_FLAP_ALERTS)])
        fp_sev.append("warning")
        fp_host.append(f"{names[s]}-{int(rng.integers(0, 3))}")
        begin = t0_ns + int(rng.uniform(0, max(1.0, minutes - 12 * cnt)) * 60e9)
        ts = begin + np.cumsum(rng.uniform(3, 10, size=cnt) * 60e9).astype("int64")
        ts_parts.append(ts)
        src_parts.append(np.full(cnt, len(fp_service) - 1, dtype=np.int64))
        kind_parts.append(np.full(cnt, 3, dtype=np.int8))
        inc_parts.append(np.zeros(cnt, dtype=np.int64))
        ack_parts.append(np.full(cnt, np.iinfo("int64").min, dtype=np.int64))
        res_parts.append(ts + (rng.uniform(1, 3, size=cnt) * 60e9).astype("int64"))

    if ts_parts:
        ts = np.concatenate(ts_parts)
        src = np.concatenate(src_parts)
        kind = np.concatenate(kind_parts)
        inc = np.concatenate(inc_parts)
        ack = np.concatenate(ack_parts)
        res = np.concatenate(res_parts)
    else:
        ts = src = inc = ack = res = np.zeros(0, dtype=np.int64)
        kind = np.zeros(0, dtype=np.int8)
    # exact duplicate deliveries of incident/noise notifications
    n_dup = int(round(len(ts) * duplicates / (1 - duplicates))) if len(ts) else 0
    if n_dup:
        pick = rng.integers(0, len(ts), size=n_dup)
        pick = pick[kind[pick] != 3]
        ts = np.concatenate([ts, ts[pick]])
        src = np.concatenate([src, src[pick]])
        inc = np.concatenate([inc, inc[pick]])
        ack = np.concatenate([ack, ack[pick]])
        res = np.concatenate([res, res[pick]])
        kind = np.concatenate([kind, np.where(kind[pick] == 0, 1, 2).astype(np.int8)])
    order = np.lexsort((np.arange(len(ts)), ts))
    ts, src, kind, inc, ack, res = (a[order] for a in (ts, src, kind, inc, ack, res))

    fp_service_a = np.asarray(fp_service, dtype=np.int64)
    svc_names = np.asarray(names, dtype=object)
    fp_svc_name = svc_names[fp_service_a] if len(fp_service_a) else np.zeros(0, dtype=object)
    fp_name_a = np.asarray(fp_name, dtype=object)
    fp_sev_a = np.asarray(fp_sev, dtype=object)
    fp_host_a = np.asarray(fp_host, dtype=object)
    fp_msg = np.asarray([_message(n, s, sv) for n, s, sv in zip(fp_name, fp_svc_name, fp_sev, strict=False)],
                        dtype=object)
    fp_fpr = np.asarray([hashlib.sha1(f"{s}|{n}|{h}".encode()).hexdigest()[:16]
                         for s, n, h in zip(fp_svc_name, fp_name, fp_host, strict=False)], dtype=object)
    team_of = services["team"].to_numpy()
    fp_labels = np.empty(len(fp_service), dtype=object)
    for i, s in enumerate(fp_service):
        fp_labels[i] = {"team": str(team_of[s]), "env": "prod", "tier": str(tiers[s])}
    nat = np.iinfo("int64").min
    alerts = pd.DataFrame({
        "timestamp": pd.to_datetime(ts, utc=True),
        "service": pd.Series(fp_svc_name[src] if len(src) else [], dtype=object).astype(str),
        "name": pd.Series(fp_name_a[src] if len(src) else [], dtype=object).astype(str),
        "severity": pd.Series(fp_sev_a[src] if len(src) else [], dtype=object).astype(str),
        "message": pd.Series(fp_msg[src] if len(src) else [], dtype=object).astype(str),
        "host": pd.Series(fp_host_a[src] if len(src) else [], dtype=object).astype(str),
        "labels": pd.Series(fp_labels[src] if len(src) else [], dtype=object),
        "fingerprint": pd.Series(fp_fpr[src] if len(src) else [], dtype=object).astype(str),
        "acknowledged_at": pd.to_datetime(np.where(ack == nat, nat, ack), utc=True),
        "resolved_at": pd.to_datetime(res, utc=True),
    })
    alerts["acknowledged_at"] = alerts["acknowledged_at"].where(ack != nat)
    alert_incident = pd.Series(np.where(kind <= 1, inc, 0), dtype="Int64", name="incident_id")
    alert_incident = alert_incident.mask(alert_incident == 0)
    kind_names = np.array(["incident", "duplicate", "noise", "flapping"], dtype=object)
    alert_kind = pd.Series(kind_names[kind], dtype=object, name="kind").astype(str)

    incidents = pd.DataFrame({
        "incident_id": pd.Series([r[0] for r in inc_rows], dtype="int64"),
        "start": pd.to_datetime(np.array([r[1] for r in inc_rows], dtype="int64"), utc=True),
        "end": pd.to_datetime(np.array([r[2] for r in inc_rows], dtype="int64"), utc=True),
        "root_cause": pd.Series([r[3] for r in inc_rows], dtype=object).astype(str),
        "services": pd.Series([r[4] for r in inc_rows], dtype=object),
        "cause": pd.Series([r[5] for r in inc_rows], dtype=object).astype(str),
    })
    n_per = alert_incident.value_counts()
    incidents["n_alerts"] = incidents["incident_id"].map(n_per).fillna(0).astype("int64")
    _ = n_inc_src

    # -- metrics ---------------------------------------------------------------------
    if with_metrics:
        metrics = _metrics(rng, np, pd, t0_ns, minutes, names, tiers, inc_rows, fp_rows,
                           {r[0]: r for r in inc_rows})
    else:
        metrics = pd.DataFrame({"timestamp": pd.to_datetime(np.zeros(0, dtype="int64"), utc=True),
                                "service": pd.Series([], dtype=object).astype(str),
                                "metric": pd.Series([], dtype=object).astype(str),
                                "value": np.zeros(0)})
    # -- logs ------------------------------------------------------------------------
    logs = _logs(rng, np, pd, t0_ns, minutes, names, logs_per_hour if with_logs else 0,
                 log_events if with_logs else [], deploys_rows if with_logs else [])

    truth = IncidentTruth(incidents=incidents, alert_incident=alert_incident,
                          alert_kind=alert_kind)
    return IncidentScenario(topology=topology, services=services, metrics=metrics, logs=logs,
                            alerts=alerts, deploys=deploys, truth=truth, seed=seed,
                            params=params)


# -- helpers -------------------------------------------------------------------------------
def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise OpsInputError(f"incident_scenario: {msg}")


def _service_names(n: int) -> tuple[list[str], list[int]]:
    sizes = [max(1, int(round(n * s))) for s in _TIER_SHARE]
    sizes[2] = n - sizes[0] - sizes[1] - sizes[3]
    while sizes[2] < 1:  # tiny systems: take from the largest other tier
        j = max((0, 1, 3), key=lambda t: sizes[t])
        sizes[j] -= 1
        sizes[2] += 1
    names: list[str] = []
    tiers: list[int] = []
    for t, size in enumerate(sizes):
        pool = _TIER_NAMES[t]
        for i in range(size):
            base = pool[i % len(pool)]
            rnd = i // len(pool)
            names.append(base if rnd == 0 else f"{base}-{rnd + 1}")
            tiers.append(t)
    return names, tiers


def _topology(rng: np.random.Generator, tiers: list[int], cycles: int) -> list[tuple[int, int]]:
    import numpy as np

    tiers_a = np.asarray(tiers)
    by_tier = [np.flatnonzero(tiers_a == t) for t in range(4)]
    edges: set[tuple[int, int]] = set()
    for t in range(3):
        below = np.concatenate([by_tier[u] for u in range(t + 1, 4)])
        nxt = by_tier[t + 1]
        for s in by_tier[t]:
            k = int(rng.integers(1, 4))
            # mostly the next tier, sometimes deeper (a service calling a database directly)
            pool = nxt if rng.random() < 0.8 or len(below) == len(nxt) else below
            for c in rng.choice(pool, size=min(k, len(pool)), replace=False):
                edges.add((int(s), int(c)))
        # every service of the next tier has at least one caller
        called = {b for _, b in edges}
        for c in nxt:
            if int(c) not in called:
                edges.add((int(rng.choice(by_tier[t])), int(c)))
    # business services sometimes call each other (still acyclic: lower index calls higher)
    mid = by_tier[2]
    for _ in range(len(mid) // 3):
        a, b = sorted(rng.choice(mid, size=2, replace=False))
        edges.add((int(a), int(b)))
    edge_list = sorted(edges)
    for _ in range(cycles):
        a, b = edge_list[int(rng.integers(len(edge_list)))]
        edges.add((b, a))
    return sorted(edges)


def _split(rng: np.random.Generator, n: int, k: int) -> list[int]:
    """Split ``n`` items into ``k`` parts of at least 1 (root-cause sources get more)."""
    import numpy as np

    n = max(n, k)
    w = rng.dirichlet(np.full(k, 3.0))
    parts = np.maximum(1, np.floor(w * n).astype(int))
    parts[0] += max(0, n - int(parts.sum()))
    return [int(p) for p in parts]


def _message(name: str, service: str, severity: str) -> str:
    text = {
        "HighErrorRate": "5xx error rate above 5% for 5m",
        "HighLatencyP99": "p99 latency above 1s for 5m",
        "PodCrashLooping": "pod restarting repeatedly (CrashLoopBackOff)",
        "MemoryPressure": "container memory above 90% of limit",
        "DBConnectionsExhausted": "connection pool exhausted, clients waiting",
        "ReplicationLagHigh": "replica lag above 30s",
        "SlowQueries": "slow query rate above threshold",
        "DiskIOSaturated": "disk io utilisation above 95%",
        "UpstreamErrors": "calls to dependencies failing",
        "CircuitBreakerOpen": "circuit breaker open for a dependency",
        "DiskSpaceLow": "disk usage above 85%",
        "CertificateExpiresSoon": "TLS certificate expires in 14 days",
        "NodeClockSkew": "clock skew above 50ms",
        "BackupSlow": "nightly backup took longer than usual",
        "CronJobFailed": "scheduled job exited with status 1",
        "HighGCPause": "GC pauses above 200ms",
        "QueueDepthHigh": "queue depth above 10k messages",
        "ConfigReloadFailed": "configuration reload failed",
        "HealthCheckFlapping": "health check failing intermittently",
        "TargetDown": "scrape target down",
        "ProbeTimeout": "readiness probe timed out",
    }.get(name, name)
    return f"[{severity.upper()}] {service}: {name} - {text}"


def _metrics(rng, np, pd, t0_ns, minutes, names, tiers, inc_rows, fp_rows, incs) -> pd.DataFrame:
    n = len(names)
    t = np.arange(minutes)
    day = np.sin(2 * np.pi * (t / 1440.0 - 0.3))  # traffic peaks in the afternoon (UTC)
    base_lat = rng.uniform(40, 200, size=n)
    base_err = rng.uniform(0.001, 0.01, size=n)
    base_cpu = rng.uniform(20, 50, size=n)
    lat = base_lat[:, None] * (1 + 0.25 * day[None, :]) * rng.lognormal(0, 0.08, (n, minutes))
    err = np.clip(base_err[:, None] * (1 + 0.3 * day[None, :])
                  + rng.normal(0, 0.0015, (n, minutes)), 0, 1)
    cpu = np.clip(base_cpu[:, None] * (1 + 0.3 * day[None, :])
                  + rng.normal(0, 2.5, (n, minutes)), 0, 100)
    # fault effects: from each affected service's onset to the incident's end
    onset: dict[tuple[int, int], int] = {}
    for k, s, _name, _sev, on_ns, _end, _cnt in fp_rows:
        onset[(k, s)] = min(onset.get((k, s), on_ns), on_ns)
    for (k, s), on_ns in onset.items():
        _, start_ns, end_ns, root, _svcs, _cause = incs[k]
        # monitoring detects ~1 min after the metric moves: metrics move before the alert
        a = max(0, int((on_ns - t0_ns) / 60e9) - 1)
        b = min(minutes, int((end_ns - t0_ns) / 60e9) + 1)
        if b <= a:
            continue
        is_root = names[s] == root
        lat[s, a:b] *= rng.uniform(4, 8) if is_root else rng.uniform(2.5, 4)
        err[s, a:b] += rng.uniform(0.15, 0.35) if is_root else rng.uniform(0.05, 0.15)
        if is_root:
            cpu[s, a:b] = np.clip(cpu[s, a:b] + rng.uniform(25, 45), 0, 100)
    ts = pd.to_datetime(t0_ns + t.astype("int64") * 60_000_000_000, utc=True)
    values = np.stack([lat, err, cpu], axis=1)  # service, metric, minute
    svc = np.repeat(np.asarray(names, dtype=object), len(_METRICS) * minutes)
    met = np.tile(np.repeat(np.asarray(_METRICS, dtype=object), minutes), n)
    return pd.DataFrame({
        "timestamp": np.tile(ts, n * len(_METRICS)),
        "service": pd.Series(svc, dtype=object).astype(str),
        "metric": pd.Series(met, dtype=object).astype(str),
        "value": np.round(values.reshape(-1), 6),
    })


def _logs(rng, np, pd, t0_ns, minutes, names, per_hour, events, deploys_rows) -> pd.DataFrame:
    n = len(names)
    total = int(per_hour * n * minutes / 60)
    ts = t0_ns + (rng.uniform(0, minutes, size=total) * 60e9).astype("int64")
    svc = rng.integers(0, n, size=total)
    tmpl = np.asarray(["GET /api/v1/items 200 in {} ms", "handled request id={} ok",
                       "cache hit ratio {}%", "health check ok ({} ms)"], dtype=object)
    ti = rng.integers(0, len(tmpl), size=total)
    nums = rng.integers(1, 999, size=total)
    names_a = np.asarray(names, dtype=object)
    msgs = [f"INFO {s}: " + m.format(v) for s, m, v in zip(names_a[svc], tmpl[ti], nums, strict=False)]
    levels = ["INFO"] * total
    all_ts = list(ts)
    all_svc = list(names_a[svc])
    # error lines during incidents: a burst on each affected service until the end
    for t, s, level, msg, end_ns in events:
        k = int(max(1, min(30, (end_ns - t) / 60e9)))
        times = t + np.sort(rng.uniform(0, max(end_ns - t, 60e9), size=k)).astype("int64")
        all_ts.extend(times.tolist())
        all_svc.extend([s] * k)
        levels.extend([level] * k)
        msgs.extend([msg] * k)
    for t, s, _kind, desc in deploys_rows:
        all_ts.append(t)
        all_svc.append(s)
        levels.append("INFO")
        msgs.append(f"INFO {s}: deployment started: {desc}")
    all_ts_a = np.asarray(all_ts, dtype="int64")
    order = np.lexsort((np.arange(len(all_ts_a)), all_ts_a))
    return pd.DataFrame({
        "timestamp": pd.to_datetime(all_ts_a[order], utc=True),
        "service": pd.Series(np.asarray(all_svc, dtype=object)[order], dtype=object).astype(str),
        "level": pd.Series(np.asarray(levels, dtype=object)[order], dtype=object).astype(str),
        "message": pd.Series(np.asarray(msgs, dtype=object)[order], dtype=object).astype(str),
    })
