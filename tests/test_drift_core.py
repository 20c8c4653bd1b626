"""drift(): finds the injected drift, chooses tests like documented, names what it skips."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_ops import mlops
from jupyter_ops.datasets import drift_scenario
from jupyter_ops.errors import OpsInputError
from jupyter_ops.results import chart_spec


@pytest.fixture(scope="module")
def scenario():
    return drift_scenario(seed=0, n_rows=4000)


def test_finds_exactly_the_drifted_columns(scenario):
    s = scenario
    r = mlops.drift(s.reference, s.current, columns=s.features, multivariate=False, log=False)
    assert sorted(r.drifted_columns) == sorted(s.drifted_columns)
    assert r.n_tested == len(s.features)
    assert r.share_drifted == pytest.approx(3 / 9)
    assert not r.dataset_drift
    assert r.columns["column"].head(3).tolist() == r.drifted_columns  # most drifted first
    t = r.columns.set_index("column")
    assert set(t["test"]) == {"wasserstein", "jensenshannon"}  # > 1000 rows: distances
    assert t.loc["tenure_months", "cur_missing"] > 0.05 and t.loc["tenure_months", "ref_missing"] == 0
    # configurable dataset-drift share
    assert mlops.drift(s.reference, s.current, columns=s.features, drift_share=0.3,
                       multivariate=False, log=False).dataset_drift


def test_no_drift_when_strength_zero():
    s = drift_scenario(seed=2, n_rows=3000, strength=0)
    r = mlops.drift(s.reference, s.current, columns=s.features, seed=0, log=False)
    assert r.drifted_columns == []
    assert not r.dataset_drift and not r.multivariate_drift


def test_small_samples_use_p_value_tests_and_corrections():
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({f"x{i}": rng.normal(0, 1, 300) for i in range(10)})
    cur = pd.DataFrame({f"x{i}": rng.normal(0.25 if i == 0 else 0, 1, 300) for i in range(10)})
    cur["x0"] += 0.0
    raw = mlops.drift(ref, cur, multivariate=False, log=False)
    assert set(raw.columns["test"]) == {"ks"}
    bonf = mlops.drift(ref, cur, correction="bonferroni", multivariate=False, log=False)
    bh = mlops.drift(ref, cur, correction="bh", multivariate=False, log=False)
    p = raw.columns.set_index("column")["p_value"]
    pb = bonf.columns.set_index("column")["p_adjusted"]
    assert np.allclose(pb[p.index], np.minimum(p * 10, 1.0))
    ph = bh.columns.set_index("column")["p_adjusted"][p.index]
    assert (ph >= p - 1e-15).all() and (ph <= pb[p.index] + 1e-15).all()
    assert bonf.n_drifted <= bh.n_drifted <= raw.n_drifted


def test_threshold_and_method_per_column():
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"a": rng.normal(0, 1, 2000), "b": rng.normal(0, 1, 2000)})
    cur = pd.DataFrame({"a": rng.normal(0.05, 1, 2000), "b": rng.normal(0.05, 1, 2000)})
    r = mlops.drift(ref, cur, method={"a": "psi"}, threshold={"b": 0.01},
                    multivariate=False, log=False).columns.set_index("column")
    assert r.loc["a", "test"] == "psi" and r.loc["a", "threshold"] == 0.1
    assert r.loc["b", "test"] == "wasserstein" and r.loc["b", "threshold"] == 0.01
    assert bool(r.loc["b", "drifted"]) is True
    with pytest.raises(OpsInputError, match="does not apply"):
        mlops.drift(ref.assign(c="x"), cur.assign(c="y"), method={"c": "ks"}, log=False)
    with pytest.raises(OpsInputError, match="unknown method"):
        mlops.drift(ref, cur, method="t-test", log=False)


def test_domain_classifier_catches_joint_drift_that_marginals_miss():
    # identical N(0,1) marginals; the correlation flips from +0.9 to -0.9
    rng = np.random.default_rng(5)
    n = 3000
    cov_r, cov_c = [[1, 0.9], [0.9, 1]], [[1, -0.9], [-0.9, 1]]
    ref = pd.DataFrame(rng.multivariate_normal([0, 0], cov_r, n), columns=["u", "v"])
    cur = pd.DataFrame(rng.multivariate_normal([0, 0], cov_c, n), columns=["u", "v"])
    r = mlops.drift(ref, cur, seed=0, log=False)
    assert r.drifted_columns == []
    assert r.multivariate_drift
    assert r.multivariate["roc_auc"] > 0.8 > r.multivariate["threshold"]
    assert "domain classifier" in r.summary()
    # same seed, same verdict and numbers
    assert mlops.drift(ref, cur, seed=0, log=False).multivariate == r.multivariate


def test_target_and_prediction_are_reported_not_counted(scenario):
    s = scenario
    r = mlops.drift(s.reference, s.current, columns=s.features, target="target",
                    prediction="prediction", multivariate=False, log=False)
    roles = r.columns.set_index("column")["role"]
    assert roles["target"] == "target" and roles["prediction"] == "prediction"
    assert r.n_tested == len(s.features)
    with pytest.raises(OpsInputError, match="target column 'label'"):
        mlops.drift(s.reference, s.current, target="label", log=False)


def test_charts_are_binned_same_size_for_1k_and_1m_rows():
    def spec_size(n):
        rng = np.random.default_rng(0)
        ref = pd.DataFrame({"x": rng.normal(0, 1, n), "c": rng.choice(list("abcdefgh"), n)})
        cur = pd.DataFrame({"x": rng.normal(0.5, 1, n), "c": rng.choice(list("abcdefgh"), n)})
        r = mlops.drift(ref, cur, multivariate=False, log=False)
        specs = {k: chart_spec(v) for k, v in r.charts().items()}
        return len(json.dumps(specs)), r

    small, _ = spec_size(1000)
    big, r = spec_size(1_000_000)
    assert abs(big - small) / small < 0.1
    assert big < 40_000
    assert len(r.distributions) <= 30 + 21
    # the column's own chart works too, and the result is JSON-serialisable
    chart_spec(r.distribution_chart("x"))
    json.dumps(r.to_payload())


def test_result_html_escapes_hostile_column_names():
    rng = np.random.default_rng(0)
    bad = "<script>alert(1)</script>"
    ref = pd.DataFrame({bad: rng.normal(0, 1, 200)})
    cur = pd.DataFrame({bad: rng.normal(3, 1, 200)})
    r = mlops.drift(ref, cur, multivariate=False, log=False)
    html = r._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
