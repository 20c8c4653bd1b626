"""Live Prometheus and Alertmanager: the real Debian servers on 127.0.0.1 (see live_servers)."""

from __future__ import annotations

import json
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pandas as pd
import pytest

from jupyter_ops.errors import OpsConnectionError, OpsInputError
from jupyter_ops.io import fetch_alerts, fetch_silences, prometheus_query, prometheus_query_range
from jupyter_ops.io.live import provenance, resolve_source
from tests.live_servers import (
    prometheus_stack,
    start_prometheus,
    wait_for,
)

USER, PASSWORD = "ops", "s3cr3t-Pa55word"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("live")
    with prometheus_stack(work) as servers:
        # scraped data and the firing alert appear within a few seconds (1 s intervals)
        # (static targets are handed to the scraper after Prometheus's 5 s discovery delay)
        # wait until both targets have samples at least 3 s old (tests read ranges ending
        # a second or two before now)
        wait_for(lambda: _scraped(servers["prom"].url, 4), timeout=40)
        yield {**servers, "work": work}


def _scraped(url, n):
    result = _raw(url, "/api/v1/query", query="up[10s]")["data"]["result"]
    return len(result) >= 2 and all(len(r["values"]) >= n for r in result)


def _raw(base, path, auth=None, **params):
    return httpx.get(base + path, params=params, auth=auth, timeout=10).json()


def test_query_range_matches_what_prometheus_returns(stack):
    url = stack["prom"].url
    end = pd.Timestamp.now(tz="UTC").floor("s") - pd.Timedelta("1s")
    start = end - pd.Timedelta("20s")
    df = prometheus_query_range(url, "up", start, end, "1s")
    raw = _raw(url, "/api/v1/query_range", query="up", start=start.timestamp(),
               end=end.timestamp(), step="1")["data"]["result"]
    assert set(df["job"]) == {"node", "prometheus"}
    for series in raw:
        job = series["metric"]["job"]
        got = df[df["job"] == job]
        want_t = pd.to_datetime([float(t) for t, _ in series["values"]], unit="s", utc=True)
        assert list(got["timestamp"]) == list(want_t)
        assert got["value"].tolist() == [float(v) for _, v in series["values"]]
        assert (got["service"] == job).all() and (got["metric"] == "up").all()
    assert df["timestamp"].dtype == "datetime64[ns, UTC]"
    prov = provenance(df)
    assert prov["server"] == url and prov["query"] == "up"
    assert prov["start"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z") and prov["step"] == "1s"


def test_rerun_from_provenance_fetches_the_same_data(stack):
    url = stack["prom"].url
    end = pd.Timestamp.now(tz="UTC") - pd.Timedelta("0.3s")  # a past, fixed range
    df = prometheus_query_range(url, "up", end - pd.Timedelta("10s"), end, "0.5s")
    prov = provenance(df)
    again = prometheus_query_range(prov["server"], prov["query"], prov["start"], prov["end"],
                                   prov["step"])
    pd.testing.assert_frame_equal(df, again)


def test_chunk_edges_no_duplicate_or_missing_points(stack):
    url = stack["prom"].url
    end = pd.Timestamp.now(tz="UTC").floor("s")
    start = end - pd.Timedelta("25s")  # 25,001 points at 1 ms: three chunks of <= 11,000
    filters = list(warnings.filters)
    df = prometheus_query_range(url, "vector(1)", start, end, "1ms")
    assert warnings.filters == filters  # concurrent parsing leaves global state alone
    assert provenance(df)["chunks"] == 3
    grid = pd.date_range(start, end, freq="1ms")
    assert len(df) == len(grid) == 25_001
    assert (df["timestamp"].to_numpy() == grid.to_numpy()).all()
    # a real series: different chunk sizes give the identical frame
    a = prometheus_query_range(url, "up", end - pd.Timedelta("12s"), end, "1ms")
    b = prometheus_query_range(url, "up", end - pd.Timedelta("12s"), end, "1ms",
                               max_points=2_500)
    assert provenance(b)["chunks"] > provenance(a)["chunks"] >= 2
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert not a.duplicated(["series", "timestamp"]).any()


def test_instant_query_labels_as_columns(stack):
    url = stack["prom"].url
    df = prometheus_query(url, 'up{job="node"}')
    assert len(df) == 1 and df["value"].iloc[0] == 1.0
    assert df["instance"].iloc[0] == stack["node"].url.split("://")[1]
    assert df["job"].iloc[0] == "node"
    scalar = prometheus_query(url, "scalar(vector(2.5))")
    assert scalar["value"].tolist() == [2.5]
    by_label = prometheus_query(url, "up", service_label="instance")
    assert set(by_label["service"]) == set(by_label["instance"])


def test_bad_query_names_server_query_and_prometheus_error(stack):
    url = stack["prom"].url
    with pytest.raises(OpsInputError) as e:
        prometheus_query_range(url, "rate(up[5m]", "2024-01-01", "2024-01-01T01:00:00Z", "60s")
    msg = str(e.value)
    assert msg.startswith(f"Prometheus at {url} answered 400 bad_data: ")
    assert "parse error" in msg and "'rate(up[5m]'" in msg


def test_prometheus_error_response_reaches_detect_anomalies(stack, tmp_path):
    from jupyter_ops.aiops import detect_anomalies

    body = httpx.get(stack["prom"].url + "/api/v1/query", params={"query": "sum("}).json()
    assert body["status"] == "error"
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(body))
    with pytest.raises(OpsInputError) as e:
        detect_anomalies(str(path))
    assert body["errorType"] in str(e.value) and body["error"] in str(e.value)
    assert "missing column" not in str(e.value)


