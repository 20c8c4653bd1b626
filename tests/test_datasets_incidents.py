"""incident_scenario: determinism, ground-truth consistency, scale knob, bad arguments."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_ops.datasets import incident_scenario
from jupyter_ops.errors import OpsInputError
from jupyter_ops.report import hash_input

ALERT_COLUMNS = ["timestamp", "service", "name", "severity", "message", "host", "labels",
                 "fingerprint", "acknowledged_at", "resolved_at"]


@pytest.fixture(scope="module")
def scen():
    return incident_scenario(seed=3)


def test_same_seed_gives_identical_frames_and_other_seed_differs(scen):
    again = incident_scenario(seed=3)
    for name in ("topology", "metrics", "logs", "alerts", "deploys"):
        assert hash_input(getattr(scen, name)) == hash_input(getattr(again, name)), name
    assert hash_input(scen.truth.incidents) == hash_input(again.truth.incidents)
    assert scen.truth.alert_incident.equals(again.truth.alert_incident)
    other = incident_scenario(seed=4)
    assert hash_input(other.alerts) != hash_input(scen.alerts)


def test_alerts_are_canonical_and_in_time_order(scen):
    a = scen.alerts
    assert list(a.columns) == ALERT_COLUMNS
    assert str(a["timestamp"].dt.tz) == "UTC"
    assert a["timestamp"].is_monotonic_increasing
    assert set(a["severity"]) <= {"critical", "error", "warning", "info"}
    assert a["fingerprint"].notna().all()
    # same fingerprint <=> same (service, name, host)
    per_fp = a.groupby("fingerprint")[["service", "name", "host"]].nunique()
    assert (per_fp == 1).all().all()
    assert (a["resolved_at"] > a["timestamp"]).all()


def test_truth_is_consistent_with_alerts_topology_and_deploys(scen):
    truth = scen.truth
    inc = truth.incidents
    assert len(inc) == 5 and list(inc["incident_id"]) == [1, 2, 3, 4, 5]
    assert truth.alert_incident.index.equals(scen.alerts.index)
    assert str(truth.alert_incident.dtype) == "Int64"
    kinds = truth.alert_kind
    assert truth.alert_incident[kinds.isin(["noise", "flapping"])].isna().all()
    assert truth.alert_incident[kinds.isin(["incident", "duplicate"])].notna().all()
    assert {"noise", "flapping", "duplicate"} <= set(kinds)
    # duplicates are exact copies of another row
    assert scen.alerts.drop(columns="labels").duplicated().sum() >= (kinds == "duplicate").sum()
    edges = set(zip(scen.topology["caller"], scen.topology["callee"], strict=False))
    for row in inc.itertuples():
        mine = scen.alerts[truth.alert_incident == row.incident_id]
        assert set(mine["service"]) <= set(row.services)
        assert row.services[0] == row.root_cause
        assert row.root_cause in set(mine["service"])
        assert mine["timestamp"].min() >= row.start
        # every affected service other than the root calls some affected service
        for s in row.services[1:]:
            assert any((s, d) in edges for d in row.services if d != s)
        # the root cause fires first (propagation goes upstream with delays)
        first = mine.sort_values("timestamp").iloc[0]
        assert first["service"] == row.root_cause
        if row.cause == "deploy":
            d = scen.deploys[(scen.deploys["service"] == row.root_cause)
                             & (scen.deploys["timestamp"] < row.start)
                             & (scen.deploys["timestamp"] > row.start - pd.Timedelta("20min"))]
            assert len(d) == 1
    # incidents do not overlap in time
    assert (inc["start"].iloc[1:].to_numpy() > inc["end"].iloc[:-1].to_numpy()).all()


def test_metrics_show_the_fault_at_the_root_cause(scen):
    m = scen.metrics
    assert set(m["metric"]) == {"latency_ms", "error_rate", "cpu"}
    assert len(m) == 12 * 3 * 24 * 60
    for row in scen.truth.incidents.itertuples():
        lat = m[(m["service"] == row.root_cause) & (m["metric"] == "latency_ms")]
        during = lat[(lat["timestamp"] >= row.start + pd.Timedelta("3min"))
                     & (lat["timestamp"] < row.end)]["value"].median()
        before = lat[(lat["timestamp"] < row.start - pd.Timedelta("30min"))
                     & (lat["timestamp"] >= row.start - pd.Timedelta("90min"))]["value"].median()
        assert during > 2.5 * before


def test_logs_have_error_lines_during_incidents(scen):
    logs = scen.logs
    assert list(logs.columns) == ["timestamp", "service", "level", "message"]
    assert logs["timestamp"].is_monotonic_increasing
    row = scen.truth.incidents.iloc[0]
    err = logs[(logs["level"] == "ERROR") & (logs["timestamp"] >= row["start"])
               & (logs["timestamp"] <= row["end"])]
    assert row["root_cause"] in set(err["service"])


def test_alert_volume_scales_with_n_alerts():
    s = incident_scenario(seed=1, n_alerts=20_000, n_incidents=40, hours=48, n_services=60,
                          with_metrics=False, with_logs=False)
    assert 19_000 <= len(s.alerts) <= 21_000
    assert s.metrics.empty and s.logs.empty
    assert s.truth.incidents["n_alerts"].sum() == s.truth.alert_incident.notna().sum()
    assert s.truth.alert_incident.isna().mean() == pytest.approx(0.15, abs=0.03)


def test_cycles_option_adds_back_edges():
    s = incident_scenario(seed=2, cycles=3, with_metrics=False)
    edges = set(zip(s.topology["caller"], s.topology["callee"], strict=False))
    assert any((b, a) in edges for a, b in edges)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_services=2), "n_services must be between 3 and 5000"),
    (dict(noise_rate=1.5), r"noise_rate must be in \[0, 1\)"),
    (dict(n_incidents=100, hours=1), "100 incidents do not fit in 1 hours"),
    (dict(start="yesterday-ish"), "start='yesterday-ish' is not a timestamp"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(OpsInputError, match=match):
        incident_scenario(**kwargs)
