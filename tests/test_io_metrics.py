"""load_metrics / from_prometheus: long and wide tables, Prometheus responses, errors."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from jupyter_ops.errors import OpsInputError
from jupyter_ops.io import from_prometheus, load_metrics

MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {"metric": {"__name__": "http_errors", "job": "api", "instance": "a:9100"},
             "values": [[1717000000, "0.5"], [1717000015.25, "NaN"], [1717000030, "+Inf"]]},
            {"metric": {"__name__": "http_errors", "service": "db", "job": "x"},
             "values": [[1717000000, "-Inf"], [1717000015, "2"]]},
        ],
    },
}


def test_prometheus_matrix():
    got = load_metrics(MATRIX)
    assert list(got.columns) == ["timestamp", "service", "metric", "value", "series", "instance"]
    assert len(got) == 5
    assert got["timestamp"].iloc[1] == pd.Timestamp("2024-05-29T16:26:55.250Z")
    assert str(got["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert got["service"].tolist() == ["api"] * 3 + ["db"] * 2  # service label wins over job
    assert got["metric"].unique().tolist() == ["http_errors"]
    v = got["value"].tolist()
    assert v[0] == 0.5 and math.isnan(v[1]) and v[2] == math.inf and v[3] == -math.inf
    assert got["series"].iloc[0] == 'http_errors{instance="a:9100",job="api"}'
    assert got["instance"].tolist() == ["a:9100"] * 3 + [""] * 2


def test_prometheus_vector_and_metric_override(tmp_path):
    vec = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"app": "web"}, "value": [1717000000, "3"]}]}}
    path = tmp_path / "q.json"
    path.write_text(json.dumps(vec))
    got = load_metrics(path, metric="latency")
    assert got[["service", "metric", "value"]].values.tolist() == [["web", "latency", 3.0]]


def test_prometheus_scalar():
    got = from_prometheus({"status": "success",
                           "data": {"resultType": "scalar", "result": [1717000000, "1.5"]}})
    assert got["value"].tolist() == [1.5]
    assert got["metric"].tolist() == ["value"]


def test_prometheus_error_response_carries_its_text():
    err = {"status": "error", "errorType": "bad_data",
           "error": "1:5: parse error: unexpected character"}
    with pytest.raises(OpsInputError, match=r"^Prometheus returned status 'error': bad_data: "
                                            r"1:5: parse error: unexpected character$"):
        load_metrics(err)


def test_prometheus_bad_shapes():
    with pytest.raises(OpsInputError, match=r"the metrics input is empty \(0 rows\): Prometheus "
                                            r"returned no samples"):
        load_metrics({"status": "success", "data": {"resultType": "matrix", "result": []}})
    with pytest.raises(OpsInputError, match=r"unsupported Prometheus resultType 'streams'"):
        load_metrics({"status": "success", "data": {"resultType": "streams", "result": []}})
    bad_value = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1717000000, "abc"]}]}}
    with pytest.raises(OpsInputError, match=r"Prometheus sample value 'abc' is not a number"):
        load_metrics(bad_value)


def test_long_table_with_mapping_and_text_values():
    df = pd.DataFrame({"time": ["2024-05-01T10:00:00Z"] * 3, "svc": ["a", "a", None],
                       "kpi": ["cpu", "mem", "cpu"], "value": ["1.5", "NaN", "+Inf"]})
    got = load_metrics(df, columns={"time": "timestamp", "svc": "service", "kpi": "metric"})
    assert got["service"].tolist() == ["a", "a", ""]
    assert got["value"].iloc[0] == 1.5 and math.isnan(got["value"].iloc[1])
    assert got["value"].iloc[2] == math.inf
    assert str(got["value"].dtype) == "float64"


def test_wide_table_is_melted_automatically(tmp_path):
    path = tmp_path / "host1.csv"
    pd.DataFrame({"timestamp": ["2024-05-01 10:00", "2024-05-01 10:01"], "cpu": [1, 2],
                  "mem": [3.0, 4.0], "note": ["x", "y"]}).to_csv(path, index=False)
    got = load_metrics(path)
    assert got[["metric", "value"]].values.tolist() == [["cpu", 1.0], ["cpu", 2.0],
                                                        ["mem", 3.0], ["mem", 4.0]]
    assert got["service"].unique().tolist() == ["host1"]  # file stem
    assert got["timestamp"].iloc[1] == pd.Timestamp("2024-05-01T10:01:00Z")


def test_nab_series_loads_as_one_metric(shared_data):
    path = next((shared_data / "nab" / "data").rglob("*.csv"))
    got = load_metrics(path, metric="value", service="nab")
    raw = pd.read_csv(path)
    assert len(got) == len(raw)
    assert got["value"].tolist() == raw["value"].astype(float).tolist()
    assert (got["metric"] == "value").all() and (got["service"] == "nab").all()


def test_metrics_errors():
    with pytest.raises(OpsInputError, match=r"^metrics are missing column 'timestamp'; columns "
                                            r"found: ts, value. Map yours with "
                                            r"columns=\{'ts': 'timestamp'\}$"):
        load_metrics(pd.DataFrame({"ts": [1], "value": [1.0]}))
    with pytest.raises(OpsInputError, match=r"metrics have no numeric value columns; columns "
                                            r"found: timestamp, name"):
        load_metrics(pd.DataFrame({"timestamp": ["2024-05-01"], "name": ["x"]}))
    with pytest.raises(OpsInputError, match=r"cannot parse 1 values in column 'value' of the "
                                            r"metrics as numbers, e.g. row 1: 'high'"):
        load_metrics(pd.DataFrame({"timestamp": ["2024-05-01"] * 2, "metric": "m",
                                   "value": ["1", "high"]}))
    with pytest.raises(OpsInputError, match=r"the metrics input is empty \(0 rows\)"):
        load_metrics(pd.DataFrame({"timestamp": [], "metric": [], "value": []}))
    with pytest.raises(OpsInputError, match=r"metrics are missing column 'metric'"):
        load_metrics(pd.DataFrame({"timestamp": ["2024-05-01"], "value": ["1"]}), wide=False)


def test_metrics_round_trip_parquet(tmp_path):
    first = load_metrics(MATRIX)
    path = tmp_path / "m.parquet"
    first.to_parquet(path)
    pd.testing.assert_frame_equal(first, load_metrics(path), check_dtype=False)


def test_metric_column_means_long_form_and_value_is_required():
    df = pd.DataFrame({"timestamp": ["2024-05-01"], "metric": ["cpu"], "val": [1.0]})
    with pytest.raises(OpsInputError, match=r"metrics are missing column 'value'; columns found: "
                                            r"timestamp, metric, val. Map yours with "
                                            r"columns=\{'val': 'value'\}"):
        load_metrics(df)


@pytest.mark.parametrize("data,message", [
    ([1, 2], r"Prometheus 'data' must be an object"),
    ({"resultType": "matrix", "result": [3]}, r"Prometheus series 0 is a int, not an object"),
    ({"resultType": "matrix", "result": [{"metric": "up", "values": [[1, "1"]]}]},
     r"series 0: 'metric' must be an object of labels"),
    ({"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1", 2]]}]},
     r"series 0: samples must be \[unix_time, \"value\"\] pairs"),
    ({"resultType": "matrix", "result": [{"metric": {}, "values": [["soon", "1"]]}]},
     r"series 0: samples must be \[unix_time, \"value\"\] pairs"),
    ({"resultType": "matrix", "result": [{"metric": {}, "values": [[1e30, "1"]]}]},
     r"series 0: sample times must be unix seconds"),
    ({"resultType": "vector", "result": [{"metric": {}}]}, r"series 0 has no samples"),
])
def test_prometheus_malformed_responses(data, message):
    with pytest.raises(OpsInputError, match=message):
        from_prometheus({"status": "success", "data": data})


def test_wide_table_with_quoted_numbers():
    df = pd.DataFrame({"timestamp": ["2024-05-01T10:00:00Z"] * 2, "cpu": ["1.5", "NaN"],
                       "host": ["a", "b"]})
    got = load_metrics(df)
    assert got["metric"].unique().tolist() == ["cpu"]
    assert got["value"].iloc[0] == 1.5 and math.isnan(got["value"].iloc[1])


def test_single_value_column_file_loads_as_one_series(tmp_path):
    # NAB-style files: timestamp,value and nothing else
    path = tmp_path / "nyc_taxi.csv"
    path.write_text("timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n")
    df = load_metrics(path)
    assert list(df[["service", "metric"]].iloc[0]) == ["nyc_taxi", "value"]
    assert df["value"].tolist() == [10844.0, 8127.0]
