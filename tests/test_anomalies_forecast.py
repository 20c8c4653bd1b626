"""forecast / time_to_breach: accuracy on known signals, breach times, bad input, front ends,
and detect_anomalies' one input path (raw frame, file, loaded frame, magic, CLI agree)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from jupyter_ops.aiops import ForecastResult, detect_anomalies, forecast, time_to_breach
from jupyter_ops.cli import main
from jupyter_ops.datasets.capacity import capacity_scenario
from jupyter_ops.errors import OpsInputError
from jupyter_ops.io import load_metrics


def series(values, freq="5min", service="db-1", metric="disk_used", start="2026-03-02"):
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({"timestamp": pd.date_range(start, periods=len(values), freq=freq,
                                                    tz="UTC"),
                         "service": service, "metric": metric, "value": values})


def leak(n=1500, slope=0.01, level=50.0, sd=0.3, seed=0):
    return level + slope * np.arange(n) + np.random.default_rng(seed).normal(0, sd, n)


def daily(n=2016, seed=0, freq_per_day=288):
    t = np.arange(n)
    return 50 + 20 * np.sin(2 * np.pi * t / freq_per_day) + \
        np.random.default_rng(seed).normal(0, 1, n)


# -- forecast ---------------------------------------------------------------------------------
def test_forecast_follows_a_daily_season_and_its_interval_covers_what_follows():
    y = daily(2016 + 72)
    res = forecast(series(y[:2016]), horizon="6h")
    assert isinstance(res, ForecastResult)
    fc = res.forecasts
    assert len(fc) == 72 and list(fc.columns) == ["service", "metric", "timestamp",
                                                 "forecast", "lower", "upper"]
    assert fc["timestamp"].iloc[0] == pd.Timestamp("2026-03-09", tz="UTC")
    m = res.models.iloc[0]
    assert m["season"] == "daily" and m["period"] == 288
    truth = 50 + 20 * np.sin(2 * np.pi * np.arange(2016, 2088) / 288)
    assert np.abs(fc["forecast"].to_numpy() - truth).mean() < 1.5  # noise sd is 1
    inside = (y[2016:] >= fc["lower"]) & (y[2016:] <= fc["upper"])
    assert 0.6 <= inside.mean() <= 0.97
    assert (fc["lower"] <= fc["forecast"]).all() and (fc["forecast"] <= fc["upper"]).all()


def test_a_trend_alone_is_not_taken_for_a_season():
    res = forecast(series(leak(2000)), horizon="1h")
    assert res.models.iloc[0]["season"] == "none"


def test_hourly_series_gets_its_season_from_its_own_interval():
    res = forecast(series(daily(24 * 10, freq_per_day=24), freq="1h"), horizon="12h")
    m = res.models.iloc[0]
    assert m["season"] == "daily" and m["period"] == 24 and len(res.forecasts) == 12


def test_series_are_independent_and_result_is_deterministic():
    a, b = series(daily(1000)), series(leak(1000), service="db-2")
    both = forecast(pd.concat([a, b]), horizon="2h").forecasts
    alone = forecast(a, horizon="2h").forecasts
    pd.testing.assert_frame_equal(both[both["service"] == "db-1"].reset_index(drop=True),
                                  alone)
    again = forecast(pd.concat([a, b]), horizon="2h").forecasts
    pd.testing.assert_frame_equal(both, again)


def test_forecast_payload_chart_is_aggregated():
    res = forecast(series(daily(3000)), horizon="2D")
    payload = res.to_payload()
    assert payload["kind"] == "forecast" and payload["charts"]
    spec = json.dumps(payload["charts"])
    assert spec.count('"kind": "history"') + spec.count('"kind":"history"') <= 200 + 5
    res._repr_mimebundle_()
    assert res.provenance["params"]["horizon"] == "2D"


# -- time to breach ---------------------------------------------------------------------------
def test_time_to_breach_finds_a_leak_and_says_why():
    # 50 + 0.12/h: ~65 after 1500 points, so 75 is reached ~83 h later
    y = leak(1500)
    res = time_to_breach(series(y), threshold=75, horizon="5D")
    b = res.breaches.iloc[0]
    true_h = (75 - (50 + 0.01 * 1499)) / 0.12
    assert b["status"] == "will breach" and b["will_breach"]
    assert abs(b["eta_hours"] - true_h) < 0.25 * true_h
    assert b["eta_low_hours"] <= b["eta_hours"] <= b["eta_high_hours"] or \
        np.isnan(b["eta_high_hours"])
    assert 0.5 <= b["probability"] <= 1
    text = b["explanation"]
    assert text.startswith("disk_used on db-1 crosses 75 in about ")
    assert re.search(r"80% interval [0-9.]+-[0-9.]+ days, probability \d+%, "
                     r"trend \+0.12/h over the last 2 days$", text), text
    assert "1 breach(es)" in res.summary()


def test_no_breach_on_a_steady_series_and_within_the_horizon_only():
    steady = time_to_breach(series(50 + np.random.default_rng(1).normal(0, 1, 1500)),
                            threshold=90, horizon="1D").breaches.iloc[0]
    assert steady["status"] == "no breach" and not steady["will_breach"]
    assert steady["probability"] < 0.01
    far = time_to_breach(series(leak(1500)), threshold=90, horizon="12h").breaches.iloc[0]
    assert far["status"] == "no breach"  # ~180 h away: not within 12 h


def test_threshold_already_crossed_is_breached_now():
    y = leak(1500)
    y[-5:] = 95
    b = time_to_breach(series(y), threshold=90, horizon="6h").breaches.iloc[0]
    assert b["status"] == "breached" and b["eta_hours"] == 0 and b["probability"] == 1
    assert "already at or above 90" in b["explanation"]


def test_downward_direction_for_free_space():
    y = 80 - 0.01 * np.arange(1500) + np.random.default_rng(0).normal(0, 0.3, 1500)
    b = time_to_breach(series(y, metric="disk_free"), threshold=60, horizon="3D").breaches
    b = b.iloc[0]
    assert b["direction"] == "down" and b["will_breach"]
    assert abs(b["eta_hours"] - (65.0 - 60) / 0.12) < 15


def test_capacity_scenario_truth_matches_its_signal():
    sc = capacity_scenario(seed=3, n_series=6, days=10)
    assert len(sc.metrics) == 6 * 10 * 288
    leaks = sc.truth[sc.truth["kind"] == "memory_leak"].iloc[0]
    assert pd.notna(leaks["breach_at"])
    assert sc.truth[sc.truth["kind"] == "steady"]["breach_at"].isna().all()
    again = capacity_scenario(seed=3, n_series=6, days=10)
    pd.testing.assert_frame_equal(sc.metrics, again.metrics)


def test_leak_in_a_generated_scenario_is_warned_before_it_breaches():
    sc = capacity_scenario(seed=5, n_series=1, days=10)  # one memory leak
    t = sc.truth.iloc[0]
    cut = t["breach_at"] - pd.Timedelta("12h")
    hist = sc.metrics[sc.metrics["timestamp"] <= cut]
    b = time_to_breach(hist, threshold=t["threshold"], horizon="1D").breaches.iloc[0]
    assert b["will_breach"] and 6 <= b["eta_hours"] <= 18


# -- bad input --------------------------------------------------------------------------------
def test_bad_input_is_named():
    s = series(daily(500))
    with pytest.raises(OpsInputError, match="horizon .* is shorter than the sampling interval"):
        forecast(s, horizon="1min")
    with pytest.raises(OpsInputError, match="horizon must be a duration"):
        forecast(s, horizon="soon")
    with pytest.raises(OpsInputError, match="horizon must be a positive duration"):
        forecast(s, horizon="-1h")
    with pytest.raises(OpsInputError, match="level is the interval coverage"):
        forecast(s, level=80)
    with pytest.raises(OpsInputError, match="too few to forecast"):
        forecast(series([1.0, 2.0, 3.0]), horizon="1h")
    with pytest.raises(OpsInputError, match="threshold must be a finite number"):
        time_to_breach(s, threshold=float("nan"))
    with pytest.raises(OpsInputError, match="direction must be"):
        time_to_breach(s, threshold=1, direction="sideways")
    with pytest.raises(OpsInputError, match="no metrics for service 'x'"):
        forecast(s, service="x")
    with pytest.raises(OpsInputError, match="missing column"):
        forecast(pd.DataFrame({"t": [1], "v": [2]}))


def test_constant_series_forecasts_itself_with_no_breach():
    res = time_to_breach(series(np.full(500, 42.0)), threshold=90, horizon="6h")
    assert (res.forecasts["forecast"] == 42).all()
    assert res.models.iloc[0]["model"] == "constant"
    assert res.breaches.iloc[0]["status"] == "no breach"


def test_series_shorter_than_one_season_is_forecast_without_one():
    res = forecast(series(daily(200)), horizon="1h")  # 200 points < one day of 5-min data
    assert res.models.iloc[0]["season"] == "none" and len(res.forecasts) == 12


def test_gaps_duplicates_and_non_finite_values_are_cleaned_and_said():
    s = series(leak(1500))
    s = s.drop(index=range(600, 700))  # a gap of 100 steps
    s = pd.concat([s, s.iloc[[10, 20]]])  # duplicate timestamps
    s.loc[s.index[5], "value"] = np.inf
    res = forecast(s, horizon="1h")
    note = res.models.iloc[0]["note"]
    assert "2 duplicate timestamp(s) averaged" in note and "interpolated" in note
    assert "non-finite" in note
    assert np.isfinite(res.forecasts[["forecast", "lower", "upper"]].to_numpy()).all()


# -- front ends -------------------------------------------------------------------------------
def test_magic_forecast_and_breach(ip, tmp_path):
    ip.user_ns["m"] = series(leak(1500))
    res = ip.run_line_magic("aiops_forecast", "m --horizon 5D --threshold 75 -o fc")
    assert ip.user_ns["fc"] is res and res.breaches.iloc[0]["will_breach"]
    res = ip.run_line_magic("aiops_forecast", "m --horizon 2h")
    assert res.breaches is None and len(res.forecasts) == 24
    with pytest.raises(UsageError, match="shorter than the sampling interval"):
        ip.run_line_magic("aiops_forecast", "m --horizon 1s")


def test_cli_forecast_exit_codes(tmp_path, capsys):
    path = tmp_path / "disk.csv"
    series(leak(1500)).to_csv(path, index=False)
    assert main(["aiops", "forecast", str(path), "--horizon", "5D", "--threshold", "75",
                 "--report", str(tmp_path / "r.json")]) == 1
    out = capsys.readouterr().out
    assert "disk_used on db-1 crosses 75 in about" in out
    assert (tmp_path / "r.json").is_file()
    assert main(["aiops", "forecast", str(path), "--horizon", "6h", "--threshold", "95"]) == 0
    assert main(["aiops", "forecast", str(path), "--horizon", "6h"]) == 0
    assert main(["aiops", "forecast", str(path), "--horizon", "1s"]) == 2
    assert main(["aiops", "forecast", str(tmp_path / "nope.csv")]) == 2
    header = tmp_path / "empty.csv"
    header.write_text("timestamp,value\n")
    assert main(["aiops", "forecast", str(header)]) == 2


# -- one input path for detect_anomalies --------------------------------------------------------
def test_raw_frame_file_loaded_frame_magic_and_cli_give_the_same_anomalies(ip, tmp_path):
    x = 10 + np.random.default_rng(0).normal(0, 1, 3000)
    x[2500] = 25
    ts = pd.date_range("2024-05-01", periods=3000, freq="5min")
    raw = pd.DataFrame({"timestamp": ts.strftime("%m/%d/%Y %H:%M"), "value": x})
    path = tmp_path / "raw.csv"
    raw.to_csv(path, index=False)
    a = detect_anomalies(raw).anomalies
    b = detect_anomalies(str(path)).anomalies
    c = detect_anomalies(load_metrics(raw, metric="value")).anomalies
    ip.user_ns["raw"] = raw
    d = ip.run_line_magic("aiops_anomalies", "raw").anomalies
    out = tmp_path / "scores.csv"
    assert main(["aiops", "anomalies", str(path), "--csv", str(out)]) == 1
    e = pd.read_csv(out)
    assert a["timestamp"].iloc[0] == pd.Timestamp("2024-05-01", tz="UTC")
    for other in (b, c, d):
        pd.testing.assert_series_equal(a["score"], other["score"], check_names=False)
        assert (a["is_anomaly"].to_numpy() == other["is_anomaly"].to_numpy()).all()
        assert (a["timestamp"].to_numpy() == other["timestamp"].to_numpy()).all()
    np.testing.assert_allclose(a["score"].to_numpy(), e["score"].to_numpy(), equal_nan=True)
    assert (a["is_anomaly"].to_numpy() == e["is_anomaly"].to_numpy()).all()
    assert a["is_anomaly"].iloc[2500]


def test_a_report_with_a_forecast_and_a_breach_verifies_by_re_running(tmp_path, capsys):
    from jupyter_ops.report import Report
    from jupyter_ops.report.sources import file_source, record_sources

    path = tmp_path / "disk.csv"
    series(leak(900, slope=0.04)).to_csv(path, index=False)
    tb = time_to_breach(load_metrics(path), threshold=90, horizon="12h")
    fc = forecast(load_metrics(path), horizon="2h")
    assert tb.breaches["status"].iloc[0] == "will breach"
    r = Report("capacity")
    for res in (tb, fc):
        r.add(record_sources(res, metrics=file_source(path, "metrics")))
    r.save(tmp_path / "report.json")
    assert main(["report", "verify", str(tmp_path / "report.json")]) == 0
    out = capsys.readouterr().out
    assert "Time to breach: same" in out and "Metric forecast: same" in out
    # a changed input is found (not silently re-run on other data)
    series(leak(900, slope=0.0)).to_csv(path, index=False)
    assert main(["report", "verify", str(tmp_path / "report.json")]) != 0
    assert "Time to breach: input problem (input 'metrics' changed" in capsys.readouterr().out
