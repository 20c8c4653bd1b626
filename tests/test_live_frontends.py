"""Live sources in the front ends: magics (real IPython shell) and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pandas as pd
import pytest
from IPython.core.error import UsageError

from jupyter_ops.cli import main
from jupyter_ops.io import loki_push
from tests.live_servers import start_alertmanager, start_prometheus, wait_for
from tests.loki_standin import LokiStandIn


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    work = tmp_path_factory.mktemp("live-fe")
    prom = start_prometheus(work, [])  # constant PromQL needs no scraping
    am = start_alertmanager(work)
    loki = LokiStandIn().__enter__()
    try:
        now = pd.Timestamp.now(tz="UTC")
        httpx.post(am.url + "/api/v2/alerts", json=[
            {"labels": {"alertname": name, "service": svc, "severity": "critical"},
             "annotations": {"summary": f"{name} on {svc}"},
             "startsAt": (now - pd.Timedelta(minutes=m)).isoformat()}
            for name, svc, m in (("HighLatency", "checkout", 5), ("ErrorRate", "checkout", 4),
                                 ("DBConnections", "db", 6))], timeout=10).raise_for_status()
        wait_for(lambda: len(httpx.get(am.url + "/api/v2/alerts", timeout=5).json()) == 3)
        loki_push(loki.url, {(("app", "checkout"),): [
            (now - pd.Timedelta(seconds=600 - i), f"ERROR payment {i % 7} timed out after "
                                                  f"{i} ms" if i % 3 else f"INFO ok {i}")
            for i in range(300)]})
        yield {"prom": prom.url, "am": am.url, "loki": loki.url}
    finally:
        loki.__exit__(None, None, None)
        am.stop()
        prom.stop()


@pytest.fixture
def env(live, monkeypatch):
    monkeypatch.setenv("JUPYTER_OPS_PROMETHEUS_URL", live["prom"])
    monkeypatch.setenv("JUPYTER_OPS_ALERTMANAGER_URL", live["am"])
    monkeypatch.setenv("JUPYTER_OPS_LOKI_URL", live["loki"])
    return live


def test_magics_take_live_specs(ip, env):
    corr = ip.run_line_magic("aiops_correlate", "alertmanager: -o corr")
    assert ip.user_ns["corr"] is corr
    assert len(corr.incidents) >= 1
    res = ip.run_line_magic("aiops_logs", 'loki:{app="checkout"} --since 1h -o t')
    assert res is ip.user_ns["t"]
    anomalies = ip.run_line_magic(
        "aiops_anomalies", '"prometheus:vector(1) + (time() % 600 > bool 590) * 50" --since 2h '
        '--step 15s -o an')
    assert anomalies is ip.user_ns["an"]


def test_magic_errors_are_one_line(ip, env, monkeypatch):
    with pytest.raises(UsageError, match=r"Prometheus at http://127\.0\.0\.1:\d+ answered 400 "
                                         r"bad_data"):
        ip.run_line_magic("aiops_anomalies", '"prometheus:rate(up[5m]" --since 1h')
    monkeypatch.delenv("JUPYTER_OPS_LOKI_URL")
    with pytest.raises(UsageError, match="JUPYTER_OPS_LOKI_URL"):
        ip.run_line_magic("aiops_logs", 'loki:{app="checkout"} --since 1h')


def test_magic_own_since_still_works_for_files(ip, tmp_path):
    path = tmp_path / "app.log"
    path.write_text("2026-01-05 10:00:00 INFO start\n2026-01-05 11:00:00 ERROR boom\n")
    res = ip.run_line_magic("aiops_logs", f"{path} --since 2026-01-05T10:30")
    assert res is not None


def test_cli_takes_live_specs(env, capsys):
    code = main(["aiops", "logs", 'loki:{app="checkout"}', "--since", "1h"])
    out = capsys.readouterr()
    assert code == 0, out.err
    code = main(["aiops", "anomalies", "prometheus:vector(1)", "--since", "1h", "--step",
                 "30s"])
    assert code in (0, 1), capsys.readouterr().err


def test_cli_live_errors_exit_2(env, monkeypatch, capsys):
    monkeypatch.delenv("JUPYTER_OPS_PROMETHEUS_URL")
    assert main(["aiops", "anomalies", "prometheus:up", "--since", "1h"]) == 2
    assert "JUPYTER_OPS_PROMETHEUS_URL" in capsys.readouterr().err


def test_cli_writes_provenance_next_to_fetched_input(env, tmp_path):
    from jupyter_ops.io.live import materialize_argv

    argv = materialize_argv(["x", "prometheus:vector(2)", "--since", "10m", "--step", "1m"],
                            str(tmp_path))
    assert argv[0] == "x" and argv[1].endswith(".parquet") and len(argv) == 2
    prov = json.loads(open(argv[1] + ".source.json").read())
    assert prov["server"] == env["prom"] and prov["query"] == "vector(2)" and prov["step"] == "60s"
    df = pd.read_parquet(argv[1])
    assert (df["value"] == 2).all() and len(df) == 11
    alerts = materialize_argv(["alertmanager:"], str(tmp_path))
    assert pd.read_json(alerts[0], lines=True)["name"].nunique() == 3


def test_cli_runs_against_a_hanging_tracking_server_fails_fast(tmp_path):
    from tests.live_servers import hanging_http_server

    with hanging_http_server(hold=60) as url:
        proc = subprocess.run([sys.executable, "-m", "jupyter_ops", "mlops", "runs", "--uri", url],
                              capture_output=True, text=True, timeout=50)
        assert proc.returncode == 2, proc.stderr
        assert "cannot be reached" in proc.stderr or "timed out" in proc.stderr.lower()


def test_report_records_the_exact_range_and_replaying_it_fetches_the_same_data(ip, env):
    from jupyter_ops.report.session import session_log

    ip.run_line_magic("aiops_logs", 'loki:{app="checkout"} --since 2h -o first')
    call = session_log().entries[-1].call
    assert "--since 2h" not in call
    assert "--until 20" in call and call.startswith('%aiops_logs loki:{app="checkout"} -o first')
    again = call.replace("%aiops_logs ", "", 1).replace("-o first", "-o second")
    ip.run_line_magic("aiops_logs", again)
    assert session_log().entries[-1].call == call.replace("-o first", "-o second")
    first, second = ip.user_ns["first"], ip.user_ns["second"]
    assert first.n_lines == second.n_lines == 300
    pd.testing.assert_frame_equal(first.lines, second.lines)


def test_cli_report_from_a_live_source_verifies_by_query_and_range(env, tmp_path, monkeypatch,
                                                                    capsys):
    """`report verify` fetches a live input again by its recorded query and exact range;
    firing alerts (no history in Alertmanager) are 'cannot re-run', not a failure."""
    from jupyter_ops.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["aiops", "anomalies", "prometheus:vector(2)", "--since", "30m", "--step", "1m",
                 "--report", "a.json"]) == 0
    assert main(["aiops", "correlate", "alertmanager:", "--report", "c.json"]) == 0
    saved = json.loads((tmp_path / "a.json").read_text())
    src = next(s["provenance"]["sources"]["metrics"] for s in saved["sections"]
               if (s.get("provenance") or {}).get("sources"))
    assert src["kind"] == "live" and src["spec"] == "prometheus:vector(2)" and src["start"]
    capsys.readouterr()
    assert main(["report", "verify", "a.json"]) == 0
    assert "Metric anomalies: same" in capsys.readouterr().out
    assert main(["report", "verify", "c.json"]) == 0
    assert "cannot re-run" in capsys.readouterr().out
