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


def test_runs_limit_and_tracking_uri_parameter(jp_fetch, run, runs, tmp_path, monkeypatch):
    r = run(jp_fetch("jupyter-ops", "runs", params={"limit": "1"}))
    assert [run["run_name"] for run in json.loads(r.body)["runs"]] == ["new"]
    # the server's own store, named explicitly, is allowed
    r = run(jp_fetch("jupyter-ops", "runs", params={"tracking_uri": runs}))
    assert len(json.loads(r.body)["runs"]) == 2
    # another store only when the server allows it; a missing one is listed empty, not created
    other = tmp_path / "other.db"
    with pytest.raises(HTTPClientError) as e:
        run(jp_fetch("jupyter-ops", "runs", params={"tracking_uri": f"sqlite:///{other}"}))
    assert e.value.code == 403 and "JUPYTER_OPS_TRACKING_URIS" in e.value.response.body.decode()
    monkeypatch.setenv("JUPYTER_OPS_TRACKING_URIS", f"sqlite:///{other}")
    r = run(jp_fetch("jupyter-ops", "runs", params={"tracking_uri": f"sqlite:///{other}"}))
    assert json.loads(r.body)["runs"] == [] and "no MLflow store" in json.loads(r.body)["message"]
    assert not other.exists()


def test_runs_get_never_creates_a_store(jp_fetch, run, jp_root_dir, tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    import mlflow

    mlflow.set_tracking_uri(None)
    monkeypatch.chdir(jp_root_dir)
    before = sorted(os.listdir(jp_root_dir)), sorted(os.listdir(tmp_path))
    r = run(jp_fetch("jupyter-ops", "runs"))
    assert json.loads(r.body)["runs"] == []
    assert (sorted(os.listdir(jp_root_dir)), sorted(os.listdir(tmp_path))) == before


@pytest.mark.parametrize("uri", ["http://evil.example:80", "sqlite:////etc/passwd.db",
                                 "file:///tmp"])
def test_runs_refuses_stores_the_server_does_not_own(jp_fetch, run, mlflow_uri, uri):
    with pytest.raises(HTTPClientError) as e:
        run(jp_fetch("jupyter-ops", "runs", params={"tracking_uri": uri}))
    assert e.value.code == 403


def test_unreadable_store_is_a_4xx(jp_fetch, run, mlflow_uri, tmp_path, monkeypatch):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    monkeypatch.setenv("JUPYTER_OPS_TRACKING_URIS", f"sqlite:///{junk}")
    with pytest.raises(HTTPClientError) as e:
        run(jp_fetch("jupyter-ops", "runs", params={"tracking_uri": f"sqlite:///{junk}"}))
    assert e.value.code == 400 and "cannot read" in e.value.response.body.decode()


@pytest.fixture
def hanging_server():
    """An HTTP server that answers /health, then never answers anything else."""
    from tests.live_servers import hanging_http_server

    with hanging_http_server(hold=30) as url:
        yield url


def test_hanging_tracking_server_does_not_starve_jupyter(jp_fetch, run, mlflow_uri,
                                                         hanging_server, monkeypatch):
    import asyncio

    from jupyter_ops.server import sources

    monkeypatch.setattr(sources, "TIMEOUT", 2.0)
    monkeypatch.setenv("JUPYTER_OPS_TRACKING_URIS", hanging_server)
    done: list[tuple[str, int]] = []

    async def runs_call():
        r = await jp_fetch("jupyter-ops", "runs", params={"tracking_uri": hanging_server},
                           raise_error=False)
        done.append(("runs", r.code))
        return r

    async def scenario():
        hung = [asyncio.ensure_future(runs_call()) for _ in range(6)]
        await asyncio.sleep(0.3)
        r = await jp_fetch("api", "kernelspecs")
        done.append(("kernelspecs", r.code))
        return await asyncio.gather(*hung)

    replies = run(scenario())
    codes = sorted(r.code for r in replies)
    assert set(codes) <= {503, 504} and 504 in codes
    # kernelspecs answered while the requests to the hanging server were still waiting
    first_timeout = min(i for i, (name, code) in enumerate(done) if code == 504)
    assert done.index(("kernelspecs", 200)) < first_timeout
    messages = [json.loads(r.body)["message"] for r in replies]
    assert any("did not answer within 2 s" in m for m in messages)


def test_alerts_endpoint_unconfigured(jp_fetch, run, monkeypatch):
    monkeypatch.delenv("JUPYTER_OPS_ALERTMANAGER_URL", raising=False)
    body = json.loads(run(jp_fetch("jupyter-ops", "alerts")).body)
    assert body["configured"] is False and "JUPYTER_OPS_ALERTMANAGER_URL" in body["message"]


def test_alerts_endpoint_lists_firing_alerts_of_the_configured_alertmanager(
        jp_fetch, run, monkeypatch, tmp_path):
    import httpx

    from tests.live_servers import start_alertmanager, wait_for

    am = start_alertmanager(tmp_path)
    try:
        httpx.post(am.url + "/api/v2/alerts", json=[{
            "labels": {"alertname": "<img src=x onerror=alert(1)>", "service": "checkout",
                       "severity": "critical"},
            "annotations": {"summary": "p99 latency over 2 s"}}], timeout=10).raise_for_status()
        wait_for(lambda: httpx.get(am.url + "/api/v2/alerts", timeout=5).json())
        monkeypatch.setenv("JUPYTER_OPS_ALERTMANAGER_URL", am.url.replace("://", "://u:pw@"))
        body = json.loads(run(jp_fetch("jupyter-ops", "alerts", params={
            "url": "http://evil.example"})).body)
        assert body["configured"] is True and body["alertmanager"] == am.url
        (alert,) = body["alerts"]
        assert alert["name"] == "<img src=x onerror=alert(1)>" and alert["service"] == "checkout"
        assert alert["message"] == "p99 latency over 2 s" and alert["status"] == "active"
        assert "pw" not in json.dumps(body)
        am.stop()
        with pytest.raises(HTTPClientError) as e:
            run(jp_fetch("jupyter-ops", "alerts"))
        assert e.value.code == 503 and "Alertmanager at " + am.url in \
            e.value.response.body.decode()
    finally:
        am.stop()


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
    for endpoint in ("runs", "status", "alerts"):
        r = run(http_server_client.fetch(f"{jp_base_url}jupyter-ops/{endpoint}",
                                         headers=headers, raise_error=False))
        assert r.code == 403, endpoint


def test_runs_of_a_notebook_come_from_its_folders_store_and_nothing_is_created(
        jp_fetch, run, jp_root_dir, tmp_path, monkeypatch):
    """With no MLFLOW_TRACKING_URI, a kernel's runs land in mlflow.db beside its notebook: the
    sidebar names the notebook and the server reads that store (inside the root only)."""
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # artifacts of the run below stay out of the repository
    folder = jp_root_dir / "work"
    folder.mkdir()
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    try:
        mlflow.set_experiment("beside-the-notebook")
        with mlflow.start_run(run_name="nb-run"):
            mlflow.log_metric("accuracy", 0.5)
    finally:
        mlflow.set_tracking_uri("")
    r = run(jp_fetch("jupyter-ops", "runs", params={"notebook": "work/analysis.ipynb"}))
    body = json.loads(r.body)
    assert [x["run_name"] for x in body["runs"]] == ["nb-run"]
    assert body["tracking_uri"].endswith("work/mlflow.db")

    # a notebook whose folder has no store: no runs, and no store is created by looking
    (jp_root_dir / "empty").mkdir()
    r = run(jp_fetch("jupyter-ops", "runs", params={"notebook": "empty/x.ipynb"}))
    assert json.loads(r.body)["runs"] == []
    assert not (jp_root_dir / "empty" / "mlflow.db").exists()

    # a path that climbs out of the root is refused before anything is opened
    with pytest.raises(HTTPClientError) as e:
        run(jp_fetch("jupyter-ops", "runs", params={"notebook": "../../etc/x.ipynb"}))
    assert e.value.code == 403
