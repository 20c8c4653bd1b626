"""The jupyter-ops server extension, through a real jupyter_server (pytest-jupyter).

pytest-jupyter's fixtures are imported into this module rather than loaded with
``pytest_plugins``: as a plugin its autouse fixtures (a fresh event loop and a ServerApp
clean-up around *every* test) would apply to the whole suite. Imported here they apply to
these tests only, which run their coroutines on the fixture's loop with :func:`run`.
"""

from __future__ import annotations

import json

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 - fixtures for this module only
from tornado.httpclient import HTTPClientError


@pytest.fixture
def run(io_loop):
    """Run a coroutine on the server's loop: ``run(jp_fetch(...))``."""
    return lambda coro: io_loop.run_sync(lambda: coro)


@pytest.fixture
def jp_server_config():
    # enabled by name: jupyter_server finds jupyter_ops._jupyter_server_extension_points
    return {"ServerApp": {"jpserver_extensions": {"jupyter_ops": True}}}


@pytest.fixture
def runs(mlflow_uri):
    """Two finished runs in the isolated store: 'old' then 'new'."""
    import mlflow

    mlflow.set_experiment("lab-sidebar")
    for name, acc in (("old", 0.71), ("new", 0.93)):
        with mlflow.start_run(run_name=name):
            mlflow.log_param("C", 1.0)
            mlflow.log_metric("accuracy", acc)
    return mlflow_uri


def test_status_endpoint(jp_fetch, run):
    from jupyter_ops import __version__
    from jupyter_ops.results import MIME_TYPE

    r = run(jp_fetch("jupyter-ops", "status"))
    assert r.code == 200
    body = json.loads(r.body)
    assert body == {"version": __version__, "payload_version": 1, "mime_type": MIME_TYPE}


def test_runs_newest_first_with_metrics(jp_fetch, run, runs):
    r = run(jp_fetch("jupyter-ops", "runs", params={"limit": "10"}))
    body = json.loads(r.body)
    assert [run["run_name"] for run in body["runs"]] == ["new", "old"]
    new = body["runs"][0]
    assert new["experiment"] == "lab-sidebar"
    assert new["status"] == "FINISHED"
    assert new["metrics"] == {"accuracy": 0.93}
    assert new["start_time"].endswith("+00:00")
    assert "mlflow.db" in body["tracking_uri"]


def test_runs_limit_and_tracking_uri_parameter(jp_fetch, run, runs, tmp_path):
    r = run(jp_fetch("jupyter-ops", "runs", params={"limit": "1"}))
    assert [run["run_name"] for run in json.loads(r.body)["runs"]] == ["new"]
    # another (empty) store, chosen by the client
    other = f"sqlite:///{tmp_path / 'other.db'}"
    r = run(jp_fetch("jupyter-ops", "runs", params={"tracking_uri": other}))
    assert json.loads(r.body)["runs"] == []


@pytest.mark.parametrize("params, message", [
    ({"limit": "ten"}, "limit must be an integer"),
    ({"limit": "0"}, "limit must be between 1 and 200"),
    ({"tracking_uri": "gopher://x"}, "invalid tracking URI"),
])
def test_runs_bad_input_is_a_400_with_a_message(jp_fetch, run, mlflow_uri, params, message):
    with pytest.raises(HTTPClientError) as e:
        run(jp_fetch("jupyter-ops", "runs", params=params))
    assert e.value.code == 400
    assert message in json.loads(e.value.response.body)["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "token not-the-token"}])
def test_requests_without_the_token_are_refused(jp_serverapp, http_server_client, run,
                                                jp_base_url, headers):
    for endpoint in ("runs", "status"):
        r = run(http_server_client.fetch(f"{jp_base_url}jupyter-ops/{endpoint}",
                                         headers=headers, raise_error=False))
        assert r.code == 403, endpoint
