"""The drift statistics equal scipy's (to 1e-9) on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from jupyter_ops import mlops
from jupyter_ops.mlops.stattests import (
    chi2_test,
    counted,
    js_distance,
    ks_test,
    psi,
    wasserstein,
    wasserstein_normed,
)


@pytest.mark.parametrize("n1,n2", [(40, 55), (900, 1200), (8000, 9000), (30000, 20000)])
def test_ks_equals_scipy(n1, n2):
    rng = np.random.default_rng(n1)
    x = rng.normal(0, 1, n1).round(2)  # ties on purpose
    y = rng.normal(0.03, 1.05, n2).round(2)
    d, p = ks_test(counted(x), counted(y))
    ref = stats.ks_2samp(x, y)
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n1,n2", [(30, 70), (5000, 4000)])
def test_wasserstein_equals_scipy(n1, n2):
    rng = np.random.default_rng(7)
    x, y = rng.exponential(2.0, n1), rng.exponential(2.5, n2).round(1)
    assert wasserstein(counted(x), counted(y)) == pytest.approx(
        stats.wasserstein_distance(x, y), rel=1e-9, abs=1e-12)
    # Evidently's normed variant: divided by the reference's population std
    assert wasserstein_normed(counted(x), counted(y)) == pytest.approx(
        stats.wasserstein_distance(x, y) / np.std(x), rel=1e-9)


def test_chi2_equals_scipy_contingency():
    ref, cur = np.array([120, 80, 40, 10]), np.array([100, 95, 30, 25])
    stat, p, dof = chi2_test(ref, cur)
    s2, p2, dof2, _ = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert (stat, dof) == (pytest.approx(s2, rel=1e-9), dof2)
    assert p == pytest.approx(p2, rel=1e-9)
    # binary column: same p-value as the two-proportion z-test (z^2 = chi^2)
    stat, p, _ = chi2_test(np.array([300, 700]), np.array([350, 650]))
    p1, p2_, n1, n2 = 0.3, 0.35, 1000, 1000
    pool = (300 + 350) / 2000
    z = (p1 - p2_) / np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


def test_js_and_psi():
    a, b = np.array([50, 30, 20, 0]), np.array([40, 30, 20, 10])
    assert js_distance(a, b) == pytest.approx(jensenshannon(a / a.sum(), b / b.sum()), rel=1e-9)
    r, c = np.array([0.5, 0.3, 0.2, 1e-4]), np.array([0.4, 0.3, 0.2, 0.1])
    assert psi(a, b) == pytest.approx(float(np.sum((c - r) * np.log(c / r))), rel=1e-9)
    assert psi(a, a) == 0.0 and js_distance(a, a) == 0.0


def test_drift_table_reports_scipy_values():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 800), "c": rng.choice(list("abc"), 800)})
    cur = pd.DataFrame({"x": rng.normal(0.4, 1, 700), "c": rng.choice(list("abcd"), 700)})
    r = mlops.drift(ref, cur, multivariate=False, log=False)
    t = r.columns.set_index("column")
    ks = stats.ks_2samp(ref["x"], cur["x"])
    assert t.loc["x", "test"] == "ks"  # <= 1000 reference rows: KS, like Evidently
    assert t.loc["x", "statistic"] == pytest.approx(ks.statistic, abs=1e-12)
    assert t.loc["x", "p_value"] == pytest.approx(ks.pvalue, rel=1e-9)
    table = pd.crosstab(pd.concat([ref["c"], cur["c"]]), np.r_[np.zeros(800), np.ones(700)])
    chi = stats.chi2_contingency(table.T.to_numpy(), correction=False)
    assert t.loc["c", "test"] == "chisquare"
    assert t.loc["c", "statistic"] == pytest.approx(chi.statistic, rel=1e-9)
    assert t.loc["c", "p_value"] == pytest.approx(chi.pvalue, rel=1e-9)
    assert "not in the reference" in t.loc["c", "note"]
    r2 = mlops.drift(ref, cur, method="wasserstein", multivariate=False, log=False)
    t2 = r2.columns.set_index("column")
    assert t2.loc["x", "statistic"] == pytest.approx(
        stats.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"]), rel=1e-9)
    assert t2.loc["c", "test"] == "chisquare"  # wasserstein does not apply: auto
    assert "does not apply" in t2.loc["c", "note"]
