"""IncidentExplorer: controls recompute, filters, selection panels, dry-run approvals."""

from __future__ import annotations

import ipywidgets  # noqa: F401 - a hard dependency: missing must fail, not skip
import pytest

from jupyter_ops.datasets import incident_scenario
from jupyter_ops.widgets import IncidentExplorer

RUNBOOKS = {"runbooks": [{"name": "<b>Roll back</b>", "match": {"service": "*"},
                          "steps": [{"title": "undo", "command": "rm -rf / <script>"}]}]}


@pytest.fixture(scope="module")
def scen():
    return incident_scenario(seed=4)


def test_controls_recompute_and_filters_narrow_the_list(scen):
    ex = IncidentExplorer(scen.alerts, topology=scen.topology, logs=scen.logs,
                          deploys=scen.deploys)
    n5 = len(ex.correlation.incidents)
    assert len(ex.w_list.options) == n5 and ex.selected == 1
    ex.w_window.value = "30min"  # wider window: fewer or equal incidents
    assert ex.correlation.params["window"] == "0 days 00:30:00"
    assert len(ex.correlation.incidents) <= n5
    ex.w_window.value = "5min"
    ex.w_severity.value = "critical"
    crit = ex.correlation.incidents["max_severity"].eq("critical").sum()
    assert len(ex.w_list.options) == crit
    svc = scen.truth.incidents["root_cause"].iloc[0]
    ex.w_service.value = svc
    assert all(svc in ex.correlation.incidents.set_index("incident_id").at[v, "services"]
               for _, v in ex.w_list.options)


def test_selection_fills_the_panels(scen):
    ex = IncidentExplorer(scen.alerts, topology=scen.topology, deploys=scen.deploys)
    last = ex.w_list.options[-1][1]
    ex.w_list.value = last
    assert ex.selected == last
    assert ex.timeline.incident.incident_id == last
    assert set(ex.ranking["incident_id"]) == {last}
    assert ex.ranking["service"].iloc[0] in ex.w_rca.value
    assert f"incident {last}:" in ex.w_explain.value


def test_approve_button_records_a_dry_run_and_escapes(scen, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ex = IncidentExplorer(scen.alerts, topology=scen.topology, runbooks=RUNBOOKS)
    assert ex.remediation is not None and len(ex.approve_buttons) == 1
    ex.approve_buttons[0].click()
    assert ex.remediation.approvals[0]["dry_run"] is True
    assert ex.approve_buttons[0].disabled
    assert "&lt;script&gt;" in ex.w_log.value and "<script>" not in ex.w_log.value
    html = "".join(getattr(c, "value", "") for box in ex.w_remedy.children
                   for c in getattr(box, "children", [box]))
    assert "<b>Roll back</b>" not in html and "&lt;b&gt;Roll back" in html


def test_metrics_feed_the_root_cause_tab(scen):
    ex = IncidentExplorer(scen.alerts, topology=scen.topology, metrics=scen.metrics)
    ex.w_list.value = ex.w_list.options[-1][1]
    assert ex.ranking["anomalous_metrics"].str.len().gt(0).any()
    assert "anomalous" in ex.w_rca.value
