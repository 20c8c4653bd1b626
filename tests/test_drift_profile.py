"""profile(): chunk profiles merge into the whole's; JSON round trip; drift from a profile."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from jupyter_ops import mlops
from jupyter_ops.datasets import drift_scenario
from jupyter_ops.errors import OpsInputError


@pytest.fixture(scope="module")
def scenario():
    return drift_scenario(seed=1, n_rows=6000)


def test_chunk_profiles_merge_into_the_whole(scenario):
    ref = scenario.reference
    whole = mlops.profile(ref)
    parts = [mlops.profile(ref.iloc[i:i + 1700]) for i in range(0, len(ref), 1700)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert merged == whole
    assert merged.n_rows == len(ref)
    # counts are exact, not just close
    for col in ("income", "plan", "num_products"):
        a, b = merged.column(col), whole.column(col)
        for key in ("pos", "counts", "small", "n_missing", "count"):
            if key in a:
                assert a[key] == b[key], (col, key)


def test_json_round_trip_without_pickle(tmp_path, scenario):
    p = mlops.profile(scenario.reference)
    path = p.save(tmp_path / "ref.profile.json")
    text = path.read_text()
    json.loads(text)  # plain JSON
    assert len(text) < 60_000  # small: about the same for 6k or 6M rows
    q = mlops.Profile.load(path)
    assert q == p and q.fingerprint == p.fingerprint
    (tmp_path / "bad.json").write_text('{"schema": "other"}')
    with pytest.raises(OpsInputError, match="not a jupyter-ops profile"):
        mlops.Profile.load(tmp_path / "bad.json")


def test_drift_from_profile_matches_drift_from_frame(scenario):
    s = scenario
    frame = mlops.drift(s.reference, s.current, columns=s.features, multivariate=False, log=False)
    prof = mlops.drift(mlops.profile(s.reference), s.current, columns=s.features, log=False)
    assert sorted(prof.drifted_columns) == sorted(frame.drifted_columns)
    assert "profile" in prof.multivariate["skipped"]
    a = frame.columns.set_index("column")
    b = prof.columns.set_index("column")
    # exact for categories and numbers with few values; sketch-approximate for the rest
    for col in ("plan", "region", "channel", "num_products"):
        assert b.loc[col, "statistic"] == pytest.approx(a.loc[col, "statistic"], rel=1e-9), col
    for col in ("customer_age", "income", "balance"):
        assert b.loc[col, "statistic"] == pytest.approx(a.loc[col, "statistic"], rel=0.05, abs=0.01)
        assert "approximate" in b.loc[col, "note"]


def test_ks_from_profile_is_close_to_scipy():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.lognormal(3, 0.5, 50_000)})
    cur = pd.DataFrame({"x": rng.lognormal(3.02, 0.5, 50_000)})
    r = mlops.drift(mlops.profile(ref), cur, method="ks", log=False).columns.iloc[0]
    exact = stats.ks_2samp(ref["x"], cur["x"])
    assert abs(r["statistic"] - exact.statistic) < 0.005


def test_profile_bad_input():
    with pytest.raises(OpsInputError, match="needs a DataFrame"):
        mlops.profile([1, 2, 3])
    with pytest.raises(OpsInputError, match="not found"):
        mlops.profile(pd.DataFrame({"a": [1]}), columns=["b"])
    a = mlops.profile(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(OpsInputError, match="different columns"):
        a.merge(mlops.profile(pd.DataFrame({"b": [1.0]})))
