"""Root causes, timelines, ops metrics and runbook suggestions on generated incidents."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from jupyter_ops.aiops import (
    correlate,
    ops_metrics,
    rank_root_causes,
    suggest_remediation,
    timeline,
)
from jupyter_ops.datasets import incident_scenario
from jupyter_ops.errors import OpsInputError


@pytest.fixture(scope="module")
def scen():
    return incident_scenario(seed=21)


@pytest.fixture(scope="module")
def corr(scen):
    return correlate(scen.alerts, topology=scen.topology)


def predicted_id(scen, corr, truth_id: int) -> int:
    mine = corr.assignments[scen.truth.alert_incident == truth_id].dropna()
    return int(mine.mode().iloc[0])


def test_root_cause_ranks_the_true_service_first(scen, corr):
    ranking = rank_root_causes(corr, deploys=scen.deploys)
    assert list(ranking.columns[:5]) == ["incident_id", "rank", "service", "score", "evidence"]
    for row in scen.truth.incidents.itertuples():
        pid = predicted_id(scen, corr, row.incident_id)
        mine = ranking[ranking["incident_id"] == pid].sort_values("rank")
        assert mine["service"].iloc[0] == row.root_cause
        assert mine["score"].is_monotonic_decreasing
        ev = mine["evidence"].iloc[0]
        assert "first onset" in ev or "after the first" in ev
        if row.cause == "deploy":
            assert "rolled out" in ev and "before the incident" in ev


def test_root_cause_uses_metric_anomalies(scen, corr):
    row = scen.truth.incidents.iloc[-1]
    pid = predicted_id(scen, corr, int(row["incident_id"]))
    ranking = rank_root_causes(corr, metrics=scen.metrics, incidents=[pid], top=3)
    assert set(ranking["incident_id"]) == {pid} and len(ranking) <= 3
    top = ranking.iloc[0]
    assert top["service"] == row["root_cause"]
    assert "latency_ms" in top["anomalous_metrics"]
    assert "anomalous" in top["evidence"]


def test_root_cause_of_one_incident_or_its_alerts(scen, corr):
    inc = corr.incident(1)
    a = rank_root_causes(inc)
    b = rank_root_causes(inc.alerts, topology=scen.topology)
    assert a["service"].iloc[0] == b["service"].iloc[0]
    assert (a["incident_id"] == 1).all()


def test_timeline_orders_events_across_sources(scen, corr):
    row = scen.truth.incidents[scen.truth.incidents["cause"] == "deploy"].iloc[0]
    pid = predicted_id(scen, corr, int(row["incident_id"]))
    tl = timeline(corr, incident_id=pid, logs=scen.logs, deploys=scen.deploys,
                  alerts=scen.alerts)
    ev = tl.events
    assert ev["timestamp"].is_monotonic_increasing
    assert {"alert", "log", "change"} <= set(ev["source"])
    change = ev[ev["source"] == "change"].iloc[0]
    assert change["service"] == row["root_cause"]
    assert change["timestamp"] < ev[ev["source"] == "alert"]["timestamp"].min()
    assert change["t"].startswith("-")
    # repeats collapse: alert events carry counts that add up to the incident's alerts
    inc_alerts = ev[ev["source"] == "alert"]["count"].sum()
    assert inc_alerts == (corr.assignments == pid).sum()
    data = tl.chart_data()
    assert len(data) <= 3000 and data["events"].sum() >= len(ev)
    # anomaly onsets: one row each, with metric, end and peak in words
    on = ev[ev["source"] == "alert"]["timestamp"].min()
    ep = pd.DataFrame({"service": [row["root_cause"]], "onset": [on],
                       "end": [on + pd.Timedelta("7min")], "metric": ["latency_ms"],
                       "peak_score": [6.25]})
    an = timeline(corr, incident_id=pid, anomalies=ep).events
    an = an[an["source"] == "anomaly"]
    assert len(an) == 1 and an["kind"].iloc[0] == "latency_ms"
    assert an["text"].iloc[0] == f"latency_ms anomalous until {on + pd.Timedelta('7min'):%H:%M} " \
        "(peak score 6.2)"
    spec = tl.to_payload()["charts"][0]["spec"]
    assert json.dumps(spec)  # a Vega-Lite dict


def test_timeline_reads_any_level_spelling_and_hashes_the_logs_it_shows(corr):
    inc = corr.incident(1)
    t0 = inc.start
    logs = pd.DataFrame({
        "timestamp": [t0, t0 + pd.Timedelta("1s"), t0 + pd.Timedelta("2s"),
                      t0 + pd.Timedelta("3s")],
        "service": inc.services[0],
        "level": ["E", "warn", "I", "FATAL"],
        "message": ["disk failed", "slow disk", "all good", "gave up"]})
    tl = timeline(inc, logs=logs)
    shown = tl.events[tl.events["source"] == "log"].set_index("text")
    assert set(shown.index) == {"disk failed", "slow disk", "gave up"}  # info is left out
    assert shown["severity"].to_dict() == {"disk failed": "error", "slow disk": "warning",
                                           "gave up": "critical"}
    other = timeline(inc, logs=logs.assign(message=["disk broke", "slow disk", "all good",
                                                    "gave up"]))
    h1, h2 = tl.provenance["inputs"]["logs"], other.provenance["inputs"]["logs"]
    assert len(h1) == 64 and h1 != h2  # a real hash of the logs, not a constant
    assert "logs" not in timeline(inc).provenance["inputs"]


def test_timeline_chart_caps_marks(scen, corr):
    tl = timeline(corr, incident_id=1, logs=scen.logs)
    full = tl.chart_data()
    capped = tl.chart_data(max_marks=10)
    assert len(full) > 10 and 0 < len(capped) <= 10
    assert capped["events"].sum() == full["events"].sum()  # wider bins, same events
    # more (service, source) pairs than marks: the busiest pairs, not an endless widening
    pairs = full.groupby(["service", "source"])["events"].sum()
    one = tl.chart_data(max_marks=1)
    assert len(one) == 1 and one["events"].iloc[0] == pairs.max()


def test_ops_metrics_against_the_truth(scen, corr):
    om = ops_metrics(scen.alerts, scen.truth)
    truth = scen.truth
    first = scen.alerts.groupby(truth.alert_incident)["timestamp"].min()
    expected = (first.to_numpy() - truth.incidents.set_index("incident_id")["start"]
                .loc[first.index].to_numpy())
    mttd = pd.Series(expected).dt.total_seconds().mean() / 60
    assert om.value("MTTD") == pytest.approx(mttd, rel=1e-3)
    assert om.value("false-positive rate") == pytest.approx(
        truth.alert_incident.isna().mean(), abs=1e-4)
    assert om.value("MTTA") > 0 and om.value("MTTR") > om.value("MTTA")
    assert om.value("flapping sources") == 2
    assert len(om.per_incident) == len(truth.incidents)
    # from a correlation: no fault start times, so MTTD is not available
    oc = ops_metrics(scen.alerts, corr)
    assert pd.isna(oc.value("MTTD"))
    assert "needs fault start times" in oc.metrics.set_index("metric").at["MTTD", "note"]
    assert "MTTD n/a" in oc.summary()
    assert oc.to_payload()["charts"]


RUNBOOKS = """
runbooks:
  - name: Crash looping pods
    match: {alert: "PodCrashLooping|MemoryPressure"}
    steps:
      - Look at the last deploy of the service
      - title: Roll back
        command: "touch SHOULD_NOT_EXIST"
  - name: Database trouble
    match: {service: "*-db"}
    steps: ["Check the primary"]
  - name: Never
    match: {message: "no such text anywhere"}
    steps: ["x"]
