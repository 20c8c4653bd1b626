"""monitor(): per-window metrics, degradation flags and retrain advice with its reason."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from jupyter_ops import mlops
from jupyter_ops.datasets import drift_scenario
from jupyter_ops.errors import OpsInputError


@pytest.fixture(scope="module")
def scenario():
    return drift_scenario(seed=0, n_rows=4000)


def test_accuracy_falls_and_retrain_is_advised(scenario):
    s = scenario
    r = mlops.monitor(s.current, y_score="score", reference=s.reference, features=s.features)
    assert r.task == "classification" and r.retrain
    m = r.metrics
    assert len(m) == 14  # daily windows over 14 days
    assert m["accuracy"].iloc[-1] < r.thresholds["accuracy"] < m["accuracy"].iloc[0]
    assert not m["accuracy_degraded"].iloc[0] and m["accuracy_degraded"].iloc[-3:].all()
    # the reason says which metric, which threshold, how many windows and which features
    assert "accuracy fell below" in r.reason and "consecutive" in r.reason
    assert f"{r.thresholds['accuracy']:.3f}" in r.reason
    assert set(r.drifted_features) == set(s.drifted_columns)
    for c in s.drifted_columns:
        assert c in r.reason
    json.dumps(r.to_payload())


def test_epoch_and_text_times_give_the_same_windows(scenario):
    # times as epoch seconds or ISO text (a CSV) are read like the loaders read them
    s = scenario
    want = mlops.monitor(s.current, y_score="score").metrics
    ns = s.current["timestamp"].astype("datetime64[ns, UTC]").astype("int64")
    seconds = s.current.assign(timestamp=ns // 10**9)
    text = s.current.assign(timestamp=s.current["timestamp"].astype(str))
    for frame in (seconds, text):
        got = mlops.monitor(frame, y_score="score").metrics
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
    bad = s.current.assign(timestamp=s.current["timestamp"].astype(str).where(
        s.current.index != 7, "soon"))
    with pytest.raises(OpsInputError, match="cannot parse 1 timestamps in column 'timestamp'"):
        mlops.monitor(bad, y_score="score")


def test_metrics_equal_sklearn_per_window(scenario):
    s = scenario
    r = mlops.monitor(s.current, y_score="score", window="2D", log=False)
    w0 = r.metrics.iloc[0]
    g = s.current[s.current["timestamp"] < w0["window"] + pd.Timedelta(days=2)]
    assert w0["rows"] == len(g)
    assert w0["accuracy"] == pytest.approx(skm.accuracy_score(g["target"], g["prediction"]))
    assert w0["precision"] == pytest.approx(skm.precision_score(g["target"], g["prediction"]))
    assert w0["recall"] == pytest.approx(skm.recall_score(g["target"], g["prediction"]))
    assert w0["f1"] == pytest.approx(skm.f1_score(g["target"], g["prediction"]))
    assert w0["roc_auc"] == pytest.approx(skm.roc_auc_score(g["target"], g["score"]))
    # every window, not just the first
    for row in r.metrics.itertuples():
        g = s.current[(s.current["timestamp"] >= row.window)
                      & (s.current["timestamp"] < row.window + pd.Timedelta(days=2))]
        assert row.rows == len(g)
        assert row.f1 == pytest.approx(skm.f1_score(g["target"], g["prediction"]))
        assert row.roc_auc == pytest.approx(skm.roc_auc_score(g["target"], g["score"]))


def test_stable_model_no_retrain(scenario):
    r = mlops.monitor(scenario.reference, log=False)
    assert not r.retrain and r.span_drift is None
    assert "within its threshold" in r.reason and "first 3 window(s)" in r.reason


def test_regression_with_absolute_kpi():
    rng = np.random.default_rng(0)
    t = pd.date_range("2026-03-01", periods=24 * 10, freq="h", tz="UTC")
    y = rng.normal(10, 2, len(t))
    noise = np.where(np.arange(len(t)) >= 24 * 8, 3.0, 0.5)  # the last two days get worse
    df = pd.DataFrame({"ts": t, "y": y, "yhat": y + rng.normal(0, 1, len(t)) * noise})
    r = mlops.monitor(df, time="ts", y_true="y", y_pred="yhat", window="12h", kpi={"rmse": 1.5},
                      min_rows=10, log=False)
    assert r.task == "regression" and r.retrain
    assert r.thresholds == {"rmse": 1.5}
    assert "rmse rose above 1.500 (given)" in r.reason
    assert "in the last 4 consecutive 12h window(s)" in r.reason
    last = df[df["ts"] >= r.metrics["window"].iloc[-1]]
    assert r.metrics["rmse"].iloc[-1] == pytest.approx(
        np.sqrt(skm.mean_squared_error(last["y"], last["yhat"])))
    assert r.metrics["r2"].iloc[-1] == pytest.approx(skm.r2_score(last["y"], last["yhat"]))


def test_patience_and_small_windows():
    t = pd.date_range("2026-03-01", periods=400, freq="h", tz="UTC")
    y = np.ones(400, dtype=int)
    pred = y.copy()
    pred[-24:] = 0  # only the last day is bad
    df = pd.DataFrame({"timestamp": t, "target": y, "prediction": pred})
    r = mlops.monitor(df, patience=2, min_rows=20, log=False)
    assert not r.retrain and "keep watching" in r.reason
    assert mlops.monitor(df, patience=1, min_rows=20, log=False).retrain
    # windows below min_rows are not judged
    r3 = mlops.monitor(df, min_rows=100, window="1D", reference=df.iloc[:100], log=False)
    assert not r3.metrics.filter(like="_degraded").any().any()


def test_bad_input():
    df = pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=5, tz="UTC"),
                       "target": [1, 0, 1, 0, 1], "prediction": [1, 0, 1, 1, 1]})
    with pytest.raises(OpsInputError, match=r"column\(s\) \['label'\] not found"):
        mlops.monitor(df, y_true="label")
    with pytest.raises(OpsInputError, match="empty"):
        mlops.monitor(df.iloc[:0])
    with pytest.raises(OpsInputError, match="not a pandas frequency"):
        mlops.monitor(df, window="fortnight", min_rows=1)
    with pytest.raises(OpsInputError, match="unknown kpi"):
        mlops.monitor(df, kpi="rmse", min_rows=1)
    with pytest.raises(OpsInputError, match="no window has 30 rows"):
        mlops.monitor(df)
