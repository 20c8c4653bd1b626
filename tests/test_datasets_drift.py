"""drift_scenario: deterministic by seed, and its ground truth matches the generated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from jupyter_ops.datasets import drift_scenario
from jupyter_ops.errors import OpsInputError


def test_same_seed_same_frames_other_seed_differs():
    a, b, c = drift_scenario(seed=3, n_rows=800), drift_scenario(seed=3, n_rows=800), \
        drift_scenario(seed=4, n_rows=800)
    pd.testing.assert_frame_equal(a.reference, b.reference)
    pd.testing.assert_frame_equal(a.current, b.current)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.current["customer_age"].equals(c.current["customer_age"])


def test_layout_columns_and_periods():
    s = drift_scenario(seed=0, n_rows=1000, n_current=600)
    assert len(s.reference) == 1000 and len(s.current) == 600
    for df in (s.reference, s.current):
        assert {"timestamp", "target", "prediction", "score", *s.features} <= set(df.columns)
        assert str(df["timestamp"].dt.tz) == "UTC"
        assert df["timestamp"].is_monotonic_increasing
        assert set(df["target"].unique()) <= {0, 1}
    assert s.reference["timestamp"].max() < s.current["timestamp"].min()
    assert s.current["timestamp"].min() <= s.drift_start <= s.current["timestamp"].max()
    assert set(s.truth["column"]) == set(s.features)


def test_truth_matches_data():
    s = drift_scenario(seed=0, n_rows=4000)
    ref, cur = s.reference, s.current
    late = cur[cur["timestamp"] > s.drift_start]
    assert s.drifted_columns == ["customer_age", "income", "plan"]
    assert late["customer_age"].mean() > ref["customer_age"].mean() + 5
    assert np.log(late["income"]).std() > 1.3 * np.log(ref["income"]).std()
    assert set(cur["plan"]) - set(ref["plan"]) == {"student", "family"}
    assert ref["tenure_months"].isna().sum() == 0 and cur["tenure_months"].isna().mean() > 0.05
    # missing completely at random: the observed tenure values keep their distribution
    assert stats.ks_2samp(ref["tenure_months"], cur["tenure_months"].dropna()).pvalue > 0.001
    # unchanged columns really are unchanged
    for col in ("balance", "credit_score", "num_products"):
        assert stats.ks_2samp(ref[col], cur[col]).pvalue > 0.001, col


def test_accuracy_falls_after_drift_start():
    s = drift_scenario(seed=0, n_rows=5000)
    ref_acc = (s.reference["target"] == s.reference["prediction"]).mean()
    cur = s.current
    last = cur[cur["timestamp"] > cur["timestamp"].max() - pd.Timedelta(days=3)]
    assert ref_acc > 0.7
    assert (last["target"] == last["prediction"]).mean() < ref_acc - 0.2


def test_strength_zero_is_no_drift():
    s = drift_scenario(seed=5, n_rows=3000, strength=0)
    assert s.drifted_columns == [] and s.quality_columns == []
    assert set(s.current["plan"]) == set(s.reference["plan"])
    assert s.current["tenure_months"].notna().all()


@pytest.mark.parametrize("kwargs", [{"n_rows": 3}, {"drift_start": 1.5}, {"strength": -1}])
def test_bad_arguments(kwargs):
    with pytest.raises(OpsInputError):
        drift_scenario(**kwargs)
