"""Nothing lost offline: a real mlflow server becomes unreachable, runs are buffered, the
server comes back and ``%mlops_track sync`` pushes each run once, with every metric point,
its logged models and its final status."""

from __future__ import annotations

import mlflow  # noqa: F401 - a hard dependency: missing must fail, not skip
import pytest
from mlflow_server import MlflowServer, fresh_store


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield srv
    srv.close()


@pytest.fixture
def buffer(tmp_path, monkeypatch):
    d = tmp_path / "buffer"
    fresh_store(d / "buffer.db")
    monkeypatch.setenv("JUPYTER_OPS_BUFFER_DIR", str(d))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield d

    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


CELL = """
lr = 0.05
epochs = 3
from jupyter_ops import mlops
for i in range(1200):
    mlops.log_metric("loss", 1.0 / (i + 1), step=i)
{"final_loss": 1.0 / 1200}
"""


def test_online_run_lands_on_server(ip, server, buffer):
    from mlflow.tracking import MlflowClient

    card = ip.run_cell_magic("mlops_track", f"-e online --no-autolog --uri {server.uri}",
                             "alpha = 3\n")
    assert card.status == "FINISHED" and not card.buffered
    run = MlflowClient(server.uri).get_run(card.run_id)
    assert run.data.params == {"alpha": "3"}
    from jupyter_ops.mlops import buffered_runs

    assert buffered_runs().empty


def test_unreachable_server_buffers_then_sync_pushes_once(ip, server, buffer):
    from mlflow.tracking import MlflowClient

    from jupyter_ops import mlops

    # a run spanning cells loses its server half-way: it is moved to the buffer at stop
    span = ip.run_line_magic("mlops_track", f"start -e offline-exp -n span --no-autolog "
                             f"--uri {server.uri}")
    assert not span.buffered
    for i in range(1500):  # 1,000 points reach the server, 500 wait in memory
        mlops.log_metric("acc", i / 1500, step=i)
    server.stop()
    for i in range(1500, 1600):
        mlops.log_metric("acc", i / 1600, step=i)
    with pytest.warns(UserWarning, match=r"went away.*moved to the offline buffer"):
        span_card = ip.run_line_magic("mlops_track", "stop")
    assert span_card.buffered and span_card.status == "FINISHED"

    with pytest.warns(UserWarning, match=r"cannot be reached.*offline buffer.*%mlops_track sync"):
        card = ip.run_cell_magic("mlops_track", f"-e offline-exp -n buffered --no-autolog "
                                 f"--uri {server.uri}", CELL)
    assert card.buffered and card.status == "FINISHED"
    assert card.tracking_uri.startswith("sqlite:///") and str(buffer) in card.tracking_uri
    assert "offline buffer" in card.summary()

    # the server is still down: sync keeps the run waiting
    waiting = ip.run_line_magic("mlops_track", f"sync --uri {server.uri}")
    assert list(waiting.runs["action"]) == ["server unreachable"] * 2

    server.start()
    done = ip.run_line_magic("mlops_track", f"sync --uri {server.uri}")
    assert list(done.runs["action"]) == ["synced", "synced"]
    ids = dict(zip(done.runs["buffer_run_id"], done.runs["server_run_id"], strict=True))
    server_id = ids[card.run_id]

    c = MlflowClient(server.uri)
    exp = c.get_experiment_by_name("offline-exp")
    runs = {r.info.run_id: r for r in c.search_runs([exp.experiment_id])}
    # the span's partial run on the server, plus one complete copy of each buffered run
    assert set(ids.values()) <= set(runs) and len(runs) == 3
    acc = c.get_metric_history(ids[span_card.run_id], "acc")
    assert sorted(m.step for m in acc) == list(range(1600))
    run = runs[server_id]
    assert run.info.status == "FINISHED" and run.info.run_name == "buffered"
    assert run.data.params == {"lr": "0.05", "epochs": "3"}
    assert run.data.tags["jupyter_ops.buffer_run_id"] == card.run_id
    history = c.get_metric_history(server_id, "loss")
    assert len(history) == 1200
    assert sorted(m.step for m in history) == list(range(1200))
    buf_hist = MlflowClient(card.tracking_uri).get_metric_history(card.run_id, "loss")
    assert sorted((m.step, m.timestamp, m.value) for m in history) == \
        sorted((m.step, m.timestamp, m.value) for m in buf_hist)
    assert run.data.metrics["final_loss"] == pytest.approx(1 / 1200)
    buf_run = MlflowClient(card.tracking_uri).get_run(card.run_id)
    assert run.info.start_time == buf_run.info.start_time
    assert run.info.end_time == buf_run.info.end_time
    arts = {a.path for a in c.list_artifacts(server_id)}
    assert {"cell.py", "environment.json"} <= arts

    # syncing again never duplicates
    again = ip.run_line_magic("mlops_track", f"sync --uri {server.uri}")
    assert list(again.runs["action"]) == ["already synced"] * 2
    assert len(c.search_runs([exp.experiment_id])) == 3