def test_no_samples_is_a_clear_error(stack):
    with pytest.raises(OpsInputError, match="no samples for 'nonexistent_metric_xyz'"):
        prometheus_query_range(stack["prom"].url, "nonexistent_metric_xyz",
                               "2024-01-01", "2024-01-01T00:10:00Z", "60s")


def test_basic_auth_refused_without_credentials_and_never_leaked(stack, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    prom = start_prometheus(stack["work"], [stack["node"].url.split("://")[1]],
                            basic_auth=(USER, PASSWORD), name="prom-auth")
    try:
        url = prom.url
        with pytest.raises(OpsInputError) as e:
            prometheus_query(url, "up")
        assert "answered 401" in str(e.value) and "credentials" in str(e.value)
        wrong = url.replace("://", f"://{USER}:wrong-{PASSWORD}@")
        with pytest.raises(OpsInputError) as e:
            prometheus_query(wrong, "up")
        assert PASSWORD not in str(e.value) and "wrong-" not in str(e.value)
        with_userinfo = url.replace("://", f"://{USER}:{PASSWORD}@")
        wait_for(lambda: _raw(url, "/api/v1/query", auth=(USER, PASSWORD), query="up")
                 ["data"]["result"])
        df = prometheus_query(with_userinfo, "up")
        df2 = prometheus_query(url, "up", username=USER, password=PASSWORD)
        assert len(df) == len(df2) >= 1
        outputs = [df.to_json(), repr(df), json.dumps(df.attrs), df._repr_html_() or "",
                   json.dumps(provenance(df)), caplog.text]
        for out in outputs:
            assert PASSWORD not in out and f"{USER}:" not in out
        assert provenance(df)["server"] == url
        # bearer tokens: sent, refused by this server, and scrubbed from the error
        with pytest.raises(OpsInputError) as e:
            prometheus_query(url, "up", token="tok-" + PASSWORD)
        assert PASSWORD not in str(e.value)
    finally:
        prom.stop()


def test_server_killed_mid_fetch_raises_and_returns_no_partial_frame(stack, monkeypatch):
    from jupyter_ops.io.http import LiveClient

    prom = start_prometheus(stack["work"], [], name="prom-kill")
    calls = []
    original = LiveClient.request

    def request(self, method, path, **kw):
        calls.append(path)
        if len(calls) == 2:  # the first chunk arrived; the server dies before the second
            prom.proc.kill()
            prom.proc.wait(5)
        return original(self, method, path, **kw)

    monkeypatch.setattr(LiveClient, "request", request)
    end = pd.Timestamp.now(tz="UTC").floor("s")
    result = None
    with pytest.raises(OpsConnectionError) as e:
        result = prometheus_query_range(prom.url, "vector(1)", end - pd.Timedelta("30s"), end,
                                        "1ms", workers=1, retries=1, backoff=0.01)
    assert result is None
    assert f"Prometheus at {prom.url}" in str(e.value) and "'vector(1)'" in str(e.value)
    assert "cannot be reached" in str(e.value)


class _Flaky(BaseHTTPRequestHandler):
    codes: list[int] = []
    hits = 0

    def log_message(self, *a):
        pass

    def do_GET(self):
        cls = type(self)
        code = cls.codes[min(cls.hits, len(cls.codes) - 1)]
        cls.hits += 1
        body = (json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "x"}, "value": [1700000000, "3"]}]}}) if code == 200
            else json.dumps({"status": "error", "errorType": "internal", "error": f"boom {code}"}))
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.mark.parametrize("codes,hits,ok", [([503, 502, 200], 3, True), ([400], 1, False),
                                           ([500], 3, False)])
