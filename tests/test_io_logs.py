"""load_logs: plain text logs (every supported timestamp format, Loghub samples), tables, errors."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.errors import OpsInputError
from jupyter_ops.io import LOG_FORMATS, detect_log_format, load_logs, parse_log_lines

LOGHUB = ["BGL", "HDFS", "Hadoop", "HealthApp", "Linux", "Mac", "OpenSSH", "Spark"]


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC") if pd.Timestamp(text).tzinfo else pd.Timestamp(
        text, tz="UTC")


@pytest.mark.parametrize("name", LOGHUB)
def test_loghub_samples_parse(shared_data, name):
    path = shared_data / "loghub-2k" / name / f"{name}_2k.log"
    got = load_logs(path, year=2005)
    truth = pd.read_csv(path.with_name(f"{name}_2k.log_structured.csv"))
    assert len(got) == len(truth) == 2000
    assert isinstance(got["timestamp"].dtype, pd.DatetimeTZDtype)
    assert got["timestamp"].notna().all()
    assert not got["continuation"].any()  # every Loghub line carries its own timestamp
    assert (got["service"] == f"{name}_2k").all()
    assert got["line"].tolist() == list(range(1, 2001))
    # the message is the line without its header: the labelled content is inside it
    contained = [c in m for c, m in zip(truth["Content"].astype(str), got["message"], strict=True)]
    assert np.mean(contained) > 0.97
    if "Level" in truth.columns and name != "Linux":  # Linux's "Level" holds the host name
        expected = truth["Level"].str.lower().replace({"warn": "warning", "severe": "error"})
        assert (got["level"].to_numpy() == expected.to_numpy()).mean() > 0.99


def test_loghub_first_timestamps(shared_data):
    def first(name: str) -> pd.Timestamp:
        return load_logs(shared_data / "loghub-2k" / name / f"{name}_2k.log",
                         year=2005)["timestamp"].iloc[0]

    assert first("HDFS") == _utc("2008-11-09 20:36:15")
    assert first("Hadoop") == _utc("2015-10-18 18:01:47.978")
    assert first("Spark") == _utc("2017-06-09 20:10:40")
    assert first("HealthApp") == _utc("2017-12-23 22:15:29.606")
    assert first("Linux") == _utc("2005-06-14 15:16:01")
    assert first("Mac") == _utc("2005-07-01 09:00:55")
    assert first("OpenSSH") == _utc("2005-12-10 06:55:46")
    assert first("BGL") == _utc("2005-06-03 22:42:50")  # epoch 1117838570


@pytest.mark.parametrize("line,fmt,ts,message", [
    ("2024-05-01T10:00:00Z INFO started", "iso8601", "2024-05-01T10:00:00Z", "started"),
    ("2024-05-01 12:00:00.250+02:00 [ERROR] boom", "iso8601", "2024-05-01T10:00:00.25Z",
     "boom"),
    ("2015-10-18 18:01:47,978 WARN [main] x", "iso8601", "2015-10-18T18:01:47.978Z",
     "[main] x"),
    ("Jun 14 15:16:01 combo sshd[1]: fail", "syslog", "2023-06-14T15:16:01Z",
     "combo sshd[1]: fail"),
    ('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200', "clf",
     "2000-10-10T20:55:36Z", '127.0.0.1 - frank "GET / HTTP/1.0" 200'),
    ("[Sun Dec 04 04:47:44 2005] [error] mod_jk child", "apache_error",
     "2005-12-04T04:47:44Z", "mod_jk child"),
    ("17/06/09 20:10:40 INFO spark.x: y", "yy/MM/dd", "2017-06-09T20:10:40Z", "spark.x: y"),
    ("081109 203615 148 INFO dfs.DataNode: z", "yyMMdd HHmmss", "2008-11-09T20:36:15Z",
     "148 INFO dfs.DataNode: z"),
    ("20171223-22:15:29:606|Step|1|on", "yyyyMMdd-HH:mm:ss", "2017-12-23T22:15:29.606Z",
     "Step|1|on"),
    ("1717000000 W low disk", "epoch", "2024-05-29T16:26:40Z", "low disk"),
    ("1717000000123 E failed", "epoch", "2024-05-29T16:26:40.123Z", "failed"),
])
def test_each_timestamp_format(line, fmt, ts, message):
    assert detect_log_format([line]) == fmt
    got = parse_log_lines([line, line], service="svc", year=2023)
    assert got["timestamp"].iloc[0] == pd.Timestamp(ts)
    assert got["message"].iloc[0] == message
    assert got["service"].iloc[0] == "svc"


def test_every_documented_format_is_tested():
    assert set(LOG_FORMATS) == {"iso8601", "syslog", "apache_error", "clf", "yy/MM/dd",
                                "yyMMdd HHmmss", "yyyyMMdd-HH:mm:ss", "epoch"}


@pytest.mark.parametrize("text,level", [
    ("2024-05-01T10:00:00Z FATAL x", "fatal"), ("2024-05-01T10:00:00Z ERROR x", "error"),
    ("2024-05-01T10:00:00Z WARN x", "warning"), ("2024-05-01T10:00:00Z WARNING x", "warning"),
    ("2024-05-01T10:00:00Z INFO x", "info"), ("2024-05-01T10:00:00Z DEBUG x", "debug"),
    ("2024-05-01T10:00:00Z TRACE x", "trace"), ("2024-05-01T10:00:00Z E x", "error"),
    ("2024-05-01T10:00:00Z W x", "warning"), ("2024-05-01T10:00:00Z I x", "info"),
    ("2024-05-01T10:00:00Z [warn] x", "warning"), ("2024-05-01T10:00:00Z error: x", "error"),
    ("2024-05-01T10:00:00Z 1234 main ERROR x", "error"),
    ("2024-05-01T10:00:00Z something happened", "unknown"),
    ("2024-05-01T10:00:00Z Error handling is fine", "error"),
    ("2024-05-01T10:00:00Z Ever x", "unknown"),
])
def test_level_detection(text, level):
    assert parse_log_lines([text])["level"].iloc[0] == level


def test_continuation_lines_inherit_timestamp_and_level(tmp_path):
    path = tmp_path / "app.log"
    path.write_text(
        "java stack header without time\n"
        "2024-05-01 10:00:00 ERROR request failed\n"
        "java.lang.RuntimeException: boom\n"
        "\tat com.x.Y(Y.java:10)\n"
        "\n"
        "2024-05-01 10:00:05 INFO recovered\n"
    )
    got = load_logs(path)
    assert got["line"].tolist() == [1, 2, 3, 4, 6]  # blank line 5 skipped
    assert got["continuation"].tolist() == [True, False, True, True, False]
    ts = got["timestamp"].dt.strftime("%H:%M:%S").tolist()
    assert ts == ["10:00:00", "10:00:00", "10:00:00", "10:00:00", "10:00:05"]
    assert got["level"].tolist() == ["unknown", "error", "error", "error", "info"]
    assert got["message"].iloc[3] == "at com.x.Y(Y.java:10)"
    assert got["service"].iloc[0] == "app"


def test_syslog_year_parameter_and_new_year_wrap():
    lines = ["Dec 31 23:59:59 h a: x", "Jan  1 00:00:01 h a: y"]
    got = parse_log_lines(lines, year=2023)
    assert got["timestamp"].tolist() == [pd.Timestamp("2023-12-31T23:59:59Z"),
                                         pd.Timestamp("2024-01-01T00:00:01Z")]


@pytest.mark.parametrize("lines", [["Jun 14 15:16:01 combo x"], ["Jan  1 00:00:00 a"],
                                   ["Dec 31 23:59:59 a", "Jan  1 00:00:01 b"],
                                   ["Dec 31 23:59:59 a"]])
def test_syslog_default_year_puts_the_last_line_in_the_past_year(lines):
    got = parse_log_lines(lines)
    now = pd.Timestamp.now(tz="UTC")
    last = got["timestamp"].iloc[-1]
    assert now - pd.Timedelta(days=367) < last <= now + pd.Timedelta(days=2)
    assert got["timestamp"].is_monotonic_increasing


def test_tz_for_naive_times_but_explicit_offsets_win():
    got = parse_log_lines(["2024-05-01 12:00:00 a", "2024-05-01 12:00:00+00:00 b"],
                          tz="Europe/Berlin")
    assert got["timestamp"].tolist() == [pd.Timestamp("2024-05-01T10:00:00Z"),
                                         pd.Timestamp("2024-05-01T12:00:00Z")]


def test_forced_format_and_unknown_format():
    got = parse_log_lines(["081109 203615 x"], format="yyMMdd HHmmss")
    assert got["timestamp"].iloc[0] == pd.Timestamp("2008-11-09T20:36:15Z")
    with pytest.raises(OpsInputError, match=r"unknown log format 'nope'; choose one of iso8601"):
        parse_log_lines(["x"], format="nope")


def test_windows_line_ends_non_utf8_binary_and_long_lines(tmp_path):
    path = tmp_path / "messy.log"
    long_line = b"2024-05-01T10:00:02Z INFO " + b"x" * (1 << 20)
    path.write_bytes(
        b"2024-05-01T10:00:00Z ERROR caf\xe9 \xff\xfe broken\r\n"
        b"\x00\x01\x02\x89PNG garbage\r\n"
        + long_line + b"\r\n"
        + bytes(range(256)) * 4
    )
    got = load_logs(path)
    assert got["timestamp"].notna().all()
    assert got["message"].iloc[0] == "caf\ufffd \ufffd\ufffd broken"  # U+FFFD replacement
    assert not got["message"].str.endswith("\r").any()
    assert got["continuation"].iloc[1]
    long_row = got[got["line"] == 3].iloc[0]
    assert long_row["timestamp"] == pd.Timestamp("2024-05-01T10:00:02Z")
    assert len(long_row["message"]) == 1 << 20


def test_gzipped_log(tmp_path):
    path = tmp_path / "svc.log.gz"
    path.write_bytes(gzip.compress(b"2024-05-01T10:00:00Z INFO hi\n"))
    got = load_logs(path)
    assert got["message"].tolist() == ["hi"]
    assert got["service"].tolist() == ["svc"]


def test_service_argument_overrides_file_stem(tmp_path):
    path = tmp_path / "x.log"
    path.write_text("2024-05-01T10:00:00Z INFO hi\n")
    assert load_logs(path, service="api")["service"].tolist() == ["api"]


def test_text_log_errors(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_text("\n  \n\r\n")
    with pytest.raises(OpsInputError, match=r"^the logs input is empty \(0 rows\): empty.log has "
                                            r"no non-blank lines$"):
        load_logs(empty)
    no_time = tmp_path / "plain.log"
    no_time.write_text("hello\nworld\n")
    with pytest.raises(OpsInputError, match=r"no known timestamp format in plain.log; line 1: "
                                            r"'hello'. Supported: iso8601"):
        load_logs(no_time)
    with pytest.raises(OpsInputError, match=r"^file not found: .*missing.log$"):
        load_logs(tmp_path / "missing.log")


def test_invalid_dates_become_continuations():
    got = parse_log_lines(["2024-05-01T10:00:00Z INFO ok", "2024-13-45T10:00:00Z INFO bad"])
    assert got["continuation"].tolist() == [False, True]
    assert got["timestamp"].nunique() == 1


def test_logs_from_a_table_with_mapping_and_level_detection():
    df = pd.DataFrame({"time": ["2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z"],
                       "text": ["ERROR db down", "all good"], "pod": ["p1", "p2"]})
    got = load_logs(df, columns={"time": "timestamp", "text": "message"}, service="api")
    assert list(got.columns) == ["timestamp", "service", "level", "message", "pod"]
    assert got["level"].tolist() == ["error", "unknown"]
    assert got["service"].tolist() == ["api", "api"]


def test_logs_table_level_column_is_normalised(tmp_path):
    path = tmp_path / "logs.csv"
    pd.DataFrame({"timestamp": ["2024-05-01T10:00:00Z"] * 3, "message": ["a", "b", "c"],
                  "level": ["WARN", "E", None], "service": ["x", "y", "z"]}).to_csv(path,
                                                                              index=False)
    got = load_logs(path)
    assert got["level"].tolist() == ["warning", "error", "unknown"]
    assert got["service"].tolist() == ["x", "y", "z"]


def test_logs_table_errors():
    df = pd.DataFrame({"ts": ["2024-05-01"], "msg": ["x"]})
    with pytest.raises(OpsInputError, match=r"^logs are missing column 'timestamp'; columns "
                                            r"found: ts, msg. Map yours with "
                                            r"columns=\{'ts': 'timestamp'\}$"):
        load_logs(df)
    with pytest.raises(OpsInputError, match=r"logs are missing column 'message'.*"
                                            r"columns=\{'msg': 'message'\}"):
        load_logs(df, columns={"ts": "timestamp"})
    with pytest.raises(OpsInputError, match=r"the logs input is empty \(0 rows\)"):
        load_logs(df.iloc[:0])


def test_logs_round_trip_jsonl(tmp_path):
    df = pd.DataFrame({"timestamp": ["2024-05-01T10:00:00Z"], "message": ["hi"],
                       "level": ["info"], "service": ["s"]})
    first = load_logs(df)
    path = tmp_path / "logs.jsonl"
    first.to_json(path, orient="records", lines=True, date_format="iso", date_unit="ns")
    pd.testing.assert_frame_equal(first, load_logs(path), check_dtype=False)


def test_hundred_thousand_lines(tmp_path, shared_data):
    raw = (shared_data / "loghub-2k" / "Spark" / "Spark_2k.log").read_bytes().rstrip(b"\r\n")
    path = tmp_path / "big.log"
    path.write_bytes(b"\r\n".join([raw] * 50))
    got = load_logs(path)
    assert len(got) == 100_000
    assert not got["continuation"].any()


def test_utf16_log_with_bom(tmp_path):
    path = tmp_path / "win.log"
    path.write_bytes("2024-05-01 10:00:00 WARN disk é\r\n".encode("utf-16"))
    got = load_logs(path)
    assert got["message"].tolist() == ["disk é"]
    assert got["level"].tolist() == ["warning"]


def test_unknown_time_zone():
    with pytest.raises(OpsInputError, match=r"unknown time zone tz='Mars/Base'; use an IANA name"):
        parse_log_lines(["2024-05-01 12:00:00 a"], tz="Mars/Base")


def test_file_mixing_two_formats():
    lines = []
    for i in range(10):
        lines.append(f"2024-05-01T10:00:{i:02d}Z INFO app line {i}")
        lines.append(f"May  1 10:01:{i:02d} host cron[1]: job {i}")
    lines.append("    at stack.Frame(Frame.java:1)")
    got = parse_log_lines(lines, year=2024)
    assert got["continuation"].tolist() == [False] * 20 + [True]
    assert got["timestamp"].iloc[1] == pd.Timestamp("2024-05-01T10:01:00Z")
    assert got["message"].iloc[1] == "host cron[1]: job 0"


def test_readlines_output_and_bytes(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"2024-05-01T10:00:00Z INFO one\r\n2024-05-01T10:00:01Z WARN tw\xffo\n")
    with open(path, "rb") as fh:
        from_bytes = parse_log_lines(fh.readlines())
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        from_text = parse_log_lines(fh.readlines())
    for got in (from_bytes, from_text):
        assert got["message"].tolist() == ["one", "tw\ufffdo"]
        assert got["level"].tolist() == ["info", "warning"]
    with pytest.raises(OpsInputError, match=r"parse_log_lines needs a list of lines"):
        parse_log_lines("2024-05-01T10:00:00Z INFO one")


def _expected_times(name: str, truth: pd.DataFrame) -> list[datetime]:
    """Each line's time from Loghub's labelled header fields, by plain strptime."""
    out: list[datetime] = []
    year, last_month = 2005, None
    for row in truth.itertuples():
        if name == "BGL":
            out.append(datetime.fromtimestamp(int(row.Timestamp), tz=timezone.utc)
                       .replace(tzinfo=None))
        elif name == "HDFS":
            out.append(datetime.strptime(f"{int(row.Date):06d} {int(row.Time):06d}",
                                         "%y%m%d %H%M%S"))
        elif name == "Hadoop":
            out.append(datetime.strptime(f"{row.Date} {row.Time}", "%Y-%m-%d %H:%M:%S,%f"))
        elif name == "Spark":
            out.append(datetime.strptime(f"{row.Date} {row.Time}", "%y/%m/%d %H:%M:%S"))
        elif name == "HealthApp":
            day, h, m, s, ms = str(row.Time).replace("-", ":").split(":")
            out.append(datetime.strptime(day, "%Y%m%d").replace(
                hour=int(h), minute=int(m), second=int(s), microsecond=int(ms) * 1000))
        else:  # syslog style: month name, day, time; the year wraps after December
            month, day = (row.Month, row.Date) if name in ("Linux", "Mac") else (row.Date,
                                                                                 row.Day)
            t = datetime.strptime(f"{month} {int(day)} {row.Time}", "%b %d %H:%M:%S")
            if last_month is not None and t.month < last_month - 6:
                year += 1
            last_month = t.month
            out.append(t.replace(year=year))
    return out


@pytest.mark.parametrize("name", LOGHUB)
def test_loghub_every_timestamp_matches_the_labelled_header(shared_data, name):
    path = shared_data / "loghub-2k" / name / f"{name}_2k.log"
    truth = pd.read_csv(path.with_name(f"{name}_2k.log_structured.csv"), dtype=str)
    got = load_logs(path, year=2005)["timestamp"].dt.tz_localize(None)
    expected = pd.Series(pd.to_datetime(_expected_times(name, truth)))
    assert (got.to_numpy() == expected.to_numpy()).all()
