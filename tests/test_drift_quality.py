"""check_quality(): each kind of problem becomes an issue with the right severity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_ops import mlops
from jupyter_ops.datasets import drift_scenario
from jupyter_ops.errors import OpsInputError


def issue(r, check, column=None):
    t = r.issues[r.issues["check"] == check]
    if column is not None:
        t = t[t["column"] == column]
    assert len(t) == 1, (check, column, r.issues)
    return t.iloc[0]


def test_scenario_quality_columns_are_flagged():
    s = drift_scenario(seed=0, n_rows=3000)
    r = mlops.check_quality(s.current, reference=s.reference)
    flagged = set(r.issues.loc[r.issues["severity"] != "info", "column"])
    assert set(s.quality_columns) <= flagged
    assert issue(r, "unseen_categories", "plan")["severity"] == "critical"
    assert "'student'" in issue(r, "unseen_categories", "plan")["message"] or \
        "'family'" in issue(r, "unseen_categories", "plan")["message"]
    assert issue(r, "missing_change", "tenure_months")["severity"] == "warning"
    assert issue(r, "out_of_range", "income")["severity"] == "warning"
    assert issue(r, "out_of_range", "customer_age")["severity"] == "info"  # < 1% of rows
    assert not r.ok
    # the same from a saved profile
    r2 = mlops.check_quality(s.current, reference=mlops.profile(s.reference))
    assert set(r2.issues["check"]) == set(r.issues["check"])
    json.dumps(r.to_payload())


def test_frame_without_reference():
    df = pd.DataFrame({
        "a": [1.0, np.nan, 3.0, 4.0] * 5,
        "k": ["x"] * 20,
        "inf": [1.0, np.inf] * 10,
        "mixed": pd.Series([1, "one"] * 10, dtype=object),
        "none": [None] * 20,
    })
    df = pd.concat([df, df.iloc[:2]], ignore_index=True)
    r = mlops.check_quality(df)
    assert issue(r, "missing", "a")["severity"] == "warning"
    assert issue(r, "constant", "k")["severity"] == "warning"
    assert issue(r, "infinite", "inf")["value"] == "11"
    assert issue(r, "mixed_types", "mixed")["severity"] == "warning"
    assert issue(r, "all_missing", "none")["severity"] == "critical"
    dup = issue(r, "duplicate_rows")  # the 20 rows repeat a 4-row pattern, plus 2 copies
    assert dup["value"] == "18" and dup["severity"] == "critical"
    assert r.issues.iloc[0]["severity"] == "critical"


def test_reference_dtype_and_columns_and_schema():
    ref = pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 3.0], "gone": ["a", "b", "c"]})
    cur = pd.DataFrame({"x": ["1", "2", "3"], "y": [1.0, 2.0, 2.5], "extra": [0, 0, 1]})
    r = mlops.check_quality(cur, reference=ref, schema={"x": "numeric", "z": None})
    assert issue(r, "dtype_change", "x")["severity"] == "critical"
    assert issue(r, "missing_column", "gone")["severity"] == "critical"
    assert issue(r, "new_column", "extra")["severity"] == "info"
    assert issue(r, "schema_type", "x")["reference"] == "numeric"
    assert issue(r, "missing_column", "z")["severity"] == "critical"


def test_empty_frame_is_an_issue_not_a_crash():
    r = mlops.check_quality(pd.DataFrame({"a": pd.Series(dtype=float)}))
    assert issue(r, "empty")["severity"] == "critical"
    r._repr_mimebundle_()
    with pytest.raises(OpsInputError, match="needs a DataFrame"):
        mlops.check_quality("data.csv")


def test_clean_data_has_no_issues():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(0, 1, 1000), "b": rng.choice(list("xyz"), 1000)})
    cur = pd.DataFrame({"a": rng.uniform(-1, 1, 500), "b": rng.choice(list("xyz"), 500)})
    r = mlops.check_quality(cur, reference=ref)
    assert len(r.issues) == 0 and r.ok and r.summary().startswith("No quality issues")