def test_list_runs_on_dead_server_is_one_line_error(ip, server, buffer):
    from IPython.core.error import UsageError

    srv = MlflowServer(server.root / "other")  # never started: nothing listens on its port
    with pytest.raises(UsageError, match=r"cannot be reached"):
        ip.run_line_magic("mlops_runs", f"--uri {srv.uri}")


class _HealthOnly:
    """A server that answers /health but drops every API request (a server going away)."""

    def __init__(self):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                if self.path == "/health":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"OK")
                else:
                    self.close_connection = True
                    self.connection.close()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_server_failing_after_the_probe_still_loses_nothing(ip, buffer):
    from mlflow.tracking import MlflowClient

    srv = _HealthOnly()
    try:
        with pytest.warns(UserWarning, match=r"stopped answering.*offline buffer"):
            card = ip.run_cell_magic("mlops_track", f"-e flaky --no-autolog --uri {srv.uri}",
                                     "k = 7\n{'m': 1.5}\n")
    finally:
        srv.close()
    assert card.buffered and card.status == "FINISHED"
    run = MlflowClient(card.tracking_uri).get_run(card.run_id)
    assert run.data.params == {"k": "7"} and run.data.metrics == {"m": 1.5}
    assert run.data.tags["jupyter_ops.target_uri"] == srv.uri


MODEL_CELL = """
import mlflow
from sklearn.linear_model import LogisticRegression
C = 0.5
inside_uri = mlflow.get_tracking_uri()
mlflow.log_param("user_param", "from-mlflow")
for step in range(3):
    mlflow.log_metric("user_metric", step / 10, step=step)
model = LogisticRegression(C=C).fit(X, y)
"""


def test_models_and_user_mlflow_calls_made_offline_reach_the_server(ip, server, buffer,
                                                                     monkeypatch):
    import numpy as np
    from mlflow.tracking import MlflowClient

    from jupyter_ops.mlops import buffered_runs

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    ip.user_ns.update(X=X, y=(X[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int))
    # the user points MLflow at the server with the environment variable, as is usual
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
    server.stop()
    with pytest.warns(UserWarning, match=r"cannot be reached.*offline buffer"):
        card = ip.run_cell_magic("mlops_track", "-e offline-models -n fit -o card",
                                 MODEL_CELL)
    assert card.buffered and card.status == "FINISHED"
    # plain mlflow.log_* inside the cell went to the buffered run, not to the dead server
    assert ip.user_ns["inside_uri"] == card.tracking_uri
    import os

    assert os.environ["MLFLOW_TRACKING_URI"] == server.uri  # the user's setting is back
    buf = MlflowClient(card.tracking_uri)
    brun = buf.get_run(card.run_id)
    assert brun.data.params["user_param"] == "from-mlflow" and brun.data.params["C"] == "0.5"
    assert [m.value for m in buf.get_metric_history(card.run_id, "user_metric")] == \
        [0.0, 0.1, 0.2]
    assert len(brun.outputs.model_outputs) == 1  # autolog's model, in the buffer for now

    server.start()
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match=r"in the offline buffer and not synced.*sync"):
        ip.run_line_magic("mlops_register", "card --name offline-model")
    done = ip.run_line_magic("mlops_track", "sync")
    assert list(done.runs["action"]) == ["synced"] and list(done.runs["models"]) == [1]
    assert done.summary().startswith("1 synced (with 1 logged model)")
    sid = done.runs["server_run_id"][0]
    srv = MlflowClient(server.uri)
    run = srv.get_run(sid)
    assert run.data.params["user_param"] == "from-mlflow"
    assert sorted(m.step for m in srv.get_metric_history(sid, "user_metric")) == [0, 1, 2]
    (out,) = run.outputs.model_outputs
    model = srv.get_logged_model(out.model_id)
    bmodel = buf.get_logged_model(brun.outputs.model_outputs[0].model_id)
    assert model.source_run_id == sid and model.name == bmodel.name
    assert str(model.status.value) == "READY" and model.params == bmodel.params
    assert model.tags["jupyter_ops.buffer_model_id"] == bmodel.model_id
    assert {m.key for m in model.metrics} >= {"training_accuracy_score", "training_score"}

    exp_id = run.info.experiment_id
    # a second sync changes nothing; a copy whose sync was cut short is redone, models too
    again = ip.run_line_magic("mlops_track", "sync")
    assert list(again.runs["action"]) == ["already synced"] and list(again.runs["models"]) == [1]
    assert len(srv.search_logged_models(experiment_ids=[exp_id])) == 1
    srv.delete_tag(sid, "jupyter_ops.sync_complete")
    redone = ip.run_line_magic("mlops_track", "sync")
    assert list(redone.runs["action"]) == ["synced"]
    sid = redone.runs["server_run_id"][0]
    assert [r.info.run_id for r in srv.search_runs([exp_id])] == [sid]
    (model,) = srv.search_logged_models(experiment_ids=[exp_id])
    assert model.source_run_id == sid

    # the synced run's model registers and loads from the server like any other; the card
    # of the offline run (its buffer id) stands for the synced copy
    reg = ip.run_line_magic("mlops_register", "card --name offline-model --alias champion")
    assert reg.run_id == sid and reg.version == "1"
    assert reg.model_uri == f"models:/{model.model_id}"
    mlflow.set_tracking_uri(server.uri)
    loaded = mlflow.sklearn.load_model("models:/offline-model@champion")
    assert (loaded.predict(X) == ip.user_ns["model"].predict(X)).all()
    mlmodel = mlflow.artifacts.download_artifacts(f"{model.artifact_location}/MLmodel",
                                                  dst_path=str(buffer.parent))
    text = open(mlmodel, encoding="utf-8").read()
    assert model.model_id in text and sid in text and bmodel.model_id not in text
    assert buffered_runs()["synced_run_id"].tolist() == [sid]

    # evaluated offline later: the run's model input, data set and model metric follow it
    server.stop()
    with pytest.warns(UserWarning, match=r"offline buffer"):
        ip.run_cell_magic("mlops_track", "-e offline-models -n eval --no-autolog", EVAL_CELL)
    server.start()
    done = ip.run_line_magic("mlops_track", "sync").runs.set_index("run_name")
    assert done.loc["fit", "action"] == "already synced" and done.loc["eval", "action"] == "synced"
    ev = srv.get_run(done.loc["eval", "server_run_id"])
    assert [i.model_id for i in ev.inputs.model_inputs] == [model.model_id]
    assert [d.dataset.name for d in ev.inputs.dataset_inputs] == ["eval-X"]
    linked = srv.get_logged_model(model.model_id).metrics
    assert [m.key for m in linked if m.run_id == ev.info.run_id] == ["eval_acc"]


