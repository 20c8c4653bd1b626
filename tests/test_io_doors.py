"""One input layer: the same data through every door of ``jupyter_ops.io`` gives one answer.

The four bugs of issue 10 were copies of the timestamp/alert parsing that disagreed with the
loaders. Here they are pinned at the io level (what every core function now gets from the
loader), together with the doors themselves: a raw frame, a file (CSV, JSON Lines, Parquet),
an already loaded frame (the fast path), and for the mlops inputs the magic and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.errors import OpsInputError
from jupyter_ops.io import (
    is_canonical,
    load_alerts,
    load_logs,
    load_metrics,
    to_utc,
    write_table,
)

LOADERS = {"alerts": load_alerts, "logs": load_logs, "metrics": load_metrics}


def _raw(kind: str, timestamps: list) -> pd.DataFrame:
    n = len(timestamps)
    if kind == "alerts":
        return pd.DataFrame({"timestamp": timestamps, "service": ["api", "db"] * (n // 2) +
                             ["api"] * (n % 2), "name": "HighLatency", "severity": "CRIT",
                             "labels": [{"env": "prod", "pod": f"p{i % 3}"} for i in range(n)]})
    if kind == "logs":
        return pd.DataFrame({"timestamp": timestamps, "service": "api",
                             "message": [f"request {i} ERROR timeout" for i in range(n)]})
    return pd.DataFrame({"timestamp": timestamps, "service": "api", "metric": "latency",
                         "value": np.arange(n, dtype=float)})


def _doors(kind: str, raw: pd.DataFrame, tmp_path) -> dict[str, pd.DataFrame]:
    """The same data through each door of the loader of ``kind``."""
    load = LOADERS[kind]
    out = {"raw frame": load(raw)}
    for suffix in ("csv", "jsonl", "parquet"):
        path = tmp_path / f"{kind}.{suffix}"
        write_table(out["raw frame"], path)
        out[suffix] = load(path)
    out["loaded frame"] = load(out["raw frame"])
    out["loaded twice"] = load(load(out["raw frame"]))
    return out


def _assert_same(doors: dict[str, pd.DataFrame]) -> None:
    names = list(doors)
    first = doors[names[0]]
    for name in names[1:]:
        try:
            pd.testing.assert_frame_equal(doors[name], first)
        except AssertionError as e:
            raise AssertionError(f"door {name!r} differs from {names[0]!r}: {e}") from None


# -- bug 1: epoch seconds were 1970 in log mining --------------------------------------------
@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_epoch_seconds_are_2024_through_every_door(kind, tmp_path):
    raw = _raw(kind, [1717000000 + 60 * i for i in range(6)])
    doors = _doors(kind, raw, tmp_path)
    _assert_same(doors)
    assert doors["raw frame"]["timestamp"].iloc[0] == pd.Timestamp("2024-05-29T16:26:40Z")


@pytest.mark.parametrize(("scale", "unit"), [(1, "s"), (10**3, "ms"), (10**6, "us"),
                                             (10**9, "ns")])
def test_epoch_unit_by_magnitude(scale, unit):
    got = to_utc(pd.Series([1717000000 * scale, 1717000060 * scale]))
    assert got.tolist() == [pd.Timestamp("2024-05-29T16:26:40Z"),
                            pd.Timestamp("2024-05-29T16:27:40Z")], unit
    text = to_utc(pd.Series([str(1717000000 * scale), str(1717000060 * scale)]))
    assert text.tolist() == got.tolist()


def test_epoch_float_seconds_keep_microseconds():
    got = to_utc(pd.Series([1717000000.25, 1717000000.000001]))
    assert got.iloc[0] == pd.Timestamp("2024-05-29T16:26:40.25Z")
    assert got.iloc[1] == pd.Timestamp("2024-05-29T16:26:40.000001Z")


# -- bug 2: offset-aware and naive mixed in one column ----------------------------------------
MIXED = ["2024-05-01T12:00:00+02:00", "2024-05-01 10:00:00", "2024-05-01T10:00:00Z",
         "2024-05-01T05:00:00-05:00"]


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_offset_and_naive_mixed_is_one_rule_everywhere(kind, tmp_path):
    # aware values are converted, naive ones read as UTC: the four are the same instant
    doors = _doors(kind, _raw(kind, MIXED), tmp_path)
    _assert_same(doors)
    assert set(doors["raw frame"]["timestamp"]) == {pd.Timestamp("2024-05-01T10:00:00Z")}


def test_mixed_python_datetimes_follow_the_same_rule():
    import datetime as dt

    aware = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    naive = dt.datetime(2024, 5, 1, 10)
    got = to_utc(pd.Series([aware, naive, pd.Timestamp("2024-05-01 06:00", tz="US/Eastern")],
                           dtype=object))
    assert set(got) == {pd.Timestamp("2024-05-01T10:00:00Z")}


# -- bug 3: 05/01/2024 00:00 ------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_slash_dates_parse_the_same_in_every_loader(kind, tmp_path):
    doors = _doors(kind, _raw(kind, ["05/01/2024 00:00", "05/01/2024 00:05"]), tmp_path)
    _assert_same(doors)
    assert doors["raw frame"]["timestamp"].tolist() == [pd.Timestamp("2024-05-01T00:00Z"),
                                                        pd.Timestamp("2024-05-01T00:05Z")]


@pytest.mark.parametrize(("values", "want"), [
    (["05/01/2024 00:00", "06/01/2024 00:00"], ["2024-05-01", "2024-06-01"]),  # month first
    (["05/01/2024 00:00", "13/01/2024 00:00"], ["2024-01-05", "2024-01-13"]),  # proof: day
    (["01.05.2024 10:00", "02.05.2024 10:00"], ["2024-05-01", "2024-05-02"]),  # dots: day
    (["05/13/2024", "05/01/2024"], ["2024-05-13", "2024-05-01"]),  # proof: month first
])
def test_day_or_month_first_is_one_decision_per_column(values, want):
    got = to_utc(pd.Series(values))
    assert [t.strftime("%Y-%m-%d") for t in got] == want


def test_a_column_proving_both_orders_is_refused():
    with pytest.raises(OpsInputError, match=r"column 'timestamp' of the metrics mixes day-first "
                                            r"and month-first dates \(row 0: '13/01/2024', row 1"):
        load_metrics(_raw("metrics", ["13/01/2024", "01/13/2024"]))


# -- bug 4: fingerprints of raw and loaded alerts ---------------------------------------------
def test_alert_fingerprints_are_the_same_through_every_door(tmp_path):
    ts = pd.date_range("2024-05-01", periods=6, freq="min", tz="UTC").astype(str).tolist()
    doors = _doors("alerts", _raw("alerts", ts), tmp_path)
    _assert_same(doors)
    fps = doors["raw frame"]["fingerprint"]
    assert fps.str.fullmatch(r"[0-9a-f]{16}").all()
    assert fps.nunique() == 6  # api/db x p0..p2


def test_fingerprint_of_a_frame_without_one_equals_the_loaded_one():
    raw = _raw("alerts", ["2024-05-01T00:00:00Z"] * 4)
    once = load_alerts(raw)
    # what a core function computes on the raw frame is what it computes on the loaded one
    assert load_alerts(raw)["fingerprint"].tolist() == load_alerts(once)["fingerprint"].tolist()


# -- the fast path --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_loaded_frame_is_canonical_and_reloads_without_parsing(kind, monkeypatch):
    from jupyter_ops.io import _common

    loaded = LOADERS[kind](_raw(kind, MIXED))
    assert is_canonical(loaded, kind)
    assert not is_canonical(_raw(kind, MIXED), kind)

    def no_parse(*a, **k):
        raise AssertionError("the fast path parsed timestamps")

    monkeypatch.setattr(_common, "to_utc", no_parse)
    again = LOADERS[kind](loaded)
    pd.testing.assert_frame_equal(again, loaded)
    assert again is not loaded
    again["extra"] = 1  # a new column on the result never reaches the caller's frame
    assert "extra" not in loaded.columns
    with pytest.raises(AssertionError, match="fast path parsed"):
        LOADERS[kind](_raw(kind, MIXED))  # a raw frame is parsed: the check above can fail


def test_fast_path_resets_the_index_and_keeps_extras():
    loaded = load_alerts(_raw("alerts", MIXED)).assign(team="sre")
    shifted = loaded.set_axis(range(10, 14))
    got = load_alerts(shifted)
    assert list(got.index) == [0, 1, 2, 3]
    assert got["team"].tolist() == ["sre"] * 4


@pytest.mark.parametrize("change", ["severity", "timestamp", "order", "labels", "nan-text"])
def test_almost_canonical_frames_take_the_full_path(change):
    loaded = load_alerts(_raw("alerts", MIXED))
    if change == "severity":
        bad = loaded.assign(severity="CRIT")
    elif change == "timestamp":
        bad = loaded.assign(timestamp=loaded["timestamp"].dt.tz_convert("Europe/Berlin"))
    elif change == "order":
        bad = loaded[["service", *[c for c in loaded.columns if c != "service"]]]
    elif change == "labels":
        bad = loaded.assign(labels=[json.dumps(d) for d in loaded["labels"]])
    else:
        bad = loaded.assign(host=[None, "h", "h", "h"])
    assert not is_canonical(bad, "alerts")
    got = load_alerts(bad)
    assert is_canonical(got, "alerts")
    assert got["severity"].iloc[0] == "critical"
    assert got["timestamp"].iloc[0] == pd.Timestamp("2024-05-01T10:00:00Z")


def test_fast_path_respects_columns_and_service_arguments():
    loaded = load_logs(_raw("logs", MIXED))
    assert load_logs(loaded, service="other")["service"].unique().tolist() == ["other"]
    renamed = load_logs(loaded.rename(columns={"message": "msg"}), columns={"msg": "message"})
    pd.testing.assert_frame_equal(renamed, loaded)


def test_is_canonical_rejects_an_unknown_kind():
    with pytest.raises(OpsInputError, match="unknown canonical kind 'traces'"):
        is_canonical(pd.DataFrame(), "traces")


# -- mlops inputs: frame, file, magic and CLI ---------------------------------------------------
def _drift_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 400

    def frame(shift: float, start: str) -> pd.DataFrame:
        return pd.DataFrame({
            "when": pd.date_range(start, periods=n, freq="h", tz="UTC").astype(str),
            "x": rng.normal(shift, 1, n), "plan": rng.choice(["a", "b", "c"], n)})

    return frame(0.0, "2024-01-01"), frame(0.8, "2024-03-01")


def test_mlops_read_data_is_the_same_for_frame_csv_and_parquet(tmp_path):
    from jupyter_ops.mlops._inputs import read_data

    ref, _ = _drift_frames()
    ref.to_csv(tmp_path / "ref.csv", index=False)
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    doors = {"frame": read_data(ref), "csv": read_data(tmp_path / "ref.csv"),
             "parquet": read_data(tmp_path / "ref.parquet")}
    _assert_same(doors)
    assert str(doors["frame"]["when"].dtype) == "datetime64[ns, UTC]"
    assert str(ref["when"].dtype) != "datetime64[ns, UTC]"  # the caller's frame is untouched


def _drift_table(r) -> list[tuple]:
    return [(c, bool(d), round(float(s), 9)) for c, d, s in
            r.columns[["column", "drifted", "statistic"]].itertuples(index=False)]


def test_drift_gives_one_answer_through_frame_magic_and_cli(tmp_path, ip):
    from jupyter_ops.mlops._inputs import read_data
    from jupyter_ops.mlops.driftcheck import drift

    ref, cur = _drift_frames()
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    want = _drift_table(drift(read_data(ref), read_data(cur), multivariate=False))
    assert "when" not in [c for c, _, _ in want]  # a time column is not tested as a category

    ip.user_ns.update(ref_df=ref, cur_df=cur)
    ip.run_line_magic("mlops_drift", "ref_df cur_df --no-multivariate -o r1")
    ip.run_line_magic("mlops_drift", f"{tmp_path / 'ref.csv'} {tmp_path / 'cur.csv'} "
                                     "--no-multivariate -o r2")
    assert _drift_table(ip.user_ns["r1"]) == want
    assert _drift_table(ip.user_ns["r2"]) == want

    out = subprocess.run(
        [sys.executable, "-m", "jupyter_ops", "mlops", "drift", str(tmp_path / "ref.csv"),
         str(tmp_path / "cur.csv"), "--no-multivariate"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 1, out.stderr  # drift found
    assert "skipped when: datetime column" in out.stdout
    for col, drifted, stat in want:
        line = next(ln for ln in out.stdout.splitlines() if ln.split()[:1] == [col])
        assert line.split()[-1] == str(drifted), line
        assert float(line.split()[3]) == pytest.approx(stat, rel=1e-5), line
