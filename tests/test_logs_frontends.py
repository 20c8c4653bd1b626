"""Log signals, the %aiops_logs magic, the CLI and the TemplateBrowser widget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from jupyter_ops.aiops import Templates, log_signals, mine_templates, template_rates
from jupyter_ops.cli import main
from jupyter_ops.errors import OpsInputError


def steady_logs(seed: int = 0) -> pd.DataFrame:
    """4 h of steady traffic on two services; at 03:00 a new error template bursts on 'db'."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    n = 2400
    ts = t0 + pd.to_timedelta(np.sort(rng.uniform(0, 4 * 3600, n)), unit="s")
    svc = rng.choice(["web", "db"], n)
    msgs = [f"GET /api/items/{rng.integers(1, 999)} 200 in {rng.integers(1, 90)} ms"
            if i % 2 else f"query took {rng.integers(1, 50)} ms on shard {rng.integers(0, 8)}"
            for i in range(n)]
    frame = pd.DataFrame({"timestamp": ts, "service": svc, "level": "info", "message": msgs})
    burst_ts = t0 + pd.Timedelta("3h") + pd.to_timedelta(np.sort(rng.uniform(0, 600, 60)),
                                                          unit="s")
    burst = pd.DataFrame({"timestamp": burst_ts, "service": "db", "level": "error",
                          "message": [f"connection pool exhausted after {rng.integers(10, 99)} "
                                      "retries" for _ in range(60)]})
    return pd.concat([frame, burst]).sort_values("timestamp", kind="stable").reset_index(
        drop=True)


def test_log_signals_find_the_new_error_template():
    logs = steady_logs()
    t = mine_templates(logs)
    signals = log_signals(t, window="5min")
    assert list(signals.columns[:5]) == ["timestamp", "service", "name", "severity", "message"]
    new = signals[signals["name"] == "new template"]
    assert len(new) == 1 and new["service"].item() == "db"
    assert new["severity"].item() == "error"
    assert "connection pool exhausted after <*> retries" in new["message"].item()
    burst = signals[signals["name"] == "error burst"]
    assert len(burst) == 1 and burst["service"].item() == "db"
    assert burst["timestamp"].item() == pd.Timestamp("2026-01-05 03:00", tz="UTC")
    # nothing fires on the steady part before the incident
    assert (signals["timestamp"] >= pd.Timestamp("2026-01-05 03:00", tz="UTC")).all()
    # the events load as canonical alerts (so correlate/timeline take them)
    from jupyter_ops import io

    alerts = io.load_alerts(signals)
    assert set(alerts["severity"]) <= {"error", "warning"} and len(alerts) == len(signals)


def test_levels_spelled_as_the_source_spells_them_give_the_same_signals():
    # E / I (or WARN, crit...) as a level column holds them: read with io.normalize_level
    logs = steady_logs()
    spelled = logs.assign(level=logs["level"].map({"info": "I", "error": "E"}))
    want = log_signals(mine_templates(logs))
    assert "error burst" in set(want["name"])
    pd.testing.assert_frame_equal(log_signals(mine_templates(spelled)), want)


def test_log_signals_after_loading_a_state(tmp_path):
    logs = steady_logs()
    cut = int((logs["timestamp"] < pd.Timestamp("2026-01-05 02:55", tz="UTC")).sum())
    mine_templates(logs.iloc[:cut]).save(tmp_path / "state.json")
    later = Templates.load(tmp_path / "state.json").update(logs.iloc[cut:])
    signals = log_signals(later)
    new = signals[signals["name"] == "new template"]
    # the saved state is the baseline: no warm-up, the old templates are not new
    assert new["message"].str.contains("connection pool exhausted").tolist() == [True]


def test_template_rates_and_signal_errors():
    t = mine_templates(steady_logs())
    rates = template_rates(t, "1h")
    assert list(rates.columns) == ["window", "template_id", "count"]
    assert rates["count"].sum() == t.n_lines
    with pytest.raises(OpsInputError, match="timestamps"):
        log_signals(mine_templates(["a 1", "a 2"]))
    with pytest.raises(OpsInputError, match="duration"):
        log_signals(t, window="often")
    with pytest.raises(OpsInputError, match="mine_templates"):
        log_signals(pd.DataFrame())


def test_magic_mines_filters_and_continues(ip, tmp_path):
    logs = steady_logs()
    ip.user_ns["logs"] = logs
    result = ip.run_line_magic("aiops_logs", "logs --service db -o tpl")
    assert isinstance(result, Templates) and ip.user_ns["tpl"] is result
    assert result.n_lines == int((logs["service"] == "db").sum())
    assert set(result.lines["service"]) == {"db"}
    ip.run_line_magic("aiops_logs",
                      'logs --since "2026-01-05 01:00" --until "2026-01-05 02:00" -o hour')
    hour = ip.user_ns["hour"].lines["timestamp"]
    assert hour.min() >= pd.Timestamp("2026-01-05 01:00", tz="UTC")
    assert hour.max() < pd.Timestamp("2026-01-05 02:00", tz="UTC")
    ip.user_ns["more"] = ["GET /api/items/5 200 in 3 ms"]
    before = ip.user_ns["hour"].n_lines
    ip.run_line_magic("aiops_logs", "hour --more more -o hour")
    assert ip.user_ns["hour"].n_lines == before + 1
    # a text log file (timestamps detected by the loader)
    path = tmp_path / "app.log"
    path.write_text("2026-01-05 10:00:00 INFO started worker 1\n"
                    "2026-01-05 10:00:01 INFO started worker 2\n"
                    "2026-01-05 10:00:02 ERROR worker 2 crashed\n")
    file_result = ip.run_line_magic("aiops_logs", f"{path} -o from_file")
    assert file_result.n_lines == 3
    assert file_result.lines["timestamp"].notna().all()
    from jupyter_ops.report.session import session_log

    assert any(e.call.startswith("%aiops_logs logs --service db") for e in session_log().entries)


