"""rank_root_causes beyond the alerted services: candidates down the topology, anomaly evidence
computed inside, the metrics-only mode, and awkward graphs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.aiops import rank_root_causes
from jupyter_ops.errors import OpsInputError

T0 = pd.Timestamp("2026-02-02 11:00", tz="UTC")
CHAIN = pd.DataFrame({"caller": ["web", "api", "orders"], "callee": ["api", "orders",
                                                                      "orders-db"]})


def metrics(services, shift_at=100, cause="orders-db", minutes=160, seed=0, carry=()):
    """Flat noisy latency; ``cause`` shifts at ``shift_at``; ``carry`` services follow it."""
    rng = np.random.default_rng(seed)
    ts = T0 + pd.to_timedelta(np.arange(minutes), unit="min")
    rows = []
    for s in services:
        v = 100 + rng.normal(0, 2, minutes)
        if s == cause or s in carry:
            v[shift_at + (0 if s == cause else 3):] += 40
        rows.append(pd.DataFrame({"timestamp": ts, "service": s, "metric": "latency_ms",
                                  "value": v}))
    return pd.concat(rows, ignore_index=True)


def sli_alert(at=106, service="web"):
    return pd.DataFrame({"timestamp": [T0 + pd.Timedelta(minutes=at)], "service": [service],
                         "name": ["SLOLatencyBurn"], "severity": ["critical"],
                         "message": ["p99 1345ms > 800ms"]})


def test_a_cause_three_hops_below_the_only_alert_is_ranked_first_with_words():
    m = metrics(["web", "api", "orders", "orders-db"], carry=("web",))
    r = rank_root_causes(sli_alert(), metrics=m, topology=CHAIN)
    assert r["service"].iloc[0] == "orders-db"
    ev = r["evidence"].iloc[0]
    assert "latency_ms level shift at 12:40" in ev
    assert "3 hops below the alerting web; no alert of its own" in ev


def test_hops_limits_the_candidates():
    m = metrics(["web", "api", "orders", "orders-db"], carry=("web",))
    r = rank_root_causes(sli_alert(), metrics=m, topology=CHAIN, hops=2)
    assert "orders-db" not in set(r["service"])
    with pytest.raises(OpsInputError, match="hops=-1"):
        rank_root_causes(sli_alert(), metrics=m, topology=CHAIN, hops=-1)


def test_metrics_only_mode():
    m = metrics(["web", "api", "orders", "orders-db"], carry=("web", "api"))
    r = rank_root_causes(metrics=m, topology=CHAIN, around="12:45")
    assert r["service"].iloc[0] == "orders-db"
    assert (r["alerts"] == 0).all()
    with pytest.raises(OpsInputError, match="around="):
        rank_root_causes(metrics=m, topology=CHAIN)


def test_awkward_graphs_rank_or_say_why():
    m = metrics(["web", "api", "orders", "orders-db", "lonely"], carry=("web",))
    # topology services without metrics, metrics for services off the topology
    topo = pd.concat([CHAIN, pd.DataFrame({"caller": ["api"], "callee": ["cache"]})])
    r = rank_root_causes(sli_alert(), metrics=m, topology=topo)
    assert r["service"].iloc[0] == "orders-db" and "cache" not in set(r["service"])
    # an anomalous service off the topology is no candidate of an alert (nothing links it to
    # the alerted service) but is one in the metrics-only mode
    m2 = metrics(["web", "api", "orders", "orders-db", "lonely"], carry=("web", "lonely"))
    r = rank_root_causes(sli_alert(), metrics=m2, topology=topo, top=None)
    assert r["service"].iloc[0] == "orders-db" and "lonely" not in set(r["service"])
    r = rank_root_causes(metrics=m2, topology=topo, around="12:45", top=None)
    assert "lonely" in set(r["service"]) and "cache" not in set(r["service"])
    assert "not in the topology" in r.set_index("service").loc["lonely", "evidence"]
    # disconnected graph: the other component is not a candidate of the web alert
    topo2 = pd.concat([CHAIN, pd.DataFrame({"caller": ["batch"], "callee": ["lonely"]})])
    r2 = rank_root_causes(sli_alert(), metrics=m, topology=topo2)
    assert "lonely" not in set(r2["service"])
    # an SLI alert on a service with no dependencies: itself
    r3 = rank_root_causes(sli_alert(service="lonely"), metrics=m, topology=CHAIN)
    assert r3["service"].tolist()[:1] == ["lonely"]


def test_ten_thousand_services():
    rng = np.random.default_rng(0)
    n = 10_000
    callee = np.arange(1, n)
    caller = rng.integers(0, callee)  # a random tree, svc-0 on top
    topo = pd.DataFrame({"caller": [f"svc-{i}" for i in caller],
                         "callee": [f"svc-{i}" for i in callee]})
    path = [9_999]
    while path[-1] != 0:
        path.append(int(caller[path[-1] - 1]))
    names = [f"svc-{i}" for i in path]
    m = metrics(names, cause="svc-9999", carry=tuple(names[1:]), minutes=130, shift_at=100)
    r = rank_root_causes(sli_alert(service="svc-0", at=108), metrics=m, topology=topo)
    assert r["service"].iloc[0] == "svc-9999"


def _noisy_callee_chain(seed=0, minutes=160, shift_at=100, fault="level"):
    """web -> api -> db: db is loud (sd 20) and passes its noise up; api's own part is quiet
    (sd 2) and changes at ``shift_at`` (+12 or noise x4): small next to what db adds."""
    rng = np.random.default_rng(seed)
    ts = T0 + pd.to_timedelta(np.arange(minutes), unit="min")
    db = 300 + rng.normal(0, 20, minutes)
    own = rng.normal(0, 2, minutes)
    if fault == "level":
        own[shift_at:] += 12
    else:
        own[shift_at:] *= 4
    api = 50 + own + (db - 300)
    web = 20 + rng.normal(0, 2, minutes) + (api - 50)
    topo = pd.DataFrame({"caller": ["web", "api"], "callee": ["api", "db"]})
    m = pd.concat([pd.DataFrame({"timestamp": ts, "service": s, "metric": "latency_ms",
                                 "value": v}) for s, v in (("web", web), ("api", api),
                                                           ("db", db))], ignore_index=True)
    return m, topo


@pytest.mark.parametrize("fault", ["level", "noise"])
def test_a_cause_small_next_to_its_callees_noise_is_found_in_its_own_part(monkeypatch, fault):
    from jupyter_ops.aiops import rootcause as rc

    m, topo = _noisy_callee_chain(fault=fault)
    r = rank_root_causes(sli_alert(at=115), metrics=m, topology=topo, top=None)
    assert r["service"].iloc[0] == "api"
    # the onset is the change itself (12:40), not a window before it
    assert abs(r["onset"].iloc[0] - (T0 + pd.Timedelta(minutes=100))) <= pd.Timedelta("3min")
    # on the raw series (round 2b) the change drowns in db's noise: api is not first
    monkeypatch.setattr(rc, "OWN_PART", False)
    r2 = rank_root_causes(sli_alert(at=115), metrics=m, topology=topo, top=None)
    assert r2["service"].iloc[:1].tolist() != ["api"]


def test_change_point_of_a_pure_spread_change_is_not_early():
    from jupyter_ops.aiops.rootcause import CP_LLR, _change_point

    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, 160)
    x[100:] *= 3
    # a hot run found 4 points in, peaking 10 later: the split is at the change
    k, llr = _change_point(x, 104, 114, 60, 10)
    assert abs(k - 100) <= 2 and llr > CP_LLR
    # pure noise: no significant split
    k, llr = _change_point(rng.normal(0, 1, 160), 104, 114, 60, 10)
    assert llr < CP_LLR