def test_retry_on_5xx_not_on_4xx(codes, hits, ok):
    # a scripted HTTP server: the only way to make a real Prometheus answer 5xx on demand
    handler = type("H", (_Flaky,), {"codes": codes, "hits": 0})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        if ok:
            assert prometheus_query(url, "x", retries=2, backoff=0.01)["value"].tolist() == [3.0]
        else:
            err = OpsInputError if codes[0] < 500 else OpsConnectionError
            with pytest.raises(err, match=f"answered {codes[0]} "):
                prometheus_query(url, "x", retries=2, backoff=0.01)
        assert handler.hits == hits
    finally:
        srv.shutdown()
        srv.server_close()


def test_unconfigured_url_says_how_to_configure(monkeypatch):
    monkeypatch.delenv("JUPYTER_OPS_PROMETHEUS_URL", raising=False)
    with pytest.raises(OpsInputError, match="JUPYTER_OPS_PROMETHEUS_URL"):
        resolve_source("prometheus:up", since="1h")


def test_resolve_source_uses_env_url(stack, monkeypatch):
    monkeypatch.setenv("JUPYTER_OPS_PROMETHEUS_URL", stack["prom"].url)
    df = resolve_source("prometheus:up", since="30s", step="1s")
    assert set(df["metric"]) == {"up"} and provenance(df)["server"] == stack["prom"].url
    assert resolve_source("not-a-spec") is None
    with pytest.raises(OpsInputError, match="takes logs"):
        resolve_source("prometheus:up", kind="logs")


def test_alertmanager_firing_alert_and_silences(stack):
    am = stack["am"].url
    raw = wait_for(lambda: [a for a in _raw(am, "/api/v2/alerts")
                            if a["labels"].get("alertname") == "NodeUp"], timeout=30)
    df = fetch_alerts(am)
    row = df[df["name"] == "NodeUp"].iloc[0]
    assert row["service"] == "checkout" and row["severity"] == "critical"
    assert row["fingerprint"] == raw[0]["fingerprint"]
    assert row["timestamp"] == pd.Timestamp(raw[0]["startsAt"]).tz_convert("UTC")
    assert "<b>(test)</b>" in row["message"]  # data stays data; escaping is the renderer's job
    assert provenance(df)["server"] == am
    assert fetch_alerts(am, filter=['severity="none"']).empty
    # a silence mutes it: listed by fetch_silences, hidden from active, shown with silenced=True
    now = pd.Timestamp.now(tz="UTC")
    sil = httpx.post(am + "/api/v2/silences", json={
        "matchers": [{"name": "alertname", "value": "NodeUp", "isRegex": False,
                      "isEqual": True}],
        "startsAt": now.isoformat(), "endsAt": (now + pd.Timedelta("1h")).isoformat(),
        "createdBy": "test", "comment": "maintenance"}, timeout=10).json()
    try:
        silences = fetch_silences(am, state="active")
        assert sil["silenceID"] in set(silences["id"])
        assert 'alertname="NodeUp"' in silences["matchers"].iloc[0]
        wait_for(lambda: fetch_alerts(am, active=False, silenced=True)["name"].eq("NodeUp")
                 .any())
        assert not fetch_alerts(am)["name"].eq("NodeUp").any()
    finally:
        httpx.delete(am + f"/api/v2/silence/{sil['silenceID']}", timeout=10)
    with pytest.raises(OpsInputError, match="Alertmanager at .* answered 400"):
        fetch_alerts(am, filter=["not a matcher"])


