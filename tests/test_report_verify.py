"""``jupyter-ops report verify`` and the report JSON Schema: re-run, compare, refuse bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from jupyter_ops.cli import main
from jupyter_ops.errors import OpsInputError
from jupyter_ops.report import Report
from jupyter_ops.report.sources import dataset_source, file_source, record_sources


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A report from two files (alerts, topology) and one generated data set."""
    from jupyter_ops.aiops.anomaly import detect_anomalies
    from jupyter_ops.aiops.correlation import correlate
    from jupyter_ops.datasets import incident_scenario
    from jupyter_ops.io.canonical import load_alerts, load_topology

    d = tmp_path_factory.mktemp("verify")
    s = incident_scenario(seed=3, n_services=6, n_incidents=2, hours=6, with_logs=False)
    s.alerts.drop(columns=["labels"], errors="ignore").to_csv(d / "alerts.csv", index=False)
    s.topology.to_csv(d / "topology.csv", index=False)
    corr = correlate(load_alerts(d / "alerts.csv"), topology=load_topology(d / "topology.csv"))
    record_sources(corr, alerts=file_source(d / "alerts.csv", "alerts"),
                   topology=file_source(d / "topology.csv", "topology"))
    an = detect_anomalies(s.metrics, seed=0)
    gen = {"n_services": 6, "n_incidents": 2, "hours": 6, "with_logs": False}
    record_sources(an, metrics=dataset_source("incident_scenario", 3, "metrics", **gen))
    r = Report("verify me")
    r.add("Free text is not a result and is not re-run.")
    r.add(corr, call="correlate(alerts.csv, topology=topology.csv)")
    r.add(an)
    from jupyter_ops.aiops.rootcause import RootCauses
    from jupyter_ops.report.sources import result_source

    rca = RootCauses.rank(corr, top=2)
    r.add(record_sources(rca, correlation=result_source(corr)))
    r.save(d / "report.json")
    return d


