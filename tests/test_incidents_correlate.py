"""correlate: grouping quality on generated truth, the linking rules, explanations, noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from jupyter_ops.aiops import Correlation, correlate
from jupyter_ops.datasets import incident_scenario

T0 = pd.Timestamp("2026-01-05 10:00", tz="UTC")


def labels(series: pd.Series) -> np.ndarray:
    """Incident ids with each noise alert as its own cluster (how the benchmark scores ARI)."""
    x = series.astype("float").to_numpy().copy()
    nan = np.isnan(x)
    x[nan] = -np.arange(1, nan.sum() + 1)
    return x


def frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (minutes after T0, service, name, severity[, extra dict])."""
    out = []
    for r in rows:
        d = {"timestamp": T0 + pd.Timedelta(minutes=r[0]), "service": r[1], "name": r[2],
             "severity": r[3], "message": f"{r[2]} on {r[1]}"}
        if len(r) > 4:
            d.update(r[4])
        out.append(d)
    return pd.DataFrame(out)


TOPO = pd.DataFrame({"caller": ["web", "api", "api", "shop"],
                     "callee": ["api", "checkout", "search", "shop-db"]})


@pytest.fixture(scope="module")
def scen():
    return incident_scenario(seed=11)


@pytest.fixture(scope="module")
def corr(scen):
    return correlate(scen.alerts, topology=scen.topology)


def test_grouping_matches_the_generated_truth(scen, corr):
    assert isinstance(corr, Correlation)
    ari = adjusted_rand_score(labels(scen.truth.alert_incident), labels(corr.assignments))
    assert ari >= 0.9
    assert corr.compression >= 0.9
    # every true incident is mostly inside one predicted incident with its root cause
    for row in scen.truth.incidents.itertuples():
        mine = corr.assignments[scen.truth.alert_incident == row.incident_id]
        assert mine.value_counts(normalize=True).iloc[0] >= 0.9
    # flapping sources are found and left as noise
    flap = scen.truth.alert_kind == "flapping"
    assert corr.assignments[flap].isna().all()
    assert corr.dedup["flapping_sources"] == 2
    assert corr.dedup["exact_duplicates"] >= (scen.truth.alert_kind == "duplicate").sum()


def test_incident_table_and_assignments_are_consistent(corr):
    inc = corr.incidents
    assert list(inc["incident_id"]) == list(range(1, len(inc) + 1))
    assert inc["start"].is_monotonic_increasing
    counts = corr.assignments.value_counts()
    assert list(inc["alerts"]) == list(counts.sort_index().to_numpy())
    assert str(corr.assignments.dtype) == "Int64"
    assert corr.compression == pytest.approx(1 - len(inc) / len(corr.alerts))
    one = corr.incident(1)
    assert len(one.alerts) == inc.loc[0, "alerts"]
    assert one.services[0] == inc.loc[0, "services"][0]


def test_input_order_and_index_are_kept(scen, corr):
    shuffled = scen.alerts.sample(frac=1.0, random_state=1)
    shuffled.index = [f"a{i}" for i in shuffled.index]
    c2 = correlate(shuffled, topology=scen.topology)
    assert c2.assignments.index.equals(shuffled.index)
    back = pd.Series(c2.assignments.to_numpy(), index=[int(i[1:]) for i in shuffled.index])
    assert adjusted_rand_score(labels(corr.assignments), labels(back.sort_index())) == 1.0


def test_chunk_size_does_not_change_the_result():
    s = incident_scenario(seed=5, n_alerts=6000, n_incidents=30, hours=48, n_services=40,
                          with_metrics=False, with_logs=False)
    a = correlate(s.alerts, topology=s.topology)
    b = correlate(s.alerts, topology=s.topology, chunk_size=1000)
    assert a.assignments.equals(b.assignments)


def test_topology_gates_time_proximity():
    df = frame([(0, "checkout", "HighErrorRate", "critical"),
                (0.5, "shop-db", "SlowQueries", "critical")])
    apart = correlate(df, topology=TOPO)
    assert len(apart.incidents) == 2  # same minute, unrelated services
    linked = correlate(df, topology=pd.concat([TOPO, pd.DataFrame(
        {"caller": ["checkout"], "callee": ["shop-db"]})]))
    assert len(linked.incidents) == 1
    assert len(correlate(df).incidents) == 1  # no topology: time alone
    # two hops apart: grouped only with hops=2
    df2 = frame([(0, "web", "UpstreamErrors", "error"), (1, "checkout", "HighErrorRate", "error")])
    assert len(correlate(df2, topology=TOPO).incidents) == 2
    assert len(correlate(df2, topology=TOPO, hops=2).incidents) == 1


