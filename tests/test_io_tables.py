"""read_table: every file format, a DataFrame, and the errors a user sees."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from jupyter_ops.errors import OpsInputError
from jupyter_ops.io import read_table

ROWS = [
    {"ts": "2024-05-01T10:00:00Z", "svc": "api", "value": 1.5},
    {"ts": "2024-05-01T10:01:00Z", "svc": "db", "value": 2.0},
]


def _expected() -> pd.DataFrame:
    return pd.DataFrame(ROWS)


def _same(got: pd.DataFrame) -> None:
    assert list(got.columns) == ["ts", "svc", "value"]
    assert got["ts"].tolist() == [r["ts"] for r in ROWS]
    assert got["svc"].tolist() == ["api", "db"]
    assert got["value"].tolist() == [1.5, 2.0]
    assert isinstance(got.index, pd.RangeIndex)


@pytest.mark.parametrize(
    "name,writer",
    [
        ("t.csv", lambda df, p: df.to_csv(p, index=False)),
        ("t.csv.gz", lambda df, p: df.to_csv(p, index=False, compression="gzip")),
        ("t.tsv", lambda df, p: df.to_csv(p, index=False, sep="\t")),
        ("t.jsonl", lambda df, p: df.to_json(p, orient="records", lines=True)),
        ("t.ndjson", lambda df, p: df.to_json(p, orient="records", lines=True)),
        ("t.json", lambda df, p: df.to_json(p, orient="records")),
        ("t.json.gz", lambda df, p: p.write_bytes(gzip.compress(json.dumps(ROWS).encode()))),
        ("t.parquet", lambda df, p: df.to_parquet(p)),
    ],
)
def test_formats_by_suffix(tmp_path, name, writer):
    path = tmp_path / name
    writer(_expected(), path)
    _same(read_table(path))
    _same(read_table(str(path)))


def test_json_object_with_a_list_of_records(tmp_path):
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"count": 2, "items": ROWS}))
    _same(read_table(path))


def test_format_argument_overrides_suffix(tmp_path):
    path = tmp_path / "data.txt"
    _expected().to_csv(path, index=False)
    _same(read_table(path, format="csv"))


def test_dataframe_passes_through_as_a_copy():
    df = _expected()
    got = read_table(df)
    _same(got)
    got.loc[0, "svc"] = "changed"
    assert df.loc[0, "svc"] == "api"


def test_unknown_suffix_lists_supported_formats(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(OpsInputError, match=r"unknown file type of data.xlsx; supported formats: "
                                            r"csv, tsv, json, jsonl, parquet"):
        read_table(path)


def test_unknown_format_argument(tmp_path):
    with pytest.raises(OpsInputError, match=r"unknown format 'xml'; supported formats"):
        read_table(tmp_path / "x.csv", format="xml")


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(OpsInputError, match=r"^file not found: .*nope\.csv$"):
        read_table(path)


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[{"a": 1},\n {"a": }]')
    with pytest.raises(OpsInputError, match=r"bad.json is not valid JSON: .* at line 2"):
        read_table(path)


def test_invalid_jsonl_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2\n')
    with pytest.raises(OpsInputError, match=r"bad.jsonl line 3 is not valid JSON"):
        read_table(path)


def test_json_scalar_array_is_rejected(tmp_path):
    path = tmp_path / "nums.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(OpsInputError, match=r"array of int; expected an array of objects"):
        read_table(path)


def test_corrupt_parquet_is_a_user_error(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(OpsInputError, match=r"cannot read x.parquet as parquet"):
        read_table(path)


def test_not_a_path_or_frame():
    with pytest.raises(OpsInputError, match=r"expected a file path or a pandas DataFrame, got int"):
        read_table(42)


def test_empty_csv_gives_an_empty_frame(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert read_table(path).empty


SUFFIXES = ["csv", "csv.gz", "tsv", "json", "jsonl", "jsonl.gz", "parquet"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_write_table_round_trips_every_canonical_frame(tmp_path, suffix):
    from jupyter_ops.io import load_alerts, load_logs, load_metrics, load_topology, write_table

    alerts = load_alerts(pd.DataFrame({
        "timestamp": ["2024-05-01T10:00:00.123456789Z", "2024-05-01T11:00:00+02:00"],
        "service": ["api", "db"], "name": ["Down", "Slow"], "severity": ["P1", None],
        "labels": [{"env": "prod", "zone": "a"}, {}],
        "resolved_at": [None, "2024-05-01T12:00:00Z"], "incident": [1, 2],
    }))
    logs = load_logs(["2024-05-01T10:00:00Z ERROR boom", "  at x.y(Z.java:1)"], service="api")
    metrics = load_metrics({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "up", "job": "node"},
         "values": [[1717000000.5, "1"], [1717000015, "NaN"]]}]}})
    edges = load_topology({"web": ["api"], "api": ["db", "api"]})
    for frame, loader in ((alerts, load_alerts), (logs, load_logs), (metrics, load_metrics),
                          (edges, load_topology)):
        path = write_table(frame, tmp_path / f"{loader.__name__}.{suffix}")
        assert path.exists() and not list(tmp_path.glob(".*"))  # no temporary file left
        again = loader(path)
        pd.testing.assert_frame_equal(frame, again, check_dtype=False)


def test_write_table_errors(tmp_path):
    from jupyter_ops.io import write_table

    with pytest.raises(OpsInputError, match=r"unknown file type of out.xlsx; supported formats"):
        write_table(_expected(), tmp_path / "out.xlsx")
    with pytest.raises(OpsInputError, match=r"^directory not found: "):
        write_table(_expected(), tmp_path / "nope" / "out.csv")
    with pytest.raises(OpsInputError, match=r"write_table needs a DataFrame, got list"):
        write_table([1], tmp_path / "out.csv")


def test_json_lines_saved_as_json(tmp_path):
    path = tmp_path / "export.json"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    _same(read_table(path))


def test_semicolon_csv(tmp_path):
    path = tmp_path / "excel.csv"
    _expected().to_csv(path, index=False, sep=";")
    _same(read_table(path))