def _copy(made: Path, tmp_path: Path) -> Path:
    for name in ("alerts.csv", "topology.csv", "report.json"):
        shutil.copy(made / name, tmp_path / name)
    return tmp_path / "report.json"


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_unchanged_report_verifies_same_and_writes_side_by_side_html(made, tmp_path, capsys):
    rc = main(["report", "verify", str(made / "report.json"), "--html", str(tmp_path / "d.html")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Alert correlation: same" in out and "Metric anomalies: same" in out
    assert "Root-cause candidates: same" in out and "3 same" in out
    html = (tmp_path / "d.html").read_text()
    assert "in the report" not in html  # nothing differs: no side-by-side rows
    assert "<script" not in html


def test_changed_figure_and_table_cell_differ_with_amount(made, tmp_path, capsys):
    report = _copy(made, tmp_path)

    def change(data):
        corr = next(i for i, s in enumerate(data["sections"])
                    if (s.get("provenance") or {}).get("function") == "correlate")
        figs = next(s for s in data["sections"][corr:] if s["kind"] == "figures")
        num = next(f for f in figs["content"] if isinstance(f["value"], (int, float)))
        num["value"] = num["value"] + 7
        table = next(s for s in data["sections"][corr:] if s["kind"] == "table")
        col = next(i for i, c in enumerate(table["content"]["columns"]) if c["type"] == "number")
        table["content"]["rows"][0][col] = table["content"]["rows"][0][col] + 1000

    _edit(report, change)
    rc = main(["report", "verify", str(report), "--html", str(tmp_path / "d.html")])
    out = capsys.readouterr().out
    assert rc == 1
    line = next(x for x in out.splitlines() if "Alert correlation" in x)
    assert "differs" in line and "-> " in line and "(-7" in line  # what and by how much
    assert "rows differ" in line
    assert "Metric anomalies: same" in out
    html = (tmp_path / "d.html").read_text()
    assert "in the report" in html and "re-run now" in html


def test_moved_input_exits_2_and_inputs_dir_finds_it(made, tmp_path, capsys):
    report = _copy(made, tmp_path)
    _edit(report, lambda d: [s["provenance"]["sources"][k].update(path=str(tmp_path / "gone" / f"{k}.csv"))
                             for s in d["sections"] if (s.get("provenance") or {}).get("sources")
                             for k, v in s["provenance"]["sources"].items() if v["kind"] == "file"])
    assert main(["report", "verify", str(report)]) == 2
    out = capsys.readouterr().out
    assert "not found" in out and "--inputs" in out
    # root causes rank the correlation, whose input is gone: said about them too
    assert "Root-cause candidates: input problem (input 'correlation' (section 2)" in out
    (tmp_path / "moved").mkdir()
    shutil.copy(made / "alerts.csv", tmp_path / "moved" / "alerts.csv")
    shutil.copy(made / "topology.csv", tmp_path / "moved" / "topology.csv")
    assert main(["report", "verify", str(report), "--inputs", str(tmp_path / "moved")]) == 0


def test_changed_input_file_exits_2_before_running(made, tmp_path, capsys):
    report = _copy(made, tmp_path)
    _edit(report, lambda d: [s["provenance"]["sources"][k].update(path=str(tmp_path / "in" / f"{k}.csv"))
                             for s in d["sections"] if (s.get("provenance") or {}).get("sources")
                             for k, v in s["provenance"]["sources"].items() if v["kind"] == "file"])
    (tmp_path / "in").mkdir()
    for k in ("alerts", "topology"):
        shutil.copy(made / f"{k}.csv", tmp_path / "in" / f"{k}.csv")
    with open(tmp_path / "in" / "alerts.csv", "a") as f:
        f.write("\n")
    assert main(["report", "verify", str(report)]) == 2
    out = capsys.readouterr().out
    assert "input 'alerts' changed" in out and "sha256" in out


def test_notebook_variables_cannot_be_rerun_and_say_why(tmp_path, capsys):
    from jupyter_ops.aiops.correlation import correlate
    from jupyter_ops.datasets import incident_scenario

    s = incident_scenario(seed=1, n_services=4, n_incidents=1, hours=3, with_logs=False,
                          with_metrics=False)
    r = Report("from a notebook")
    r.add(correlate(s.alerts), call="%aiops_correlate alerts")
    r.save(tmp_path / "nb.json")
    assert main(["report", "verify", str(tmp_path / "nb.json")]) == 0
    out = capsys.readouterr().out
    assert "cannot re-run (input 'alerts' was recorded only by its fingerprint" in out


def test_unknown_function_newer_format_and_tampering_exit_2(made, tmp_path, capsys):
    report = _copy(made, tmp_path)
    data = json.loads(report.read_text())
    cases = {}
    d = json.loads(json.dumps(data))
    next(s for s in d["sections"] if s.get("provenance"))["provenance"]["function"] = "gone_fn"
    cases["unknown"] = (d, "'gone_fn', which this version of jupyter-ops does not have")
    d = json.loads(json.dumps(data))
    d["schema"] = "jupyter-ops.report/99"
    cases["newer"] = (d, "report format 99, newer than")
    d = json.loads(json.dumps(data))
    table = next(i for i, s in enumerate(d["sections"]) if s["kind"] == "table")
    d["sections"][table]["content"]["rows"][1] = "oops"
    cases["tampered"] = (d, f"section {table + 1} (table")
    for name, (doc, expect) in cases.items():
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(doc))
        assert main(["report", "verify", str(p)]) == 2, name
        err = capsys.readouterr().err
        assert expect in err, (name, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "field content.rows[1] must be an array" in err
    truncated = tmp_path / "cut.json"
    truncated.write_text(report.read_text()[:5000])
    assert main(["report", "verify", str(truncated)]) == 2
    assert "cut short" in capsys.readouterr().err


def test_schema_refuses_chart_data_urls():
    doc = Report("x").to_json()
    doc["sections"] = [{"kind": "chart", "title": "c", "content": {
        "mark": "bar", "layer": [{"data": {"url": "https://example.com/x.csv"}, "mark": "bar"}]}}]
    with pytest.raises(OpsInputError, match=r"section 1 \(chart 'c'\): field content.layer\[0\]"
                       r".data loads data from a URL"):
        Report.from_json(doc)
    doc["sections"][0]["content"]["layer"][0]["data"] = {"values": [{"a": 1}]}
    assert Report.from_json(doc).sections[0].kind == "chart"


def test_format_1_reports_still_read():
    doc = Report("old").add("text").to_json()
    doc["schema"] = "jupyter-ops.report/1"
    assert Report.from_json(doc).sections[0].content == "text"


def test_output_folder_problems_exit_2_and_write_nothing(made, tmp_path, capsys):
    rc = main(["report", "verify", str(made / "report.json"), "--html",
               str(tmp_path / "no" / "such" / "d.html")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root ignores permissions: use a read-only file system
            ro = Path("/proc/sys")
        rc = main(["report", str(made / "report.json"), str(ro / "r.html")])
        err = capsys.readouterr().err
        assert rc == 2 and ("read-only" in err or "cannot write" in err), err
        assert not (ro / "r.html").exists()
    finally:
        (tmp_path / "ro").chmod(0o755)
    assert not list(tmp_path.rglob("*.tmp"))


def test_changed_versions_are_named_before_the_outcomes(made, tmp_path, capsys):
    report = _copy(made, tmp_path)
    _edit(report, lambda d: d["environment"]["packages"].update(pandas="2.2.0"))
    assert main(["report", "verify", str(report)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("versions changed since the report: pandas 2.2.0 -> ")


def test_documents_that_are_not_reports_get_one_line_errors():
    for doc, expect in (([], "expected a JSON object, got a JSON array"),
                        ({"schema": "jupyter-ops.report/2"}, "field (top level) is missing 'title'"),
                        ({**Report("x").to_json(), "sections": [1]},
                         "section 1: field (the section itself) must be an object"),
                        ({**Report("x").to_json(), "sections": [{"kind": "figures",
                                                                 "content": [{"label": "a"}]}]},
                         "section 1 (figures): field content[0] is missing 'value'")):
        with pytest.raises(OpsInputError, match=re.escape(expect)):
            Report.from_json(doc)


def test_every_rerun_recipe_names_a_function_that_exists():
    import inspect

    from jupyter_ops.report.verify import RERUN

    for name, recipe in RERUN.items():
        if recipe.reason:
            continue
        params = inspect.signature(recipe.resolve()).parameters
        any_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        assert list(params.values())[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        for arg in (*recipe.inputs[1:], *recipe.optional, *recipe.fixed):  # the first: positional
            assert arg in params or any_kw, (name, arg)


def test_a_registry_function_that_disappeared_exits_2(made, monkeypatch, capsys):
    from jupyter_ops.report import verify

    monkeypatch.setitem(verify.RERUN, "correlate",
                        verify.Recipe("jupyter_ops.aiops.correlation:gone", ("alerts",)))
    assert main(["report", "verify", str(made / "report.json")]) == 2
    err = capsys.readouterr().err
    assert "jupyter_ops.aiops.correlation:gone no longer exists" in err


def test_result_ids_in_the_json_do_not_depend_on_the_run(made):
    data = json.loads((made / "report.json").read_text())
    ids = [s["provenance"]["id"] for s in data["sections"] if "id" in (s.get("provenance") or {})]
    assert ids == ["r1", "r2", "r3"]
    rca = next(s for s in data["sections"]
               if (s.get("provenance") or {}).get("function") == "rank_root_causes")
    assert rca["provenance"]["sources"]["correlation"] == {"kind": "result", "id": "r1"}


def test_cli_reports_record_their_files_and_verify(tmp_path, monkeypatch, capsys):
    from jupyter_ops.datasets import incident_scenario

    monkeypatch.chdir(tmp_path)
    s = incident_scenario(seed=3)
    s.alerts.to_csv("alerts.csv", index=False)
    s.topology.to_csv("topo.csv", index=False)
    s.metrics[s.metrics["service"].isin(["checkout", "web"])].to_csv("metrics.csv", index=False)
    assert main(["aiops", "correlate", "alerts.csv", "--topology", "topo.csv",
                 "--report", "c.json"]) == 0
    assert main(["aiops", "anomalies", "metrics.csv", "--report", "a.json"]) in (0, 1)
    s.deploys.to_csv("deploys.csv", index=False)
    assert main(["aiops", "rca", "alerts.csv", "--topology", "topo.csv", "--metrics",
                 "metrics.csv", "--deploys", "deploys.csv", "--report", "r.json"]) == 0
    capsys.readouterr()
    assert main(["report", "verify", "r.json"]) == 0
    assert "Root-cause candidates: same" in capsys.readouterr().out
    assert main(["report", "verify", "c.json"]) == 0
    assert main(["report", "verify", "a.json"]) == 0
    assert "Alert correlation: same" in capsys.readouterr().out
    # an input changed after the report: exit 2, naming it
    with open("metrics.csv", "a", encoding="utf-8") as f:
        f.write("2026-01-06T00:00:00Z,web,latency_ms,1\n")
    assert main(["report", "verify", "a.json"]) == 2
    assert "input 'metrics' changed" in capsys.readouterr().out


def test_cli_drift_and_logs_reports_verify(tmp_path, monkeypatch, capsys):
    import numpy as np
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    times = pd.date_range("2024-01-01", periods=1000, freq="h").astype(str)
    pd.DataFrame({"a": rng.normal(size=1000), "b": rng.choice(["x", "y"], 1000),
                  "t": times}).to_csv("ref.csv", index=False)
    pd.DataFrame({"a": rng.normal(0.5, size=1000), "b": rng.choice(["x", "y"], 1000),
                  "t": times}).to_csv("cur.csv", index=False)
    (tmp_path / "app.log").write_text("".join(
        f"2024-05-01T10:00:{i % 60:02d}Z INFO connected to 10.0.0.{i % 9} port {i}\n"
        for i in range(300)), encoding="utf-8")
    assert main(["mlops", "drift", "ref.csv", "cur.csv", "--report", "d.json"]) == 1
    assert main(["aiops", "logs", "app.log", "--report", "l.json"]) == 0
    capsys.readouterr()
    assert main(["report", "verify", "d.json"]) == 0
    assert main(["report", "verify", "l.json"]) == 0
    out = capsys.readouterr().out
    assert "Data drift: same" in out and "Log templates: same" in out