def test_window_limits_links():
    df = frame([(0, "api", "HighLatencyP99", "error"), (7, "checkout", "PodCrashLooping", "error")])
    assert len(correlate(df, topology=TOPO, window="5min").incidents) == 2
    assert len(correlate(df, topology=TOPO, window="10min").incidents) == 1


def test_labels_link_unrelated_services_with_by():
    df = frame([(0, "checkout", "HighErrorRate", "error", {"labels": {"team": "pay"}}),
                (2, "shop-db", "SlowQueries", "error", {"labels": {"team": "pay"}})])
    assert len(correlate(df, topology=TOPO).incidents) == 2
    c = correlate(df, topology=TOPO, by="team")
    assert len(c.incidents) == 1
    assert "shared label team=pay" in c.explain(1)["reason"].iloc[1]
    # a plain column works as well
    df["cluster"] = "eu-1"
    assert len(correlate(df, topology=TOPO, by=["cluster"]).incidents) == 1


def test_message_similarity_bridges_a_lull_on_neighbours():
    df = frame([(0, "api", "HighLatencyP99", "error"), (8, "checkout", "HighLatencyP99", "error")])
    c = correlate(df, topology=TOPO)  # 8 min > window but within 2 x window and similar
    assert len(c.incidents) == 1
    assert "message similar to" in c.explain(1)["reason"].iloc[1]
    assert len(correlate(df, topology=TOPO, similarity=None).incidents) == 2


def test_noise_rules_lone_low_severity_and_flapping():
    rows = [(0, "checkout", "DiskSpaceLow", "warning"), (60, "search", "NodeDown", "critical")]
    # a flapping source: fires, resolves after 1 minute, fires again 5 minutes later (x5)
    for k in range(5):
        rows.append((100 + 6 * k, "api", "ProbeTimeout", "error",
                     {"resolved_at": T0 + pd.Timedelta(minutes=101 + 6 * k)}))
    df = frame(rows)
    c = correlate(df, topology=TOPO)
    assert pd.isna(c.assignments.iloc[0])           # lone warning: noise
    assert c.assignments.iloc[1] == 1               # lone critical: an incident
    assert c.assignments.iloc[2:].isna().all()      # flapping: noise
    assert c.dedup["flapping_sources"] == 1
    assert len(correlate(df, topology=TOPO, min_severity="warning").incidents) == 2


def test_duplicates_and_repeats_are_explained():
    df = frame([(0, "checkout", "HighErrorRate", "critical"),
                (0, "checkout", "HighErrorRate", "critical"),
                (3, "checkout", "HighErrorRate", "critical"),
                (4, "api", "UpstreamErrors", "error")])
    c = correlate(df, topology=TOPO)
    assert len(c.incidents) == 1 and c.dedup["exact_duplicates"] == 1
    why = c.explain(1)
    assert list(why["alert"]) == [0, 1, 2, 3]
    assert why["reason"].iloc[0] == "first alert of the incident"
    assert why["reason"].iloc[1].startswith("exact duplicate of alert 0")
    assert why["reason"].iloc[2].startswith("same fingerprint as alert 1")
    assert "neighbouring service checkout (api calls checkout)" in why["reason"].iloc[3]
    assert "incident 1:" in c.explain_text(1)


def test_topology_with_cycles_and_services_missing_from_it():
    cyc = pd.DataFrame({"caller": ["a", "b", "c"], "callee": ["b", "c", "a"]})
    df = frame([(0, "a", "X", "error"), (1, "c", "Y", "error"), (2, "zeta", "Z", "error")])
    c = correlate(df, topology=cyc)
    assert len(c.incidents) == 1
    reason = c.explain(1)["reason"].iloc[2]
    assert "'zeta' is not in the topology" in reason


def test_result_payload_and_html_escape_hostile_names():
    df = frame([(0, "checkout", "<script>alert(1)</script>", "critical"),
                (1, "api", "x\" onerror=\"alert(1)", "error")])
    c = correlate(df, topology=TOPO)
    html = c._repr_html_()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert 'onerror="alert' not in html
    payload = c.to_payload()
    assert payload["kind"] == "correlation" and payload["charts"]
    assert payload["provenance"]["call"] == "correlate"