def test_values_are_float_and_nan_kept(stack):
    df = prometheus_query(stack["prom"].url, "vector(0) / 0")
    assert np.isnan(df["value"].iloc[0])


def test_fast_matrix_parser_equals_json_parse_on_real_answers(stack):
    from jupyter_ops.io.prometheus import _fast_matrix, _series_arrays

    tricky = 'a\\"values\\":[[1,\\"2\\"]]}, ]] \\\\ é'
    queries = ["up", "vector(1)/0", "-vector(1)/0", "vector(0)/0",
               f'label_replace(vector(2.5e-300), "weird", "{tricky}", "", "")',
               "rate(node_cpu_seconds_total[5s])"]
    end = pd.Timestamp.now(tz="UTC").floor("s") - pd.Timedelta("1s")
    for q in queries:
        r = httpx.get(stack["prom"].url + "/api/v1/query_range", params={
            "query": q, "start": (end - pd.Timedelta("10s")).timestamp(),
            "end": end.timestamp(), "step": "0.5"}, timeout=10)
        fast = _fast_matrix(r.content)
        assert fast is not None, q
        slow = {tuple(sorted(s["metric"].items())): _series_arrays(s, True)
                for s in r.json()["data"]["result"]}
        assert fast.keys() == slow.keys(), q
        for key, (t, v) in slow.items():
            np.testing.assert_array_equal(fast[key][0], t)
            np.testing.assert_array_equal(fast[key][1], v)
    # the tricky label survives intact through the public function
    df = prometheus_query_range(stack["prom"].url, queries[4], end - pd.Timedelta("5s"), end, "1s")
    assert df["weird"].iloc[0] == 'a"values":[[1,"2"]]}, ]] \\ é'
    assert _fast_matrix(b'{"status":"success","data":{"resultType":"vector","result":[]}}') \
        is None


def test_unreachable_server_error_never_shows_credentials(caplog):
    import logging

    from jupyter_ops.io.http import LiveClient
    from tests.live_servers import free_port

    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there
    url = f"http://admin:pw-{PASSWORD}@127.0.0.1:{port}"
    with pytest.raises(OpsConnectionError) as e:
        prometheus_query(url, "up", token="tk-" + PASSWORD, headers={"X-Key": "hk-" + PASSWORD},
                         retries=0)
    assert f"Prometheus at http://127.0.0.1:{port} cannot be reached" in str(e.value)
    client = LiveClient("prometheus", url, token="tk-" + PASSWORD)
    for out in (str(e.value), repr(e.value), caplog.text, repr(client), client.base):
        assert PASSWORD not in out and "admin" not in out
    client.close()


def test_no_gzip_on_loopback_gzip_elsewhere(stack, monkeypatch):
    from jupyter_ops.io.http import LiveClient

    with LiveClient("prometheus", stack["prom"].url) as cl:
        resp = cl.request("GET", "/api/v1/query", params={"query": "up"})
        assert "content-encoding" not in resp.headers  # loopback: not compressed
    with LiveClient("prometheus", stack["prom"].url, compression=True) as cl:
        resp = cl.request("GET", "/api/v1/query", params={"query": "up"})
        assert resp.headers["content-encoding"] == "gzip"
        assert resp.json()["status"] == "success"
    with LiveClient("prometheus", "https://prometheus.example.org") as cl:
        assert cl._http.headers["accept-encoding"] == "gzip"
    monkeypatch.setenv("JUPYTER_OPS_PROMETHEUS_COMPRESSION", "0")
    with LiveClient("prometheus", "https://prometheus.example.org") as cl:
        assert cl._http.headers["accept-encoding"] == "identity"
