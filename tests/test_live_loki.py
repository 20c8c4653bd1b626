"""Loki client against the Loki-API stand-in (tests/loki_standin.py explains why a stand-in)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from jupyter_ops.errors import OpsConnectionError, OpsInputError
from jupyter_ops.io import loki_push, loki_query_range
from jupyter_ops.io.live import provenance, resolve_source
from tests.loki_standin import LokiStandIn

T0 = pd.Timestamp("2026-01-05T10:00:00Z")


@pytest.fixture(scope="module")
def loki():
    with LokiStandIn(max_entries=5000) as server:
        # checkout: 1,203 lines, 3 of them at one shared nanosecond per 100 (page edges land
        # on shared timestamps); payments: 50 lines
        lines = []
        for i in range(1200):
            ts = T0 + pd.Timedelta(seconds=i)
            level = "error" if i % 97 == 0 else "info"
            lines.append((ts, f"{level.upper()} order {i} <script>x</script>"))
        for j in range(3):
            lines.append((T0 + pd.Timedelta(seconds=500), f"same-ns line {j}"))
        loki_push(server.url, {(("app", "checkout"), ("env", "prod")): lines})
        loki_push(server.url, {(("app", "payments"), ("level", "warn")): [
            (T0 + pd.Timedelta(seconds=2 * i), f"payment {i}") for i in range(50)]})
        yield server


def test_pages_by_time_without_losing_or_doubling_lines(loki):
    end = T0 + pd.Timedelta(hours=1)
    whole = loki_query_range(loki.url, '{app="checkout"}', T0, end, limit=5000)
    assert len(whole) == 1203
    before = loki.requests
    paged = loki_query_range(loki.url, '{app="checkout"}', T0, end, limit=100)
    assert loki.requests - before >= 12  # really paged
    pd.testing.assert_frame_equal(whole, paged)
    assert paged["timestamp"].is_monotonic_increasing
    assert (paged["message"].str.startswith("same-ns")).sum() == 3
    assert set(paged["app"]) == {"checkout"} and set(paged["env"]) == {"prod"}
    assert set(paged["service"]) == {"checkout"}
    assert paged.loc[paged["message"].str.contains("order 97 "), "level"].iloc[0] == "error"
    prov = provenance(paged)
    assert prov == {"source": "loki", "server": loki.url, "query": '{app="checkout"}',
                    "start": "2026-01-05T10:00:00.000Z", "end": "2026-01-05T11:00:00.000Z",
                    "spec": 'loki:{app="checkout"}'}


def test_end_is_exclusive_and_filters_apply(loki):
    df = loki_query_range(loki.url, '{app=~"pay.*"} |= "payment 1"', T0,
                          T0 + pd.Timedelta(seconds=20), limit=3)
    assert df["message"].tolist() == ["payment 1"]
    assert df["level"].tolist() == ["warning"]  # from the stream label


def test_more_lines_at_one_timestamp_than_limit_is_an_error(loki):
    with pytest.raises(OpsInputError, match="raise limit"):
        loki_query_range(loki.url, '{app="checkout"} |= "same-ns"', T0,
                         T0 + pd.Timedelta(hours=1), limit=2)


def test_empty_range_gives_empty_canonical_frame(loki):
    df = loki_query_range(loki.url, '{app="nothing"}', T0, T0 + pd.Timedelta(hours=1))
    assert df.empty and list(df.columns[:4]) == ["timestamp", "service", "level", "message"]


def test_bad_logql_names_server_and_answer(loki):
    with pytest.raises(OpsInputError) as e:
        loki_query_range(loki.url, "app=checkout", T0, T0 + pd.Timedelta(hours=1))
    assert str(e.value).startswith(f"Loki at {loki.url} answered 400 parse error")
    assert "'app=checkout'" in str(e.value)


def test_token_sent_and_never_leaked():
    secret = "tok-Very-Secret-123"
    with LokiStandIn(token=secret) as server:
        with pytest.raises(OpsInputError, match="answered 401") as e:
            loki_query_range(server.url, '{a="b"}', T0, T0 + pd.Timedelta(hours=1))
        assert secret not in str(e.value)
        loki_push(server.url, {(("a", "b"),): [(T0, "hello")]}, token=secret)
        df = loki_query_range(server.url, '{a="b"}', T0, T0 + pd.Timedelta(hours=1),
                              token=secret)
        assert df["message"].tolist() == ["hello"]
        for out in (df.to_json(), repr(df), json.dumps(df.attrs)):
            assert secret not in out


def test_resolve_source_loki_spec(loki, monkeypatch):
    monkeypatch.setenv("JUPYTER_OPS_LOKI_URL", loki.url)
    df = resolve_source('loki:{app="payments"}', since="2h", until=T0 + pd.Timedelta(hours=1))
    assert len(df) == 50


def test_server_gone_is_a_connection_error():
    with LokiStandIn() as server:
        url = server.url
    with pytest.raises(OpsConnectionError, match=f"Loki at {url} cannot be reached"):
        loki_query_range(url, '{a="b"}', T0, T0 + pd.Timedelta(hours=1), retries=1,
                         backoff=0.01)
