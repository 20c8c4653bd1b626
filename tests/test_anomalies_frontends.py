"""%aiops_anomalies (real IPython shell) and ``jupyter-ops aiops anomalies`` (exit codes)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from jupyter_ops.aiops import AnomalyResult
from jupyter_ops.cli import main
from jupyter_ops.report.session import session_log


def metrics(spike: bool = True, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for service in ("api", "db"):
        for metric in ("cpu", "latency_ms"):
            v = 50 + rng.normal(0, 2, n)
            if spike and service == "db" and metric == "latency_ms":
                v[1500:1510] += 40
            parts.append(pd.DataFrame({
                "timestamp": pd.date_range("2026-01-05", periods=n, freq="min", tz="UTC"),
                "service": service, "metric": metric, "value": v}))
    return pd.concat(parts, ignore_index=True)


def test_magic_stores_result_and_logs_it(ip):
    ip.user_ns["m"] = metrics()
    res = ip.run_line_magic("aiops_anomalies", "m -o found")
    assert isinstance(res, AnomalyResult)
    assert ip.user_ns["found"] is res
    first = res.episodes.iloc[0]
    assert (first["service"], first["metric"]) == ("db", "latency_ms")
    assert [e.call for e in session_log().entries] == ["%aiops_anomalies m -o found"]
    bundle = res._repr_mimebundle_()
    assert "Metric anomalies" in bundle["text/plain"]
    assert bundle["application/vnd.jupyter-ops.result+json"]["tables"][0]["name"] == "episodes"


def test_magic_reads_an_attribute_of_a_notebook_variable(ip):
    from types import SimpleNamespace

    ip.user_ns["scenario"] = SimpleNamespace(metrics=metrics())
    res = ip.run_line_magic("aiops_anomalies", "scenario.metrics")
    assert len(res.methods) == 4


def test_magic_options_and_file_input(ip, tmp_path):
    path = tmp_path / "m.csv"
    metrics().to_csv(path, index=False)
    res = ip.run_line_magic("aiops_anomalies",
                            f"{path} --method robust --service db --metric latency_ms -t 0.99999")
    assert set(res.methods["service"]) == {"db"} and set(res.methods["metric"]) == {"latency_ms"}
    assert res.params["threshold"] == 0.99999 and set(res.methods["method"]) == {"robust"}
    ip.user_ns["m"] = metrics()
    res = ip.run_line_magic("aiops_anomalies", "m --method iforest --seed 3")
    assert res.params["seed"] == 3 and set(res.methods["method"]) == {"iforest"}


def test_magic_errors_are_one_line_usage_errors(ip):
    with pytest.raises(UsageError, match="neither a variable in this notebook"):
        ip.run_line_magic("aiops_anomalies", "nothing_here")
    ip.user_ns["bad"] = pd.DataFrame({"time": [1], "v": [2]})
    with pytest.raises(UsageError, match=r"missing column .timestamp.; columns found: time, v"):
        ip.run_line_magic("aiops_anomalies", "bad")
    ip.user_ns["m"] = metrics(n=50)
    with pytest.raises(UsageError, match="no metrics for service 'web'"):
        ip.run_line_magic("aiops_anomalies", "m --service web")
    with pytest.raises(UsageError, match="invalid choice"):
        ip.run_line_magic("aiops_anomalies", "m --method psychic")
    with pytest.raises(UsageError, match="-o needs a Python variable name"):
        ip.run_line_magic("aiops_anomalies", "m -o 1x")
    assert len(session_log()) == 0


def test_cli_exit_codes_and_report(tmp_path, capsys):
    spiky, quiet = tmp_path / "spiky.csv", tmp_path / "quiet.csv"
    metrics().to_csv(spiky, index=False)
    metrics(spike=False).query("service == 'api' and metric == 'cpu'").to_csv(quiet,
                                                                               index=False)
    report = tmp_path / "anomalies.json"
    scores = tmp_path / "scores.csv"
    assert main(["aiops", "anomalies", str(spiky), "--report", str(report),
                 "--csv", str(scores)]) == 1
    out = capsys.readouterr().out
    assert "latency_ms" in out and "episode" in out
    doc = json.loads(report.read_text())
    assert "Metric anomalies" in json.dumps(doc)
    assert len(pd.read_csv(scores)) == 8000
    assert main(["aiops", "anomalies", str(quiet)]) == 0
    assert main(["aiops", "anomalies", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n1,2\n")
    assert main(["aiops", "anomalies", str(bad)]) == 2
    assert "missing column 'timestamp'" in capsys.readouterr().err
    assert main(["aiops", "anomalies", str(spiky), "--window", "1"]) == 2
    assert "window must be" in capsys.readouterr().err


def test_demo_step_adds_the_anomalies_to_the_report(tmp_path):
    from jupyter_ops.cli import anomalies
    from jupyter_ops.cli.demo import DemoContext

    ctx = DemoContext(tmp_path, seed=0)
    anomalies.demo(ctx)
    path = ctx.report.save(tmp_path / "r.md")
    text = open(path, encoding="utf-8").read()
    assert "Metric anomalies" in text and "episode" in text


def test_hostile_service_names_are_escaped_in_html():
    df = metrics()
    df["service"] = df["service"].replace("db", "<script>alert(1)</script>")
    from jupyter_ops.aiops import detect_anomalies

    html = detect_anomalies(df)._repr_html_()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_incident_explorer_shows_the_time_to_breach_of_the_incidents_metrics():
    import ipywidgets  # noqa: F401 - a hard dependency: missing must fail, not skip

    from jupyter_ops.datasets import incident_scenario
    from jupyter_ops.widgets import IncidentExplorer

    scen = incident_scenario(seed=4)
    ex = IncidentExplorer(scen.alerts, topology=scen.topology, metrics=scen.metrics)
    assert ex.breaches is None and "thresholds=" in ex.w_forecast.value  # nothing asked
    inc = ex.correlation.incident(ex.selected)
    leaking, steady = inc.services[0], "<b>x</b>"
    ts = pd.date_range(scen.metrics["timestamp"].max() - pd.Timedelta("2D"), periods=577,
                       freq="5min")
    rng = np.random.default_rng(1)
    disks = pd.concat([pd.DataFrame({"timestamp": ts, "service": s, "metric": "disk_used",
                                     "value": v + rng.normal(0, 0.3, len(ts))})
                       for s, v in ((leaking, np.linspace(50, 85, len(ts))),
                                    (steady, np.full(len(ts), 50.0)))])
    # the steady disk belongs to a service outside the incident: it must not be shown
    ex = IncidentExplorer(scen.alerts, topology=scen.topology,
                          metrics=pd.concat([scen.metrics, disks], ignore_index=True),
                          thresholds={"disk_used": 90, "no_such_metric": 1}, horizon="12h")
    b = ex.breaches
    assert list(b["service"]) == [leaking] and b["status"].iloc[0] == "will breach"
    assert 4 < b["eta_hours"].iloc[0] < 10  # +35 in 2 days: 85 -> 90 in about 7 h
    assert f"disk_used on {leaking} crosses 90" in ex.w_forecast.value
    assert len(ex.forecast_specs) == 1 and "layer" in json.dumps(ex.forecast_specs[0])
    # a service name is data: escaped, and the steady service (not in the incident) absent
    assert "<b>x</b>" not in ex.w_forecast.value
    other = [i for _, i in ex.w_list.options if leaking not in
             ex.correlation.incident(i).services]
    if other:  # an incident without a disk metric says so
        ex.select(other[0])
        assert ex.breaches is None and "none of disk_used" in ex.w_forecast.value