def test_magic_errors_are_one_line(ip):
    ip.user_ns["logs"] = steady_logs()
    with pytest.raises(UsageError, match="no lines of service 'nope'"):
        ip.run_line_magic("aiops_logs", "logs --service nope")
    with pytest.raises(UsageError, match="is not a time"):
        ip.run_line_magic("aiops_logs", "logs --since yesterdayish")
    with pytest.raises(UsageError, match="neither a variable"):
        ip.run_line_magic("aiops_logs", "missing_var")
    ip.user_ns["lines"] = ["a 1", "b 2"]
    with pytest.raises(UsageError, match="need timestamps"):
        ip.run_line_magic("aiops_logs", "lines --since 2026-01-01")
    with pytest.raises(UsageError, match="not a valid regex"):
        ip.run_line_magic("aiops_logs", "lines --mask (")
    with pytest.raises(UsageError, match="--more"):
        ip.run_line_magic("aiops_logs", "lines --more lines")


def test_cli_exit_codes_report_and_state(tmp_path, capsys):
    logs = steady_logs()
    csv = tmp_path / "logs.csv"
    logs.to_csv(csv, index=False)
    report = tmp_path / "logs.html"
    state = tmp_path / "state.json"
    assert main(["aiops", "logs", str(csv), "--report", str(report), "--state", str(state),
                 "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "templates" in out and "connection pool exhausted" in out and "log signals" in out
    assert report.exists() and "Log signals" in report.read_text()
    first = Templates.load(state)
    assert first.n_lines == len(logs)
    # a second run continues from the saved state
    assert main(["aiops", "logs", str(csv), "--state", str(state)]) == 0
    assert Templates.load(state).n_lines == 2 * len(logs)
    raw = tmp_path / "raw.log"
    raw.write_bytes(b"x 1\r\n\xff\xfe garbage\r\n\r\n")
    assert main(["aiops", "logs", str(raw), "--raw"]) == 0
    assert main(["aiops", "logs", str(tmp_path / "nope.log")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["aiops", "logs", str(raw), "--raw", "--mask", "("]) == 2


def test_template_browser_search_sort_click():
    from jupyter_ops.widgets import TemplateBrowser

    logs = steady_logs()
    logs.loc[5, "message"] = "odd <script>alert(1)</script> line"
    t = mine_templates(logs)
    b = TemplateBrowser(t, page_size=2)
    assert len(b.rows.children) == 2
    counts = b.visible()["count"].tolist()
    assert counts == sorted(counts, reverse=True)
    b.sort.value = "count (rarest first)"
    assert b.visible()["count"].iloc[0] == 1
    b.search.value = "SCRIPT"
    assert b.visible()["template"].str.contains("script").all() and len(b.visible()) == 1
    button = b.rows.children[0].children[0]
    button.click()
    assert b.selected == button.template_id
    assert "&lt;script&gt;" in b.detail.value and "<script>" not in b.detail.value
    assert "<script>" not in b.rows.children[0].children[1].value
    assert "<polyline" in b.rows.children[0].children[1].value  # the rate sparkline
    b.search.value = ""
    b.next_button.click()
    assert b.page == 1 and "page 2/" in b.status.value
    with pytest.raises(OpsInputError):
        TemplateBrowser(logs)
    # without timestamps the sparkline follows the line position
    plain = TemplateBrowser(mine_templates([f"tick {i}" for i in range(50)] + ["tock"]))
    assert len(plain.rows.children) == 2
    assert "<polyline" in plain.rows.children[0].children[1].value


def test_demo_step_adds_templates_and_signals(tmp_path):
    from jupyter_ops.cli.demo import DemoContext
    from jupyter_ops.cli.logs import demo

    ctx = DemoContext(tmp_path, seed=0)
    demo(ctx)
    md = ctx.report.to_markdown()
    assert "Log templates" in md and "Log signals" in md


def test_service_of_a_table_file_filters_rows(ip, tmp_path, capsys):
    # a table with a service column keeps that service's rows (it used to relabel every row)
    logs = steady_logs()
    csv = tmp_path / "logs.csv"
    logs.to_csv(csv, index=False)
    n_db = int((logs["service"] == "db").sum())
    result = ip.run_line_magic("aiops_logs", f"{csv} --service db")
    assert result.n_lines == n_db and set(result.lines["service"]) == {"db"}
    assert main(["aiops", "logs", str(csv), "--service", "db", "--state",
                 str(tmp_path / "s.json")]) == 0
    assert Templates.load(tmp_path / "s.json").n_lines == n_db
    assert main(["aiops", "logs", str(csv), "--service", "nope"]) == 2
    assert "no lines of service 'nope'; services: db, web" in capsys.readouterr().err
    # a table without a service column is named by --service, as a text log is
    logs.drop(columns=["service"]).to_csv(csv, index=False)
    named = ip.run_line_magic("aiops_logs", f"{csv} --service api")
    assert named.n_lines == len(logs) and set(named.lines["service"]) == {"api"}
