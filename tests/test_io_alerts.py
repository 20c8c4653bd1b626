"""load_alerts: tables, DataFrames, Alertmanager payloads; severities, fingerprints, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.errors import OpsInputError
from jupyter_ops.io import (
    SEVERITIES,
    from_alertmanager,
    label_fingerprint,
    load_alerts,
    normalize_severity,
    severity_rank,
)


def _alerts() -> pd.DataFrame:
    return pd.DataFrame({
        "timestamp": ["2024-05-01T10:00:00Z", "2024-05-01T10:00:30Z", "2024-05-01T09:59:00Z"],
        "service": ["api", "db", "api"],
        "name": ["HighLatency", "DiskFull", "HighLatency"],
        "severity": ["CRIT", "warn", None],
        "incident": [1, 2, 1],
    })


def _is_utc(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.DatetimeTZDtype) and str(s.dtype.tz) == "UTC"


def test_canonical_columns_dtypes_and_input_order():
    got = load_alerts(_alerts())
    assert list(got.columns[:8]) == ["timestamp", "service", "name", "severity", "message",
                                     "host", "labels", "fingerprint"]
    assert _is_utc(got["timestamp"])
    # input order kept (row 2 is the earliest) and a fresh RangeIndex
    assert got["timestamp"].dt.strftime("%H:%M:%S").tolist() == ["10:00:00", "10:00:30",
                                                                  "09:59:00"]
    assert isinstance(got.index, pd.RangeIndex)
    assert got["severity"].tolist() == ["critical", "warning", "unknown"]
    assert got["message"].tolist() == ["", "", ""]
    assert got["labels"].tolist() == [{}, {}, {}]
    for col in ("service", "name", "severity", "message", "host", "fingerprint"):
        assert pd.api.types.is_string_dtype(got[col].dtype), col
    # extra columns survive
    assert got["incident"].tolist() == [1, 2, 1]


def test_index_of_the_input_is_dropped():
    df = _alerts()
    df.index = [10, 20, 30]
    got = load_alerts(df)
    assert list(got.index) == [0, 1, 2]
    assert got["service"].tolist() == ["api", "db", "api"]


def test_input_frame_is_not_modified():
    df = _alerts()
    before = df.copy()
    load_alerts(df, columns={"incident": "group"})
    pd.testing.assert_frame_equal(df, before)


def test_columns_mapping_renames_before_validation():
    df = _alerts().rename(columns={"timestamp": "ts", "service": "svc"})
    got = load_alerts(df, columns={"ts": "timestamp", "svc": "service"})
    assert got["service"].tolist() == ["api", "db", "api"]


def test_missing_column_names_it_and_the_columns_found_and_a_mapping():
    df = pd.DataFrame({"timestamp": ["2024-05-01"], "svc": ["a"], "name": ["x"], "msg": ["m"]})
    with pytest.raises(OpsInputError) as err:
        load_alerts(df)
    assert str(err.value) == (
        "alerts are missing column 'service'; columns found: timestamp, svc, name, msg. "
        "Map yours with columns={'svc': 'service'}"
    )


def test_missing_column_without_a_guess():
    df = pd.DataFrame({"timestamp": ["2024-05-01"], "zzz": ["a"], "name": ["x"]})
    with pytest.raises(OpsInputError, match=r"columns=\{'<your column>': 'service'\}"):
        load_alerts(df)


def test_columns_mapping_of_an_absent_column():
    with pytest.raises(OpsInputError, match=r"columns= maps 'ts' but the alerts have no such "
                                            r"column; columns found: timestamp, service"):
        load_alerts(_alerts(), columns={"ts": "timestamp"})


def test_case_insensitive_column_names_are_accepted():
    df = _alerts().rename(columns={"timestamp": "Timestamp", "service": "SERVICE"})
    got = load_alerts(df)
    assert got["service"].tolist() == ["api", "db", "api"]


def test_empty_input_is_named_as_such():
    with pytest.raises(OpsInputError, match=r"^the alerts input is empty \(0 rows\)"):
        load_alerts(_alerts().iloc[:0])


def test_unparseable_timestamps_name_count_and_first_rows():
    ts = ["2024-05-01T10:00:00Z"] * 13
    ts[7] = "yesterday"
    ts[12] = "32/13/2024"
    ts[9] = "soon"
    df = pd.DataFrame({"timestamp": ts, "service": "s", "name": "n"})
    with pytest.raises(OpsInputError) as err:
        load_alerts(df)
    msg = str(err.value)
    assert msg.startswith("cannot parse 3 timestamps in column 'timestamp' of the alerts, e.g. "
                          "row 7: 'yesterday', row 9: 'soon', row 12: '32/13/2024'")
    assert "\n" not in msg


def test_missing_timestamps_are_an_error_naming_rows():
    df = pd.DataFrame({"timestamp": ["2024-05-01", None, "", "2024-05-02"],
                       "service": "s", "name": "n"})
    with pytest.raises(OpsInputError, match=r"2 timestamps are missing in column 'timestamp' of "
                                            r"the alerts, e.g. rows 1, 2; drop or fill"):
        load_alerts(df)


def test_mixed_timezones_are_converted_to_utc_and_naive_is_utc():
    df = pd.DataFrame({
        "timestamp": ["2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z",
                      "2024-05-01 10:00:00", "2024-05-01T05:00:00-05:00"],
        "service": "s", "name": "n",
    })
    got = load_alerts(df)
    assert _is_utc(got["timestamp"])
    assert got["timestamp"].nunique() == 1
    assert got["timestamp"].iloc[0] == pd.Timestamp("2024-05-01T10:00:00Z")


def test_tz_aware_column_in_another_zone_is_converted():
    ts = pd.date_range("2024-05-01 12:00", periods=3, freq="min", tz="Europe/Berlin")
    got = load_alerts(pd.DataFrame({"timestamp": ts, "service": "s", "name": "n"}))
    assert got["timestamp"].iloc[0] == pd.Timestamp("2024-05-01T10:00:00Z")
    assert _is_utc(got["timestamp"])


def test_naive_datetime_column_is_taken_as_utc():
    ts = pd.date_range("2024-05-01 12:00", periods=2, freq="min")
    got = load_alerts(pd.DataFrame({"timestamp": ts, "service": "s", "name": "n"}))
    assert got["timestamp"].iloc[0] == pd.Timestamp("2024-05-01T12:00:00Z")


@pytest.mark.parametrize("values", [
    [1714557600, 1714557660],
    [1714557600000, 1714557660000],
    [1714557600.0, 1714557660.5],
    ["1714557600", "1714557660"],
])
def test_epoch_seconds_and_milliseconds_by_magnitude(values):
    got = load_alerts(pd.DataFrame({"timestamp": values, "service": "s", "name": "n"}))
    assert got["timestamp"].iloc[0] == pd.Timestamp("2024-05-01T10:00:00Z")


def test_python_datetimes_with_different_zones():
    from datetime import datetime, timedelta, timezone

    vals = [datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 5, 1, 10, tzinfo=timezone.utc)]
    got = load_alerts(pd.DataFrame({"timestamp": pd.Series(vals, dtype=object),
                                    "service": "s", "name": "n"}))
    assert got["timestamp"].nunique() == 1


def test_boolean_timestamp_column_is_rejected():
    df = pd.DataFrame({"timestamp": [True, False], "service": "s", "name": "n"})
    with pytest.raises(OpsInputError, match=r"column 'timestamp' of the alerts holds booleans"):
        load_alerts(df)


def test_severity_aliases_and_order():
    raw = ["CRIT", "fatal", "P1", "sev1", "Critical", "high", "ERR", "major", "warn", "WARNING",
           "minor", "info", "low", "notice", np.nan, None, "bogus", 3, 4.0]
    assert normalize_severity(raw).tolist() == [
        "critical", "critical", "critical", "critical", "critical", "error", "error", "error",
        "warning", "warning", "warning", "info", "info", "info", "unknown", "unknown", "unknown",
        "error", "warning",
    ]
    assert SEVERITIES == ("critical", "error", "warning", "info", "unknown")
    ranks = severity_rank(pd.Series(list(SEVERITIES)))
    assert ranks.tolist() == [4, 3, 2, 1, 0]
    assert severity_rank(["warn", "P1"]).tolist() == [2, 4]


def test_labels_from_json_strings_dicts_and_python_literals():
    df = pd.DataFrame({
        "timestamp": ["2024-05-01"] * 4, "service": "s", "name": "n",
        "labels": ['{"env": "prod"}', {"env": "dev"}, None, "{'env': 'qa'}"],
    })
    got = load_alerts(df)
    assert got["labels"].tolist() == [{"env": "prod"}, {"env": "dev"}, {}, {"env": "qa"}]


def test_bad_labels_name_the_row():
    df = pd.DataFrame({"timestamp": ["2024-05-01"] * 2, "service": "s", "name": "n",
                       "labels": ['{"a": 1}', "env=prod"]})
    with pytest.raises(OpsInputError, match=r"column 'labels' of the alerts must hold dicts or "
                                            r"JSON objects; row 1: 'env=prod'"):
        load_alerts(df)


def test_fingerprint_is_alertmanager_label_set_hash():
    # Alertmanager/Prometheus: FNV-1a 64 over sorted "name\xffvalue\xff"; the empty set hashes
    # to the FNV offset basis
    assert label_fingerprint({}) == "cbf29ce484222325"
    df = pd.DataFrame({
        "timestamp": ["2024-05-01"] * 4,
        "service": ["api", "api", "api", "db"],
        "name": ["Down", "Down", "Down", "Down"],
        "labels": [{"env": "prod", "az": "1"}, {"az": "1", "env": "prod"}, {"env": "dev"}, {}],
    })
    got = load_alerts(df)
    fp = got["fingerprint"].tolist()
    assert fp[0] == fp[1]  # same label set, other key order
    assert len({fp[0], fp[2], fp[3]}) == 3
    assert fp[0] == label_fingerprint({"env": "prod", "az": "1", "alertname": "Down",
                                       "service": "api"})
    assert all(len(f) == 16 for f in fp)
    # stable across calls
    assert load_alerts(df)["fingerprint"].tolist() == fp


def test_given_fingerprints_are_kept_and_gaps_filled():
    df = pd.DataFrame({"timestamp": ["2024-05-01"] * 2, "service": "s", "name": "n",
                       "fingerprint": ["abc", None]})
    got = load_alerts(df)
    assert got["fingerprint"].iloc[0] == "abc"
    assert got["fingerprint"].iloc[1] == label_fingerprint({"alertname": "n", "service": "s"})


def test_extra_time_columns_are_parsed_to_utc():
    df = _alerts().assign(acknowledged_at=["2024-05-01T12:05:00+02:00", None, ""],
                          resolved_at=[None, None, "2024-05-01T11:00:00Z"], status="firing")
    got = load_alerts(df)
    assert _is_utc(got["acknowledged_at"]) and _is_utc(got["resolved_at"])
    assert got["acknowledged_at"].iloc[0] == pd.Timestamp("2024-05-01T10:05:00Z")
    assert got["acknowledged_at"].isna().tolist() == [False, True, True]
    assert got["status"].tolist() == ["firing"] * 3


def test_reloading_a_canonical_frame_is_identity():
    once = load_alerts(_alerts())
    twice = load_alerts(once)
    pd.testing.assert_frame_equal(once, twice)


WEBHOOK = {
    "version": "4",
    "groupKey": "{}:{alertname=\"HighCPU\"}",
    "status": "firing",
    "receiver": "team",
    "alerts": [
        {
            "status": "resolved",
            "labels": {"alertname": "HighCPU", "job": "api", "severity": "warning",
                       "instance": "host1:9100"},
            "annotations": {"summary": "CPU above 90%", "description": "long text"},
            "startsAt": "2024-05-01T12:00:00.123+02:00",
            "endsAt": "2024-05-01T11:00:00Z",
            "generatorURL": "http://prom/graph",
            "fingerprint": "5fb6d8d6a1c3b0a1",
        },
        {
            "status": "firing",
            "labels": {"alertname": "Down", "service": "db", "app": "x"},
            "annotations": {"description": "db is down"},
            "startsAt": "2024-05-01T10:05:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
        },
    ],
}

API_V2 = [
    {
        "labels": {"alertname": "Down", "app": "web", "severity": "critical"},
        "annotations": {"summary": "web down"},
        "startsAt": "2024-05-01T10:00:00Z",
        "endsAt": "2024-05-01T10:30:00Z",
        "fingerprint": "0011223344556677",
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "receivers": [{"name": "team"}],
        "updatedAt": "2024-05-01T10:00:00Z",
    }
]


def test_alertmanager_webhook_mapping():
    got = load_alerts(WEBHOOK)
    assert got["timestamp"].tolist() == [pd.Timestamp("2024-05-01T10:00:00.123Z"),
                                         pd.Timestamp("2024-05-01T10:05:00Z")]
    assert got["service"].tolist() == ["api", "db"]
    assert got["name"].tolist() == ["HighCPU", "Down"]
    assert got["severity"].tolist() == ["warning", "unknown"]
    assert got["message"].tolist() == ["CPU above 90%", "db is down"]
    assert got["host"].tolist() == ["host1:9100", ""]
    assert got["labels"].iloc[1] == {"alertname": "Down", "service": "db", "app": "x"}
    assert got["fingerprint"].iloc[0] == "5fb6d8d6a1c3b0a1"
    assert got["fingerprint"].iloc[1] == label_fingerprint(
        {"alertname": "Down", "service": "db", "app": "x"})  # the labels alone, as Alertmanager
    assert got["status"].tolist() == ["resolved", "firing"]
    assert got["resolved_at"].iloc[0] == pd.Timestamp("2024-05-01T11:00:00Z")
    assert pd.isna(got["resolved_at"].iloc[1])  # 0001-01-01 means "not set"
    assert _is_utc(got["resolved_at"])


def test_alertmanager_api_v2_list_and_json_file(tmp_path):
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps(API_V2))
    for got in (load_alerts(API_V2), load_alerts(path)):
        assert got["service"].tolist() == ["web"]
        assert got["severity"].tolist() == ["critical"]
        assert got["status"].tolist() == ["active"]
        assert got["fingerprint"].tolist() == ["0011223344556677"]
        assert got["resolved_at"].isna().all()  # an active alert's endsAt is not a resolution


def test_alertmanager_webhook_file(tmp_path):
    path = tmp_path / "hook.json"
    path.write_text(json.dumps(WEBHOOK))
    assert load_alerts(path)["name"].tolist() == ["HighCPU", "Down"]


def test_alertmanager_bad_payloads():
    with pytest.raises(OpsInputError, match=r"needs an 'alerts' list; keys found: version"):
        from_alertmanager({"version": "4"})
    empty = dict(WEBHOOK, alerts=[])
    with pytest.raises(OpsInputError, match=r"the alerts input is empty \(0 rows\)"):
        load_alerts(empty)
    no_start = dict(WEBHOOK, alerts=[dict(WEBHOOK["alerts"][1], startsAt="0001-01-01T00:00:00Z")])
    with pytest.raises(OpsInputError, match=r"1 timestamps are missing in column 'timestamp'"):
        load_alerts(no_start)


def test_records_json_list_that_is_not_alertmanager(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps([{"time": "2024-05-01T10:00:00Z", "app": "a", "event": "x"}]))
    got = load_alerts(path, columns={"time": "timestamp", "app": "service", "event": "name"})
    assert got["name"].tolist() == ["x"]


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_file_round_trip(tmp_path, suffix):
    first = load_alerts(_alerts().assign(labels=[{"env": "prod"}, {}, {"a": "1"}],
                                         message=["m1", "", "m3"]))
    path = tmp_path / f"alerts.{suffix}"
    if suffix == "csv":
        first.to_csv(path, index=False)
    elif suffix == "jsonl":
        first.to_json(path, orient="records", lines=True, date_format="iso", date_unit="ns")
    else:
        # Parquet cannot store empty structs: labels travel as JSON text
        first.assign(labels=first["labels"].map(json.dumps)).to_parquet(path)
    again = load_alerts(path)
    pd.testing.assert_frame_equal(first, again, check_dtype=False)
    assert _is_utc(again["timestamp"])


def test_one_million_rows_load():
    # correctness at scale (no timing here; see benchmarks/bench_io.py)
    n = 1_000_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "timestamp": pd.date_range("2024-01-01", periods=n, freq="s", tz="UTC"),
        "service": rng.choice(["a", "b", "c"], n),
        "name": rng.choice(["x", "y"], n),
        "severity": rng.choice(["critical", "warn", "P3"], n),
    })
    got = load_alerts(df)
    assert len(got) == n
    assert got["fingerprint"].nunique() == 6
    assert set(got["severity"].unique()) == {"critical", "warning"}


def test_fingerprint_equals_a_real_alertmanager_fingerprint():
    # label set and fingerprint as sent by an Alertmanager webhook (public test payload)
    labels = {
        "alertname": "Deployment", "app_kubernetes_io_instance": "eric-oss-common-base",
        "app_kubernetes_io_managed_by": "Helm", "app_kubernetes_io_name":
        "eric-pm-kube-state-metrics", "app_kubernetes_io_version": "2.1.0_10",
        "chart": "eric-pm-kube-state-metrics-2.1.0_10", "deployment": "eric-log-transformer",
        "instance": "192.168.69.53:8080", "job": "eric-pm-kube-state-metrics",
        "kubernetes_name": "eric-pm-kube-state-metrics",
        "kubernetes_namespace": "eric-eo-cm-ci406", "namespace": "eric-eo-cm-ci406",
        "severity": "Warning",
    }
    assert label_fingerprint(labels) == "fbab788ec4c1018b"
    # the loader computes the same when a payload lacks the field
    got = load_alerts([{"labels": labels, "annotations": {}, "startsAt": "2022-07-29T11:13:27Z"}])
    assert got["service"].iloc[0] == "eric-pm-kube-state-metrics"  # from the job label
    assert got["fingerprint"].iloc[0] == "fbab788ec4c1018b"


def test_mapping_onto_an_existing_column_is_an_error():
    df = _alerts().assign(ts="2024-05-01")
    with pytest.raises(OpsInputError, match=r"after columns= the alerts have more than one column "
                                            r"named 'timestamp'; columns found: timestamp, "
                                            r"service, name, severity, incident, ts"):
        load_alerts(df, columns={"ts": "timestamp"})


def test_non_iso_timestamp_strings():
    df = pd.DataFrame({"timestamp": ["05/01/2024 10:00:00", "05/01/2024 10:00:30"],
                       "service": "s", "name": "n"})
    got = load_alerts(df)
    assert got["timestamp"].tolist() == [pd.Timestamp("2024-05-01T10:00:00Z"),
                                         pd.Timestamp("2024-05-01T10:00:30Z")]
    other = pd.DataFrame({"timestamp": ["2024-05-01 10:00:00 UTC", "May 1 2024 10:00"],
                          "service": "s", "name": "n"})
    assert load_alerts(other)["timestamp"].nunique() == 1


def test_columns_as_text_and_datetime_index():
    df = _alerts().rename(columns={"service": "svc"})
    df = df.set_index(pd.to_datetime(df.pop("timestamp"), utc=True))
    got = load_alerts(df, columns="svc=service")
    assert got["service"].tolist() == ["api", "db", "api"]
    assert got["timestamp"].iloc[0] == pd.Timestamp("2024-05-01T10:00:00Z")
    assert isinstance(got.index, pd.RangeIndex)
    with pytest.raises(OpsInputError, match=r"columns= text must look like "
                                            r"'ts=timestamp,svc=service'; got 'svc'"):
        load_alerts(df, columns="svc")


def test_result_does_not_share_memory_with_the_input():
    df = _alerts()
    got = load_alerts(df)
    got.loc[0, "incident"] = 99
    assert df.loc[0, "incident"] == 1


def test_out_of_range_timestamps_name_the_rows():
    df = pd.DataFrame({"timestamp": ["2024-05-01", "3024-01-01T00:00:00Z", "0001-01-01"],
                       "service": "s", "name": "n"})
    with pytest.raises(OpsInputError, match=r"cannot parse 2 timestamps in column 'timestamp' of "
                                            r"the alerts, e.g. row 1: '3024-01-01T00:00:00Z', "
                                            r"row 2: '0001-01-01'; .* between 1677-09-22 and "
                                            r"2262-04-10"):
        load_alerts(df)


def test_json_cells_of_odd_types_do_not_crash():
    payload = {"version": "4", "alerts": [{
        "labels": {"alertname": "Down", "job": "api", "severity": ["critical"]},
        "annotations": {"summary": {"text": "x"}}, "startsAt": "2024-05-01T10:00:00Z"}]}
    got = load_alerts(payload)
    assert got["severity"].tolist() == ["unknown"]
    assert got["message"].tolist() == ["{'text': 'x'}"]


@pytest.mark.parametrize("dtype", ["object", "string", "category", "string[pyarrow]"])
def test_text_columns_get_one_dtype_whatever_the_input_dtype(dtype):
    df = _alerts().drop(columns="incident").astype({"service": dtype, "name": dtype,
                                                    "severity": dtype})
    got = load_alerts(df)
    expected = pd.Series(["x"]).dtype  # pandas' default: object (pandas 2) or str (pandas 3)
    for col in ("service", "name", "severity", "message", "host", "fingerprint"):
        assert got[col].dtype == expected, col
    assert got["severity"].tolist() == ["critical", "warning", "unknown"]