EVAL_CELL = """
import mlflow
from mlflow.entities import LoggedModelInput
mid = mlflow.last_logged_model().model_id
mlflow.log_input(mlflow.data.from_numpy(X, name="eval-X"), context="eval")
mlflow.log_metric("eval_acc", model.score(X, y), model_id=mid)
mlflow.MlflowClient().log_inputs(mlflow.active_run().info.run_id, models=[LoggedModelInput(mid)])
"""


INTERRUPTED_CELL = """
import mlflow
mlflow.log_metric("seen", 1.0)
mlflow.start_run(nested=True, run_name="left-open")
mlflow.log_metric("child_seen", 2.0)
raise KeyboardInterrupt
"""


def test_interrupted_and_dead_kernel_runs_sync_as_killed(ip, server, buffer):
    import os
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    from jupyter_ops.mlops import buffered_runs

    server.stop()
    with pytest.warns(UserWarning, match=r"offline buffer"), pytest.raises(KeyboardInterrupt):
        ip.run_cell_magic("mlops_track", f"-e killed --no-autolog -n cell --uri {server.uri}",
                          INTERRUPTED_CELL)
    # a kernel that dies in the middle of a buffered run spanning cells
    code = ("import os\nfrom jupyter_ops import mlops\n"
            f"mlops.start_run('killed', run_name='dead-kernel', autolog=False, "
            f"tracking_uri={server.uri!r})\nimport mlflow\n"
            "mlflow.start_run(nested=True, run_name='dead-child')\nos._exit(9)\n")
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                          env={**os.environ, "JUPYTER_OPS_BUFFER_DIR": str(buffer)},
                          timeout=120, check=False)
    assert proc.returncode == 9, proc.stderr.decode()[-2000:]

    before = buffered_runs().set_index("run_name")
    assert before.loc["cell", "status"] == "KILLED"
    assert before.loc["left-open", "status"] == "KILLED"  # ended by us, synced with its parent
    assert before.loc["left-open", "target_uri"] == server.uri
    assert before.loc["dead-kernel", "status"] == "RUNNING"
    assert before.loc["dead-child", "status"] == "RUNNING"
    buf = MlflowClient(f"sqlite:///{buffer / 'buffer.db'}")
    cell_run, child = (buf.get_run(before.loc[n, "buffer_run_id"]) for n in ("cell", "left-open"))
    assert child.info.experiment_id == cell_run.info.experiment_id  # beside its parent

    server.start()
    done = ip.run_line_magic("mlops_track", "sync").runs.set_index("run_name")
    assert (done["action"] == "synced").all() and len(done) == 4
    assert (done["status"] == "KILLED").all()
    srv = MlflowClient(server.uri)
    runs = {n: srv.get_run(done.loc[n, "server_run_id"]) for n in done.index}
    assert all(r.info.status == "KILLED" for r in runs.values())
    assert runs["cell"].data.metrics["seen"] == 1.0
    assert runs["left-open"].data.metrics["child_seen"] == 2.0
    assert runs["left-open"].data.tags["mlflow.parentRunId"] == runs["cell"].info.run_id
    assert runs["dead-child"].data.tags["mlflow.parentRunId"] == \
        runs["dead-kernel"].info.run_id
    assert "KeyboardInterrupt" in open(srv.download_artifacts(
        runs["cell"].info.run_id, "traceback.txt", str(buffer)), encoding="utf-8").read()


