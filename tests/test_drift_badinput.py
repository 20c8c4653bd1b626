"""Bad input: every odd column is named in .skipped (or noted) with its reason; no crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_ops import mlops
from jupyter_ops.errors import OpsInputError


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    n = 1500
    ref = pd.DataFrame({
        "ok": rng.normal(0, 1, n),
        "only_ref": rng.normal(0, 1, n),
        "all_nan": np.full(n, np.nan),
        "constant": np.full(n, 7.0),
        "mixed": pd.Series([1, "a", 2.5, None] * (n // 4) + [1] * (n % 4), dtype=object),
        "ids": [f"id{i}" for i in range(n)],
        "infs": np.where(rng.random(n) < 0.1, np.inf, rng.normal(0, 1, n)),
        "all_inf": np.full(n, -np.inf),
        "text": [f"user {i} wrote a long message about the checkout page {i * 7}" for i in range(n)],
        "when": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
        "type_change": rng.normal(0, 1, n),
    })
    cur = ref.drop(columns=["only_ref"]).copy()
    cur["only_cur"] = 1
    cur["constant"] = 8.0
    cur["all_nan"] = rng.normal(0, 1, n)
    cur["type_change"] = ["x"] * n
    return mlops.drift(ref, cur, multivariate=False, log=False)


def reason(r, col):
    s = r.skipped.set_index("column")["reason"]
    return s.get(col, "")


def test_one_side_only(result):
    assert reason(result, "only_ref") == "only in the reference"
    assert reason(result, "only_cur") == "only in the current frame"


def test_all_nan_and_all_inf(result):
    assert "all values missing in the reference" in reason(result, "all_nan")
    assert "no finite values" in reason(result, "all_inf")


def test_identifier_text_datetime_and_type_change(result):
    assert "distinct values" in reason(result, "ids") and "identifier" in reason(result, "ids")
    assert "free text" in reason(result, "text")
    assert "datetime" in reason(result, "when")
    assert "type changed" in reason(result, "type_change")


def test_tested_with_notes(result):
    t = result.columns.set_index("column")
    assert "constant in the reference" in t.loc["constant", "note"]
    assert bool(t.loc["constant", "drifted"])  # 7 -> 8 is drift
    assert "infinite" in t.loc["infs", "note"] and not t.loc["infs", "drifted"]
    assert "mixed types" in t.loc["mixed", "note"]
    assert not bool(t.loc["ok", "drifted"])
    tested_or_skipped = set(t.index) | set(result.skipped["column"])
    assert tested_or_skipped == {"ok", "only_ref", "only_cur", "all_nan", "constant", "mixed",
                                 "ids", "infs", "all_inf", "text", "when", "type_change"}


def test_hundred_thousand_levels_are_skipped_quickly():
    n = 100_000
    ref = pd.DataFrame({"level": [f"L{i}" for i in range(n)], "x": np.arange(n) % 97})
    cur = ref.sample(frac=1.0, random_state=0).reset_index(drop=True)
    r = mlops.drift(ref, cur, multivariate=False, log=False)
    assert "100,000 distinct values" in reason(r, "level")
    assert r.columns["column"].tolist() == ["x"]


def test_datetime_tested_when_named():
    t = pd.date_range("2026-01-01", periods=500, freq="h", tz="UTC")
    ref = pd.DataFrame({"x": np.arange(500.0), "t": t})
    cur = pd.DataFrame({"x": np.arange(500.0), "t": t + pd.Timedelta(days=30)})
    r = mlops.drift(ref, cur, columns=["x", "t"], multivariate=False, log=False)
    kinds = r.columns.set_index("column")["kind"]
    assert kinds.to_dict() == {"t": "datetime", "x": "numeric"}
    assert r.drifted_columns == ["t"]


def test_empty_and_wrong_inputs_raise_clear_errors():
    df = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(OpsInputError, match="current frame is empty"):
        mlops.drift(df, df.iloc[:0], log=False)
    with pytest.raises(OpsInputError, match="reference frame is empty"):
        mlops.drift(df.iloc[:0], df, log=False)
    with pytest.raises(OpsInputError, match=r"column\(s\) \['nope'\] not found"):
        mlops.drift(df, df, columns=["nope"], log=False)
    with pytest.raises(OpsInputError, match="DataFrame or a Profile"):
        mlops.drift([1, 2], df, log=False)
    with pytest.raises(OpsInputError, match="correction"):
        mlops.drift(df, df, correction="holm", log=False)


def test_no_common_columns_gives_empty_verdict_not_crash():
    r = mlops.drift(pd.DataFrame({"a": [1.0] * 10}), pd.DataFrame({"b": [1.0] * 10}), log=False)
    assert r.n_tested == 0 and not r.dataset_drift
    assert len(r.skipped) == 2 and "0 of 0" in r.summary()
    r._repr_mimebundle_()


def test_duplicate_column_names_and_datetime_units():
    df = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with pytest.raises(OpsInputError, match="duplicate column names"):
        mlops.drift(df, df, log=False)
    # the same instants stored in ns and in us are not drift
    t = pd.date_range("2026-01-01", periods=300, freq="h", tz="UTC")
    r = mlops.drift(pd.DataFrame({"t": t}), pd.DataFrame({"t": t.as_unit("us")}), columns=["t"],
                    multivariate=False, log=False)
    assert r.columns.loc[0, "statistic"] == 0.0 and not r.dataset_drift


def test_numbers_stored_as_objects_are_numbers():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": pd.Series(list(rng.normal(0, 1, 300)) + [None, 3], dtype=object)})
    cur = pd.DataFrame({"x": pd.Series(list(rng.normal(2, 1, 300)) + [1, None], dtype=object)})
    r = mlops.drift(ref, cur, multivariate=False, log=False)
    assert r.columns.loc[0, "kind"] == "numeric" and r.columns.loc[0, "test"] == "ks"
    assert r.drifted_columns == ["x"]
