"""``jupyter-ops mlops runs|compare|sync|register|reproduce`` and the demo step."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow  # noqa: F401 - a hard dependency: missing must fail, not skip
import pytest
from mlflow_server import fresh_store

from jupyter_ops.cli import main


@pytest.fixture
def store(tmp_path, monkeypatch):

    uri = fresh_store(tmp_path / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("JUPYTER_OPS_BUFFER_DIR", str(tmp_path / "buffer"))
    monkeypatch.chdir(tmp_path)
    yield uri
    mlflow.set_tracking_uri(None)


def test_demo_step_and_cli(store, tmp_path, capsys):
    from jupyter_ops.cli.demo import DemoContext
    from jupyter_ops.cli.tracking import demo

    out = tmp_path / "out"
    out.mkdir()
    fresh_store(out / "mlflow.db")
    ctx = DemoContext(out, seed=0)
    demo(ctx)
    md = Path(ctx.report.save(out / "r.md")).read_text()
    assert "MLflow run logistic" in md and "Comparison of 2 runs" in md

    uri = f"sqlite:///{out / 'mlflow.db'}"
    assert main(["mlops", "runs", "--uri", uri, "--metric", "test_accuracy", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["run_name"] for r in rows} == {"logistic", "forest"}
    acc = [r["metrics.test_accuracy"] for r in rows]
    assert acc == sorted(acc, reverse=True)
    ids = [r["run_id"] for r in rows]
    assert main(["mlops", "compare", *ids, "--uri", uri]) == 0
    assert "parameters differ" in capsys.readouterr().out
    nb = tmp_path / "r.ipynb"
    assert main(["mlops", "reproduce", ids[0], "--uri", uri, "--notebook", str(nb)]) == 0
    assert Path(nb).exists()


def test_cli_bad_input_exits_2(store, capsys):
    assert main(["mlops", "runs", "--uri", "bogus://x"]) == 2
    assert "invalid tracking URI" in capsys.readouterr().err
    assert main(["mlops", "compare", "0" * 32]) == 2
    assert "no run" in capsys.readouterr().err
    assert main(["mlops", "sync"]) == 0  # nothing buffered
    assert "nothing buffered" in capsys.readouterr().out
