"""Nothing lost offline: a real mlflow server is killed, a run is buffered, the server comes
back and ``%mlops_track sync`` pushes the run once, with every metric point."""

from __future__ import annotations

import pytest

pytest.importorskip("mlflow")

from mlflow_server import MlflowServer, fresh_store  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    yield srv
    srv.stop()


@pytest.fixture
def buffer(tmp_path, monkeypatch):
    d = tmp_path / "buffer"
    fresh_store(d / "buffer.db")
    monkeypatch.setenv("JUPYTER_OPS_BUFFER_DIR", str(d))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield d
    import mlflow

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
