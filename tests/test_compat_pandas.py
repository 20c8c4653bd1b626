"""Same answers on pandas 2 and pandas 3 where the two differ: missing text values.

``astype(str)`` writes ``"nan"`` on pandas 2 but keeps NaN on pandas 3 (whose groupby then
drops the row, and whose ``sorted`` then fails on float-vs-str). The core reads missing names
and texts as ``""``, like the ``jupyter_ops.io`` loaders. CI runs this file on both versions
(``.ci/run``: the README leg on pandas 3, the ``.venv-pandas2`` leg on pandas 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_ops import aiops
from jupyter_ops.errors import OpsInputError

T0 = pd.Timestamp("2026-01-01 10:00", tz="UTC")


def test_timeline_keeps_log_lines_and_changes_with_missing_text():
    alerts = pd.DataFrame({"timestamp": [T0, T0 + pd.Timedelta("1min")], "service": ["api", "db"],
                           "name": ["HighLatency", "DBDown"], "severity": ["critical", "warning"]})
    logs = pd.DataFrame({"timestamp": [T0, T0 + pd.Timedelta("30s")], "service": ["api", "api"],
                         "level": ["ERROR", "ERROR"], "message": ["timeout 1", np.nan]})
    deploys = pd.DataFrame({"timestamp": [T0 - pd.Timedelta("5min"), T0 - pd.Timedelta("3min")],
                            "service": ["db", "api"], "kind": ["deploy", np.nan],
                            "description": [np.nan, "v2"]})
    ev = aiops.timeline(alerts, logs=logs, deploys=deploys).events

    log = ev[ev["source"] == "log"]
    assert sorted(log["text"]) == ["", "timeout 1"]  # the line without a message is kept
    change = ev[ev["source"] == "change"].set_index("service")
    assert change.loc["db", ["kind", "text"]].tolist() == ["deploy", ""]
    assert change.loc["api", ["kind", "text"]].tolist() == ["change", "v2"]
    assert not ev[["kind", "text"]].isna().any().any()
    assert "nan" not in set(ev["text"]) | set(ev["kind"])


def test_anomalies_read_missing_service_and_metric_as_empty_names():
    t = pd.date_range("2026-01-01", periods=200, freq="min", tz="UTC")
    values = np.random.default_rng(0).normal(size=400)
    values[150] = 30.0
    metrics = pd.DataFrame({"timestamp": np.tile(t, 2),
                            "service": ["api"] * 200 + [np.nan] * 200,
                            "metric": ["latency"] * 200 + [np.nan] * 200, "value": values})
    result = aiops.detect_anomalies(metrics, seed=0)

    # both series are analysed (pandas 3 used to drop the unnamed one)
    series = set(zip(result.methods["service"], result.methods["metric"], strict=True))
    assert series == {("api", "latency"), ("", "")}
    assert result.methods["points"].tolist() == [200, 200]
    assert "1 of 2 series" in result.summary()


def test_select_logs_names_the_services_when_some_are_missing():
    from jupyter_ops.aiops.logmining import select_logs

    logs = pd.DataFrame({"service": ["b", np.nan, "a"], "message": ["x 1", "y 2", "z 3"]})
    with pytest.raises(OpsInputError, match=r"no lines of service 'c'; services: a, b$"):
        select_logs(logs, service="c")
    assert select_logs(logs, service="a")["message"].tolist() == ["z 3"]


def test_input_hash_does_not_depend_on_how_pandas_stores_text_and_times(tmp_path):
    from jupyter_ops.mlops import dataset_fingerprint
    from jupyter_ops.report import hash_input

    path = tmp_path / "data.csv"
    path.write_text("ts,svc,v\n2026-01-01 00:00:00,a,1.5\n2026-01-01 00:01:00,,2.0\n"
                    "2026-01-01 00:02:00,b,\n", encoding="utf-8")
    df = pd.read_csv(path, parse_dates=["ts"])
    # what the other pandas major version reads from the same file: text as object (2) or
    # str (3), times in ns (2) or us (3)
    as_read_elsewhere = [df.astype({"svc": object}), df.astype({"svc": "string"}),
                         df.astype({"ts": "datetime64[us]"}), df.astype({"ts": "datetime64[s]"})]
    assert {hash_input(v) for v in as_read_elsewhere} == {hash_input(df)}
    assert dataset_fingerprint(df.astype({"svc": object}))["sha256"] == \
        dataset_fingerprint(df.astype({"svc": "string"}))["sha256"]
    by_time = df.set_index("ts")
    assert hash_input(by_time) == hash_input(by_time.set_axis(by_time.index.as_unit("s")))
    # unhashable cells (dicts) next to missing text and times
    labelled = df.assign(labels=[{"a": 1}, None, {"b": [2]}],
                         done=pd.to_datetime([None, "2026-01-01", None]))
    assert hash_input(labelled) == hash_input(labelled.astype({"svc": object,
                                                              "done": "datetime64[us]"}))
    # still content based
    assert hash_input(df) != hash_input(df.assign(svc=["a", "", "b"]))
    assert hash_input(labelled) != hash_input(labelled.assign(labels=[{"a": 2}, None, None]))


def test_csv_numbers_are_parsed_exactly(tmp_path):
    from jupyter_ops import io

    # values from NAB's realKnownCause series that pandas 2's default parser reads one ulp off
    texts = ["63.166335499999995", "62.540844799999995", "59.375844799999996", "1e-310"]
    for name, sep in (("v.csv", ","), ("v.tsv", "\t"), ("semi.csv", ";")):
        path = tmp_path / name
        path.write_text(f"a{sep}value\n" + "".join(f"x{sep}{t}\n" for t in texts),
                        encoding="utf-8")
        assert io.read_table(path)["value"].tolist() == [float(t) for t in texts], name