def test_streaming_in_chunks_equals_one_call():
    from jupyter_ops.aiops import AlertCorrelator
    from jupyter_ops.errors import OpsInputError

    s = incident_scenario(seed=8, n_alerts=5000, n_incidents=20, hours=48, n_services=30,
                          with_metrics=False, with_logs=False)
    batch = correlate(s.alerts, topology=s.topology)
    ac = AlertCorrelator(topology=s.topology)
    with pytest.raises(OpsInputError, match="no alerts yet"):
        ac.result()
    for part in np.array_split(np.arange(len(s.alerts)), 6):
        ac.update(s.alerts.iloc[part])
    stream = ac.result()
    assert stream.assignments.equals(batch.assignments)
    assert stream.incidents["alerts"].tolist() == batch.incidents["alerts"].tolist()
    assert stream.explain(1)["reason"].tolist() == batch.explain(1)["reason"].tolist()
    with pytest.raises(OpsInputError, match="chunks must arrive in time order"):
        ac.update(s.alerts.iloc[:10])


def loop_groups(alerts: pd.DataFrame, topology: pd.DataFrame, window: float = 300.0
                ) -> np.ndarray:
    """The linking rules of correlate (similarity and flapping off) as a per-alert loop: the
    reference the vectorised version must equal exactly."""
    rank = {"critical": 4, "error": 3, "warning": 2, "info": 1, "unknown": 0}
    hood: dict[str, set] = {}
    for a, b in zip(topology["caller"], topology["callee"], strict=True):
        hood.setdefault(a, {a}).add(b)
        hood.setdefault(b, {b}).add(a)
    ts = (alerts["timestamp"] - T0).dt.total_seconds().to_numpy()
    res = (alerts["resolved_at"] - T0).dt.total_seconds().to_numpy()  # NaN: never resolved
    order = np.argsort(ts, kind="stable")
    svc, fp = alerts["service"].to_numpy(), alerts["fingerprint"].to_numpy()
    parent = list(range(len(alerts)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    # repeats of a source while it still fires link, and make both ends "sustained"
    strong = np.array([rank[s] >= 3 or rank[s] == 0 for s in alerts["severity"]])
    last_of: dict[str, int] = {}
    for i in order:
        p = last_of.get(fp[i])
        if p is not None and (ts[i] - ts[p] <= window or ts[i] <= res[p]):
            union(i, p)
            if ts[i] > ts[p]:
                strong[i] = strong[p] = True
        last_of[fp[i]] = i
    last_any: dict[object, int] = {}
    last_strong: dict[object, int] = {}
    anywhere = object()  # key of "the last alert on any service"
    for i in order:
        keys = list(hood.get(svc[i], {svc[i]}))
        if svc[i] not in hood:
            keys.append(anywhere)  # not in the topology: time alone links it too
        seen = last_any if strong[i] else last_strong
        cands = [seen[k] for k in keys if k in seen and ts[i] - ts[seen[k]] <= window]
        if strong[i]:
            for c in cands:
                union(i, c)
        elif cands:  # a weak alert keeps only its most recent partner
            union(i, max(cands, key=lambda c: np.flatnonzero(order == c)[0]))
        for k in (svc[i], anywhere):
            last_any[k] = i
            if strong[i]:
                last_strong[k] = i
    return pd.factorize(np.array([find(i) for i in range(len(alerts))]))[0]


@pytest.mark.parametrize("seed", [3, 4])
def test_vectorised_linking_equals_a_per_alert_loop(seed):
    s = incident_scenario(seed=seed, n_alerts=2500, n_incidents=12, hours=24, n_services=25,
                          with_metrics=False, with_logs=False)
    topo = s.topology.iloc[::2]  # some services fall out of the topology: time alone for them
    c = correlate(s.alerts, topology=topo, similarity=None, flap_count=0)
    mine = pd.factorize(c._s.raw)[0]
    assert np.array_equal(mine, loop_groups(s.alerts, topo))


def test_shuffled_input_gives_the_same_incidents():
    s = incident_scenario(seed=6, n_alerts=4000, n_incidents=15, hours=24, n_services=30,
                          with_metrics=False, with_logs=False)
    a = correlate(s.alerts, topology=s.topology)
    shuffled = s.alerts.sample(frac=1.0, random_state=2)
    b = correlate(shuffled, topology=s.topology)
    assert b.assignments.sort_index().equals(a.assignments)
    pd.testing.assert_frame_equal(a.incidents, b.incidents)
    assert b.explain(1)["reason"].tolist() == a.explain(1)["reason"].tolist()
