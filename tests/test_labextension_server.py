"""The jupyter-ops server extension, through a real jupyter_server (pytest-jupyter)."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]


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


async def test_status_endpoint(jp_fetch):
    from jupyter_ops import __version__
    from jupyter_ops.results import MIME_TYPE

    r = await jp_fetch("jupyter-ops", "status")
    assert r.code == 200
    body = json.loads(r.body)
    assert body == {"version": __version__, "payload_version": 1, "mime_type": MIME_TYPE}


async def test_runs_newest_first_with_metrics(jp_fetch, runs):
    r = await jp_fetch("jupyter-ops", "runs", params={"limit": "10"})
    body = json.loads(r.body)
    assert [run["run_name"] for run in body["runs"]] == ["new", "old"]
    new = body["runs"][0]
    assert new["experiment"] == "lab-sidebar"
    assert new["status"] == "FINISHED"
    assert new["metrics"] == {"accuracy": 0.93}
    assert new["start_time"].endswith("+00:00")
    assert "mlflow.db" in body["tracking_uri"]


async def test_runs_limit_and_tracking_uri_parameter(jp_fetch, runs, tmp_path):
    r = await jp_fetch("jupyter-ops", "runs", params={"limit": "1"})
    assert [run["run_name"] for run in json.loads(r.body)["runs"]] == ["new"]
    # another (empty) store, chosen by the client
    other = f"sqlite:///{tmp_path / 'other.db'}"
    r = await jp_fetch("jupyter-ops", "runs", params={"tracking_uri": other})
    assert json.loads(r.body)["runs"] == []


@pytest.mark.parametrize("params, message", [
    ({"limit": "ten"}, "limit must be an integer"),
    ({"limit": "0"}, "limit must be between 1 and 200"),
    ({"tracking_uri": "gopher://x"}, "invalid tracking URI"),
])
async def test_runs_bad_input_is_a_400_with_a_message(jp_fetch, mlflow_uri, params, message):
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-ops", "runs", params=params)
    assert e.value.code == 400
    assert message in json.loads(e.value.response.body)["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "token not-the-token"}])
async def test_requests_without_the_token_are_refused(jp_serverapp, http_server_client,
                                                      jp_base_url, headers):
    for endpoint in ("runs", "status"):
        r = await http_server_client.fetch(f"{jp_base_url}jupyter-ops/{endpoint}",
                                           headers=headers, raise_error=False)
        assert r.code == 403, endpoint