"""


def test_runbooks_match_and_approval_never_executes(tmp_path, monkeypatch, scen, corr):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "runbooks.yaml"
    path.write_text(RUNBOOKS)
    hits = []
    for iid in corr.incidents["incident_id"]:
        rem = suggest_remediation(corr.incident(int(iid)), path)
        hits.append(rem)
        assert "Never" not in set(rem.steps["runbook"])
    rem = next(r for r in hits if "Crash looping pods" in set(r.steps["runbook"]))
    i = int(rem.steps.index[rem.steps["title"] == "Roll back"][0])
    rec = rem.approve(i, by="alice")
    assert rec["dry_run"] is True and rec["would_run"] == "touch SHOULD_NOT_EXIST"
    assert rec["approved_by"] == "alice"
    assert not (tmp_path / "SHOULD_NOT_EXIST").exists()
    assert rem.steps.loc[i, "status"] == "approved (dry run)"
    assert "approvals" in rem.tables()
    # JSON runbooks work the same way
    jpath = tmp_path / "rb.json"
    jpath.write_text(json.dumps({"runbooks": [{"name": "any", "match": {"service": "*"},
                                               "steps": ["look"]}]}))
    assert len(suggest_remediation(corr.incident(1), jpath).steps) == 1
    # runbook severities are spelled like the sources' (CRIT, P2): matched on the canonical ones
    inc = corr.incident(1)
    worst = inc.alerts["severity"].iloc[0]
    spelled = {"critical": "CRIT", "error": "P2", "warning": "warn", "info": "notice"}[worst]
    other = "info" if worst != "info" else "critical"
    jpath.write_text(json.dumps({"runbooks": [
        {"name": "same", "match": {"severity": spelled}, "steps": ["look"]},
        {"name": "other", "match": {"severity": [other]}, "steps": ["look"]}]}))
    assert set(suggest_remediation(inc, jpath).steps["runbook"]) == {"same"} | (
        {"other"} if (inc.alerts["severity"] == other).any() else set())


@pytest.mark.parametrize("text, match", [
    ("runbooks: []", r"expected a list of runbooks"),
    ("runbooks:\n  - name: a\n    steps: [x]\n", r"runbook 1 \('a'\) needs a 'match' mapping"),
    ("runbooks:\n  - name: a\n    match: {alert: '('}\n    steps: [x]\n",
     r"match.alert is not a valid regular expression"),
    ("runbooks:\n  - name: a\n    match: {colour: red}\n    steps: [x]\n",
     r"unknown match key\(s\) colour"),
    ("runbooks: [ {", r"is not valid YAML"),
    ("runbooks:\n  - name: a\n    match: {severity: purple}\n    steps: [x]\n",
     r"match.severity 'purple' is not a severity"),
])
def test_bad_runbooks_are_named(tmp_path, corr, text, match):
    path = tmp_path / "rb.yaml"
    path.write_text(text)
    with pytest.raises(OpsInputError, match=match):
        suggest_remediation(corr.incident(1), path)


def test_ops_metrics_number_incidents_as_the_correlation_does():
    """One numbering per report: truth incidents take the id of the correlated incident that
    holds most of their alerts; their own id is kept beside it."""
    from jupyter_ops.aiops import correlate, ops_metrics
    from jupyter_ops.datasets import incident_scenario

    s = incident_scenario(seed=0)
    corr = correlate(s.alerts, topology=s.topology)
    per = ops_metrics(s.alerts, s.truth, numbering=corr).per_incident
    assert list(per["source_incident"]) == sorted(s.truth.incidents["incident_id"])
    for _, row in per.iterrows():
        own = (s.truth.alert_incident == row["source_incident"]).fillna(False)
        shared = corr.assignments[own.to_numpy(dtype=bool)].value_counts()
        assert row["incident_id"] == shared.index[0]  # the correlated incident with most alerts
    assert set(per["incident_id"].dropna()) <= set(corr.incidents["incident_id"])
    with pytest.raises(OpsInputError, match="numbering"):
        ops_metrics(s.alerts, s.truth, numbering=s.truth)
