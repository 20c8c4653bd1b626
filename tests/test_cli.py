"""The jupyter-ops command line: help, exit statuses, demo, report re-rendering."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from jupyter_ops.cli import main


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_ops", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_help_lists_command_groups():
    out = run_cli("--help")
    assert out.returncode == 0
    for cmd in ("demo", "report", "aiops", "mlops"):
        assert cmd in out.stdout


def test_bad_usage_exits_2_with_a_message(capsys):
    with pytest.raises(SystemExit) as e:
        main(["no-such-command"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["aiops"]) == 2


def test_report_rerender_errors_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.json"), str(tmp_path / "out.html")]) == 2
    assert "report file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["report", str(bad), str(tmp_path / "out.html")]) == 2
    assert "not a jupyter-ops report JSON file" in capsys.readouterr().err


def test_demo_writes_offline_reports_and_they_rebuild(tmp_path):
    out = run_cli("demo", "--out", str(tmp_path / "demo-out"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    # MLflow's store-creation INFO lines are noise on a first run (they came through before)
    assert "INFO mlflow" not in out.stderr, out.stderr[-3000:]
    html = (tmp_path / "demo-out" / "report.html").read_text()
    md = (tmp_path / "demo-out" / "report.md").read_text()
    data = json.loads((tmp_path / "demo-out" / "report.json").read_text())
    assert data["schema"] == "jupyter-ops.report/2" and len(data["sections"]) > 1
    for _, url in re.findall(r'\s(src|href)\s*=\s*"([^"]*)"', html):
        assert url.startswith(("data:", "#part-"))  # inline data, or the contents' own anchors
    assert "<script" not in html.lower()
    assert md.startswith("# jupyter-ops demo report")
    # everything the demo writes stays in --out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-out"]
    # every capability contributed its part
    kinds = " ".join(s["content"] for s in data["sections"] if s["kind"] == "markdown")
    for heading in ("Metric anomalies", "Alert correlation", "Root-cause candidates",
                    "Log templates", "MLflow run", "Data drift", "Model monitoring"):
        assert heading in kinds, heading
    # the JSON is the archival form: it rebuilds the same HTML
    again = run_cli("report", str(tmp_path / "demo-out" / "report.json"), str(tmp_path / "again.html"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.html").read_text() == html
