"""%%mlops_track, %mlops_runs, %mlops_compare, %mlops_register on a real MLflow store."""

from __future__ import annotations

import json
import subprocess
import sys

import mlflow  # noqa: F401 - a hard dependency: missing must fail, not skip
import pytest
from IPython.core.error import UsageError
from mlflow_server import fresh_store


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh SQLite store (copied from a template: no migrations per test)."""

    uri = fresh_store(tmp_path / "store" / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("JUPYTER_OPS_BUFFER_DIR", str(tmp_path / "buffer"))
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def _text(uri, run_id, path):

    return mlflow.artifacts.load_text(f"runs:/{run_id}/{path}")


def test_import_and_load_ext_do_not_import_mlflow():
    code = ("import sys, jupyter_ops\n"
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "InteractiveShell.instance().run_line_magic('load_ext', 'jupyter_ops')\n"
            "print(sorted(m for m in ('mlflow', 'sklearn', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert "mlflow" not in out and "sklearn" not in out


CELL = '''
learning_rate = 0.1
n_layers: int = 3
name = "baseline"
alias = learning_rate
computed = len("abc")
from jupyter_ops import mlops
for step in range(2500):
    mlops.log_metric("loss", 1.0 / (step + 1), step=step)
print("trained")
{"accuracy": 0.91, "note": "not a number"}
'''


def test_tracked_cell_records_everything(ip, store, capsys):

    card = ip.run_cell_magic("mlops_track", "-e exp1 -n first --tag team=risk --no-autolog", CELL)
    assert "trained" in capsys.readouterr().out
    assert card.status == "FINISHED" and card.experiment == "exp1"
    runs = mlflow.search_runs(experiment_names=["exp1"])  # visible to plain MLflow
    assert list(runs["run_id"]) == [card.run_id]
    run = _client(store).get_run(card.run_id)
    # default params: top-level scalar literals (and names bound to them), not computed ones
    assert run.data.params == {"learning_rate": "0.1", "n_layers": "3", "name": "baseline",
                               "alias": "0.1"}
    assert run.data.metrics["accuracy"] == 0.91 and "note" not in run.data.metrics
    assert run.data.tags["team"] == "risk" and run.info.run_name == "first"
    history = _client(store).get_metric_history(card.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(2500))
    assert _text(store, card.run_id, "cell.py") == CELL
    env = json.loads(_text(store, card.run_id, "environment.json"))
    assert env["python"] == sys.version.split()[0] and "mlflow" in env["packages"]
    assert float(run.data.tags["jupyter_ops.wall_time_s"]) >= 0
    # the card: rich output with the run id and how to open it
    bundle = card._repr_mimebundle_()
    assert card.run_id in bundle["text/plain"] and "mlflow ui --backend-store-uri" in bundle["text/plain"]
    assert "application/vnd.jupyter-ops.result+json" in bundle


def test_rerun_makes_new_run_and_resume_continues(ip, store):
    a = ip.run_cell_magic("mlops_track", "-e rerun --no-autolog", "x = 1\n")
    b = ip.run_cell_magic("mlops_track", "-e rerun --no-autolog", "x = 1\n")
    assert a.run_id != b.run_id
    c = ip.run_cell_magic("mlops_track", "-e rerun --no-autolog --resume", "x = 1\n")
    assert c.run_id == b.run_id and c.status == "FINISHED"


def test_exception_fails_run_and_is_reraised_unchanged(ip, store):
    with pytest.raises(KeyError, match="boom"):
        ip.run_cell_magic("mlops_track", "-e errs --no-autolog", "a = 1\nraise KeyError('boom')\n")
    with pytest.raises(KeyboardInterrupt):
        ip.run_cell_magic("mlops_track", "-e errs --no-autolog", "raise KeyboardInterrupt\n")
    runs = _client(store).search_runs([_client(store).get_experiment_by_name("errs").experiment_id],
                                      order_by=["attributes.start_time ASC"])
    assert [r.info.status for r in runs] == ["FAILED", "KILLED"]
    tb = _text(store, runs[0].info.run_id, "traceback.txt")
    assert "KeyError" in tb and "boom" in tb
    # nothing is left active: the next cell starts normally

    assert mlflow.active_run() is None


def test_stale_active_run_never_blocks(ip, store):

    stale = mlflow.start_run()  # e.g. left by an interrupted plain-MLflow cell
    card = ip.run_cell_magic("mlops_track", "--no-autolog", "y = 2\n")
    assert card.status == "FINISHED"
    assert _client(store).get_run(stale.info.run_id).info.status == "KILLED"
    assert any(stale.info.run_id in n for n in card.notes)


def test_autolog_model_and_fit_fingerprints(ip, store):
    from jupyter_ops.mlops import dataset_fingerprint

    card = ip.run_cell_magic("mlops_track", "-e auto", '''
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
from jupyter_ops import mlops
X = pd.DataFrame(np.random.default_rng(0).random((60, 3)), columns=["a", "b", "c"])
y = (X["a"] > 0.5).astype(int)
mlops.log_dataset(X, "features")
model = LogisticRegression(C=2.0).fit(X, y)
''')
    run = _client(store).get_run(card.run_id)
    assert run.data.params["C"] == "2.0"  # autologged estimator params
    assert "training_accuracy_score" in run.data.metrics
    assert run.outputs.model_outputs  # the model was logged
    fps = {d["name"]: d for d in json.loads(_text(store, card.run_id, "datasets.json"))}
    X = ip.user_ns["X"]
    assert fps["fit.X"]["sha256"] == dataset_fingerprint(X)["sha256"] == fps["features"]["sha256"]
    assert fps["fit.X"]["rows"] == 60 and fps["fit.X"]["schema"] == {c: "float64" for c in "abc"}
    assert run.data.tags["dataset.features.sha256"] == fps["features"]["sha256"]

    reg = ip.run_line_magic("mlops_register", f"{card.run_id} --name churn --alias champion "
                            "--intended-use 'demo only'")
    assert reg.version == "1" and reg.alias == "champion"

    loaded = mlflow.sklearn.load_model("models:/churn@champion")
    assert loaded.C == 2.0
    md = _text(store, card.run_id, "model_card.md")
    assert fps["features"]["sha256"] in md and "demo only" in md and "| C | 2.0 |" in md
    assert "scikit-learn" in md


def test_runs_compare_and_reproduce(ip, store, tmp_path):
    from jupyter_ops import mlops

    cards = [ip.run_cell_magic("mlops_track", f"-e cmp -n r{i} --no-autolog",
                               f"depth = {i}\n{{'accuracy': {0.5 + i / 10}, 'loss': {1 - i / 10}}}\n")
             for i in range(3)]
    df = ip.run_line_magic("mlops_runs", "-e cmp --metric accuracy --top 2 -o best")
    assert list(df["run_name"]) == ["r2", "r1"] and ip.user_ns["best"] is df
    by_loss = mlops.list_runs("cmp", metric="loss")  # a loss sorts ascending
    assert by_loss["run_name"].iloc[0] == "r2"
    cmp = ip.run_line_magic("mlops_compare", " ".join(c.run_id for c in cards))
    assert cmp.params.loc[cmp.params["param"] == "depth", "differs"].item()
    best = dict(zip(cmp.metrics["metric"], cmp.metrics["best"], strict=True))
    assert best["accuracy"].startswith("r2") and best["loss"].startswith("r2")
    assert set(cmp.charts()) == {"metric_per_run", "parallel_coordinates"}
    rep = mlops.reproduce(cards[1].run_id, notebook=tmp_path / "repro.ipynb")
    assert rep.source.startswith("depth = 1") and rep.params == {"depth": "1"}
    import nbformat

    nb = nbformat.read(tmp_path / "repro.ipynb", 4)
    assert any("%%mlops_track" in c.source and "depth = 1" in c.source for c in nb.cells)


def test_log_result_inside_and_outside_runs(ip, store):
    import pandas as pd

    from jupyter_ops import mlops
    from jupyter_ops.results import Result

    class Drift(Result):
        kind = "drift"

        def figures(self):
            return [{"label": "drifted columns", "value": 2}, {"label": "worst", "value": "age"}]

        def tables(self):
            return {"drift": pd.DataFrame({"column": ["age"], "psi": [0.4]})}

    assert mlops.log_result(Drift()) is False
    with mlops.track(experiment="res", autolog=False) as run:
        assert mlops.log_result(Drift()) is True
    data = _client(store).get_run(run.run_id).data
    assert data.metrics == {"drift.drifted_columns": 2.0}
    assert "age" in _text(store, run.run_id, "jupyter_ops/drift/0/drift.csv")
    assert json.loads(_text(store, run.run_id, "jupyter_ops/drift/0/result.json"))["kind"] == "drift"


def test_span_start_stop_status(ip, store):
    from jupyter_ops import mlops

    assert ip.run_line_magic("mlops_track", "status") == "no tracked run is active"
    ip.run_line_magic("mlops_track", "start -e span -n sweep --no-autolog")
    for epoch in range(3):
        mlops.log_metric("val", epoch, step=epoch)
    child = ip.run_cell_magic("mlops_track", "--no-autolog", "k = 5\n")
    assert ip.run_line_magic("mlops_track", "status").run_name == "sweep"
    card = ip.run_line_magic("mlops_track", "stop")
    assert card.status == "FINISHED" and card.metrics["val"] == 2
    assert _client(store).get_run(child.run_id).data.tags["mlflow.parentRunId"] == card.run_id
    with pytest.raises(UsageError, match="no tracked run is active"):
        ip.run_line_magic("mlops_track", "stop")


# -- bad input --------------------------------------------------------------------------
def test_unknown_experiment_is_created(ip, store):
    card = ip.run_cell_magic("mlops_track", "-e brand-new --no-autolog", "z = 0\n")
    assert _client(store).get_experiment_by_name("brand-new").experiment_id == card.experiment_id


def test_invalid_tracking_uri_is_one_line_error(ip, store):
    with pytest.raises(UsageError, match=r"invalid tracking URI 'bogus://x'.*sqlite:///") as e:
        ip.run_cell_magic("mlops_track", "--uri bogus://x --no-autolog", "z = 0\n")
    assert "\n" not in str(e.value)
    with pytest.raises(UsageError, match="invalid tracking URI"):
        ip.run_line_magic("mlops_runs", "--uri bogus://x")
    with pytest.raises(UsageError, match="invalid tracking URI 'http://': no host"):
        ip.run_cell_magic("mlops_track", "--uri http:// --no-autolog", "z = 0\n")
    # a database store whose driver is missing (or whose server is down): one clear line
    with pytest.raises(UsageError, match=r"needs the Python package|cannot be reached"):
        ip.run_line_magic("mlops_runs", "--uri postgresql://u@127.0.0.1:1/db")


def test_nonexistent_run_id_is_clear(ip, store):
    ip.run_cell_magic("mlops_track", "--no-autolog", "z = 0\n")
    for magic, line in (("mlops_compare", "0123456789abcdef0123456789abcdef"),
                        ("mlops_register", "0123456789abcdef0123456789abcdef --name m")):
        with pytest.raises(UsageError, match=r"no run '0123456789abcdef0123456789abcdef'.*%mlops_runs"):
            ip.run_line_magic(magic, line)
    with pytest.raises(UsageError, match=r"no experiment 'nope'.*experiments: Default"):
        ip.run_line_magic("mlops_runs", "-e nope")


def test_huge_and_unrepresentable_params_never_crash(ip, store):
    ip.user_ns["huge"] = "x" * 10_000

    class Weird:
        def __repr__(self):
            raise RuntimeError("no repr")

        def __reduce__(self):
            raise TypeError("cannot pickle")

    ip.user_ns["weird"] = Weird()
    card = ip.run_cell_magic("mlops_track", "--params huge,weird --no-autolog", "pass\n")
    assert card.status == "FINISHED"
    params = _client(store).get_run(card.run_id).data.params
    assert len(params["huge"]) == 6000 and "truncated from 10,000" in params["huge"]
    assert params["weird"] == "<unrepresentable Weird>"
    notes = _text(store, card.run_id, "notes.txt")
    assert "param huge: truncated" in notes and "param weird: repr failed" in notes
    with pytest.raises(UsageError, match="--params: no variable 'missing'"):
        ip.run_cell_magic("mlops_track", "--params missing --no-autolog", "pass\n")


def test_metric_outside_run_is_clear():
    from jupyter_ops import mlops
    from jupyter_ops.errors import OpsInputError

    with pytest.raises(OpsInputError, match="needs an active run.*%%mlops_track"):
        mlops.log_metric("loss", 1.0)


def test_default_store_is_sqlite_in_cwd(ip, tmp_path, monkeypatch):

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("JUPYTER_OPS_BUFFER_DIR", str(tmp_path / "buffer"))
    mlflow.set_tracking_uri(None)
    fresh_store(tmp_path / "mlflow.db")  # MLflow's own default file (skip its migrations)
    try:
        card = ip.run_cell_magic("mlops_track", "--no-autolog", "q = 1\n")
    finally:
        mlflow.set_tracking_uri(None)
    assert card.tracking_uri.endswith(f"{tmp_path}/mlflow.db")
    assert f"mlflow ui --backend-store-uri sqlite:///{tmp_path}/mlflow.db" in card.summary()
    assert list(_client(f"sqlite:///{tmp_path}/mlflow.db").search_runs(["0"]))[0].info.run_id \
        == card.run_id


def test_run_comparer_widget_updates(ip, store):
    from jupyter_ops.widgets import RunComparer

    cards = [ip.run_cell_magic("mlops_track", f"-e wid -n w{i} --no-autolog",
                               f"k = {i}\n{{'acc': {i / 10}, 'f1': {i / 20}}}\n")
             for i in range(4)]
    rc = RunComparer("wid")
    assert len(rc.run_picker.value) == 3 and set(rc.all_metrics) == {"acc", "f1"}
    assert rc.result is not None and len(rc.result.runs) == 3
    rc.run_picker.value = (cards[0].run_id, cards[3].run_id)
    assert set(rc.result.runs["run_id"]) == {cards[0].run_id, cards[3].run_id}
    rc.metric_picker.value = ("acc",)
    assert list(rc.result.metrics["metric"]) == ["acc"]
    assert "metric_per_run" in rc.chart_specs and "parallel_coordinates" not in rc.chart_specs
    rc.run_picker.value = ()
    assert rc.result is None and "select" in rc.message.value


def test_nested_and_track_context_manager(ip, store):

    from jupyter_ops import mlops

    with mlflow.start_run() as outer:
        child = ip.run_cell_magic("mlops_track", "--nested --no-autolog", "u = 1\n")
        assert mlflow.active_run().info.run_id == outer.info.run_id  # the outer run goes on
    tags = _client(store).get_run(child.run_id).data.tags
    assert tags["mlflow.parentRunId"] == outer.info.run_id

    with pytest.raises(ZeroDivisionError):
        with mlops.track(experiment="ctx", params={"p": 1}, autolog=False) as run:
            mlops.log_metrics({"a": 1.0, "b": 2.0}, step=3)
            1 / 0  # noqa: B018
    r = _client(store).get_run(run.run_id)
    assert r.info.status == "FAILED" and r.data.params == {"p": "1"}
    assert r.data.metrics == {"a": 1.0, "b": 2.0}
    assert "ZeroDivisionError" in _text(store, run.run_id, "traceback.txt")


def test_drift_inside_tracked_cell_is_logged_to_the_run(ip, store):
    card = ip.run_cell_magic("mlops_track", "-e drift-run --no-autolog", '''
from jupyter_ops import datasets, mlops
s = datasets.drift_scenario(seed=0, n_rows=400)
result = mlops.drift(s.reference, s.current, columns=s.features)
''')
    data = _client(store).get_run(card.run_id).data
    assert any(k.startswith("drift.") for k in data.metrics)
    payload = json.loads(_text(store, card.run_id, "jupyter_ops/drift/0/result.json"))
    assert payload["kind"] == ip.user_ns["result"].kind