OUTAGE_CELL = """
import mlflow
from jupyter_ops import mlops
for i in range(1000):  # the first batch reaches the server
    mlops.log_metric("loss", 1 / (i + 1), step=i)
outage()
for i in range(1000, 2100):  # the second batch finds it gone: the run moves to the buffer
    mlops.log_metric("loss", 1 / (i + 1), step=i)
mlflow.log_metric("user_after", 3.0)  # instantly into the buffered run
after_uri = mlflow.get_tracking_uri()
"""


def test_server_lost_mid_cell_the_cell_goes_on_in_the_buffer(ip, server, buffer):
    from mlflow.tracking import MlflowClient

    ip.user_ns["outage"] = server.stop
    with pytest.warns(UserWarning, match=r"went away.*moved to the offline buffer"):
        card = ip.run_cell_magic("mlops_track", f"-e midcell --no-autolog --uri {server.uri}",
                                 "seed = 4\n" + OUTAGE_CELL)
    assert card.status == "FINISHED" and card.buffered
    assert ip.user_ns["after_uri"] == card.tracking_uri
    buf = MlflowClient(card.tracking_uri)
    assert len(buf.get_metric_history(card.run_id, "loss")) == 2100
    assert buf.get_run(card.run_id).data.metrics["user_after"] == 3.0

    server.start()
    done = ip.run_line_magic("mlops_track", f"sync --uri {server.uri}")
    assert list(done.runs["action"]) == ["synced"]
    srv = MlflowClient(server.uri)
    run = srv.get_run(done.runs["server_run_id"][0])
    assert run.data.params == {"seed": "4"} and run.data.metrics["user_after"] == 3.0
    assert sorted(m.step for m in srv.get_metric_history(run.info.run_id, "loss")) == \
        list(range(2100))
    partial = run.data.tags["jupyter_ops.partial_server_run_id"]
    assert len(srv.get_metric_history(partial, "loss")) == 1000  # left as it was


def test_a_run_the_server_stored_without_answering_is_named_and_ended_by_sync(ip, server, buffer):
    """The server stores a run's creation and dies before answering: the client buffers the
    run without knowing that id. Both copies carry the client's run key, so sync names the
    partial copy in the complete one (jupyter_ops.partial_server_run_id) and ends it KILLED;
    nothing is counted twice."""
    from mlflow.tracking import MlflowClient

    server.stop()
    with pytest.warns(UserWarning, match=r"cannot be reached"):
        card = ip.run_cell_magic("mlops_track", f"-e lost-answer -n lost --no-autolog "
                                 f"--uri {server.uri}", "x = 1\n")
    key = MlflowClient(card.tracking_uri).get_run(card.run_id).data.tags[
        "jupyter_ops.client_run_key"]
    server.start()
    c = MlflowClient(server.uri)
    exp_id = c.create_experiment("lost-answer")
    orphan = c.create_run(exp_id, run_name="lost", tags={"jupyter_ops.client_run_key": key})
    done = ip.run_line_magic("mlops_track", f"sync --uri {server.uri}")
    assert list(done.runs["action"]) == ["synced"]
    complete = c.get_run(done.runs["server_run_id"].iloc[0])
    assert complete.data.tags["jupyter_ops.partial_server_run_id"] == orphan.info.run_id
    assert c.get_run(orphan.info.run_id).info.status == "KILLED"
    assert complete.info.status == "FINISHED"
