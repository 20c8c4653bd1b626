"""``jupyter-ops postmortem``: papermill runs the template in a real kernel, nbconvert exports it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_ops.cli import main
from jupyter_ops.cli.postmortem import OUTPUTS

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    from jupyter_ops.datasets import incident_scenario

    d = tmp_path_factory.mktemp("pm-in")
    s = incident_scenario(seed=5, n_services=6, n_incidents=2, hours=6)
    s.alerts.drop(columns=["labels"]).to_csv(d / "alerts.csv", index=False)
    s.metrics.to_csv(d / "metrics.csv", index=False)
    s.topology.to_csv(d / "topology.csv", index=False)
    s.deploys.to_csv(d / "deploys.csv", index=False)
    return d


def test_postmortem_runs_the_template_end_to_end_and_verifies(files, tmp_path, capsys):
    out = tmp_path / "pm"
    rc = main(["postmortem", "--alerts", str(files / "alerts.csv"), "--metrics",
               str(files / "metrics.csv"), "--topology", str(files / "topology.csv"),
               "--deploys", str(files / "deploys.csv"), "--out", str(out),
               "--title", "Checkout <outage>"])
    assert rc == 0, capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pm.")]  # temp folder gone

    nb = json.loads((out / "postmortem.ipynb").read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and str(files / "alerts.csv") in "".join(injected[0]["source"])
    errors = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert any("Alert correlation" in json.dumps(c.get("outputs", [])) for c in nb["cells"])

    html = (out / "postmortem.html").read_text()
    assert "record_sources(" not in html  # no input cells
    assert "Alert correlation" in html
    assert "Content-Security-Policy" in html.split("</head>")[0]

    report = json.loads((out / "report.json").read_text())
    assert report["title"] == "Checkout <outage>"
    assert "Checkout &lt;outage&gt;" in (out / "report.html").read_text()
    capsys.readouterr()
    assert main(["report", "verify", str(out / "report.json")]) == 0
    lines = capsys.readouterr().out
    assert "Alert correlation: same" in lines and "Metric anomalies: same" in lines
    # root causes and the timeline re-run on the re-made correlation
    assert "Root-cause candidates: same" in lines and "4 same" in lines

    # a changed root-cause score is found, with the amount
    def change(sections):
        rca = next(i for i, x in enumerate(sections)
                   if (x.get("provenance") or {}).get("function") == "rank_root_causes")
        table = next(x for x in sections[rca:] if x["kind"] == "table")
        col = [c["name"] for c in table["content"]["columns"]].index("score")
        table["content"]["rows"][0][col] = round(table["content"]["rows"][0][col] / 2, 6)

    change(report["sections"])
    (out / "changed.json").write_text(json.dumps(report))
    assert main(["report", "verify", str(out / "changed.json")]) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if "Root-cause" in x)
    assert "differs" in line and "row 1 score" in line


def test_postmortem_notebook_failure_is_one_line_and_writes_nothing(files, tmp_path, capsys):
    bad = tmp_path / "alerts.csv"
    bad.write_text("when,what\n2026-01-01,x\n")
    out = tmp_path / "pm"
    rc = main(["postmortem", "--alerts", str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "the postmortem notebook failed in cell" in err and "OpsInputError" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["alerts.csv"]


def test_postmortem_bad_arguments_exit_2_before_running(files, tmp_path, capsys):
    rc = main(["postmortem", "--alerts", str(files / "nope.csv"), "--out", str(tmp_path / "pm")])
    assert rc == 2 and "--alerts" in capsys.readouterr().err
    rc = main(["postmortem", "--alerts", str(files / "alerts.csv"),
               "--out", str(tmp_path / "missing" / "pm")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    rc = main(["postmortem", "--alerts", str(files / "alerts.csv"), "--out", str(tmp_path / "file")])
    assert rc == 2 and "is a file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_template_and_example_notebooks_have_a_parameters_cell():
    import nbformat

    root = Path(__file__).resolve().parents[1]
    paths = [root / "jupyter_ops" / "templates" / "postmortem.ipynb",
             *(root / "example_notebooks" / f"{n}.ipynb" for n in (
                 "quickstart", "incident_postmortem", "log_investigation", "drift_monitoring",
                 "experiment_tracking"))]
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        # papermill injects after it: it must come before the first cell that uses a parameter
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code.index(tagged[0]) <= 1, path.name
