"""Two-sample drift statistics on counted samples (exact frames or profile sketches).

Every numeric column is reduced once to a :class:`Counted` sample: the sorted distinct
finite values and how often each occurs. From a DataFrame this is exact (one sort); from a
:class:`~jupyter_ops.mlops.Profile` the values are sketch bin representatives. All tests then
share the same code, and with exact samples their results equal scipy's:

* :func:`ks_test`: ``scipy.stats.ks_2samp`` (statistic and p-value, ``method="auto"``);
* :func:`wasserstein`: ``scipy.stats.wasserstein_distance``;
* :func:`chi2_test`: ``scipy.stats.chi2_contingency(table, correction=False)``;
* :func:`js_distance`: ``scipy.spatial.distance.jensenshannon`` (natural log);
* :func:`psi`: the Population Stability Index, ``sum((c - r) * ln(c / r))`` with empty bins
  set to 1e-4 (the convention Evidently also uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Counted", "counted", "ks_test", "wasserstein", "wasserstein_normed", "chi2_test",
           "js_distance", "psi", "TESTS", "P_VALUE_TESTS", "DEFAULT_THRESHOLDS"]

#: tests by name -> the column kinds they apply to
TESTS = {
    "ks": ("numeric",),
    "wasserstein": ("numeric",),
    "chisquare": ("categorical",),
    "psi": ("numeric", "categorical"),
    "jensenshannon": ("numeric", "categorical"),
}
#: tests whose verdict is ``p_value < threshold`` (the others: ``statistic >= threshold``)
P_VALUE_TESTS = {"ks", "chisquare"}
DEFAULT_THRESHOLDS = {"ks": 0.05, "chisquare": 0.05, "wasserstein": 0.1, "psi": 0.1,
                      "jensenshannon": 0.1}
#: scipy's ks_2samp uses the exact distribution when both samples have at most this many rows
KS_EXACT_MAX_N = 10000
PSI_EPS = 1e-4


@dataclass
class Counted:
    """A numeric sample as sorted distinct values with counts.

    ``exact`` is False when the values are sketch representatives (from a profile).
    """

    values: np.ndarray
    counts: np.ndarray
    exact: bool = True
    #: known standard deviation (a profile keeps exact moments while its values are sketched)
    sd: float | None = None

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def n_unique(self) -> int:
        return int(len(self.values))

    def mean(self) -> float:
        return float(np.dot(self.values, self.counts) / self.n)

    def std(self) -> float:
        """Population standard deviation (``ddof=0``, like ``np.std``)."""
        if self.sd is not None:
            return self.sd
        m = self.mean()
        return float(math.sqrt(np.dot(self.counts, (self.values - m) ** 2) / self.n))

    def quantile(self, q: np.ndarray | float) -> np.ndarray:
        """Inverse CDF (the smallest value whose cumulative share reaches ``q``)."""
        cum = np.cumsum(self.counts) / self.n
        idx = np.searchsorted(cum, np.asarray(q, dtype=float) - 1e-12, side="left")
        return self.values[np.clip(idx, 0, len(self.values) - 1)]

    def expand(self) -> np.ndarray:
        return np.repeat(self.values, self.counts)


def counted(x: np.ndarray) -> Counted:
    """Count the finite values of a float array (NaN and infinities must be removed first)."""
    x = np.sort(np.asarray(x, dtype="float64"), kind="quicksort")
    if len(x) == 0:
        return Counted(x, np.zeros(0, dtype="int64"))
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    counts = np.diff(np.r_[starts, len(x)]).astype("int64")
    return Counted(x[starts], counts)


def _cdfs(a: Counted, b: Counted) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The merged support (distinct values, sorted) and both cumulative counts on it."""
    vals = np.concatenate([a.values, b.values])
    # two sorted runs: the stable sort (timsort) merges them in linear time
    order = np.argsort(vals, kind="stable")
    support = vals[order]
    za, zb = np.zeros(len(b.values), "int64"), np.zeros(len(a.values), "int64")
    fa = np.concatenate([a.counts, za])[order].cumsum()
    fb = np.concatenate([zb, b.counts])[order].cumsum()
    # right-continuous CDFs: read each value's counts after its last tie
    last = np.r_[support[1:] != support[:-1], True]
    return support[last], fa[last], fb[last]


def ks_test(a: Counted, b: Counted) -> tuple[float, float]:
    """Two-sided two-sample Kolmogorov-Smirnov test: ``(statistic, p_value)``.

    Same as ``scipy.stats.ks_2samp(x, y)`` (``method="auto"``): exact p-value when both
    samples have at most 10,000 values, else Smirnov's asymptotic distribution
    ``kstwo.sf(D, round(n1 n2 / (n1 + n2)))``.
    """
    from scipy import stats

    n1, n2 = a.n, b.n
    _, fa, fb = _cdfs(a, b)
    diff = fa / n1 - fb / n2
    d = float(max(np.clip(-diff.min(), 0, 1), diff.max()))
    if a.exact and b.exact and max(n1, n2) <= KS_EXACT_MAX_N:
        # small samples: let scipy compute its exact p-value (cheap at this size)
        res = stats.ks_2samp(a.expand(), b.expand())
        return float(res.statistic), float(res.pvalue)
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    p = float(np.clip(stats.distributions.kstwo.sf(d, np.round(en)), 0, 1))
    return d, p


def wasserstein(a: Counted, b: Counted) -> float:
    """First Wasserstein distance (earth mover's distance) between the two samples."""
    support, fa, fb = _cdfs(a, b)
    deltas = np.diff(support)
    return float(np.sum(np.abs(fa[:-1] / a.n - fb[:-1] / b.n) * deltas))


def wasserstein_normed(a: Counted, b: Counted) -> float:
    """Wasserstein distance divided by the reference's standard deviation (min 0.001).

    This is Evidently's ``wasserstein`` stattest: a distance in reference standard
    deviations, so one threshold (0.1) fits every column's scale.
    """
    return wasserstein(a, b) / max(a.std(), 0.001)


def chi2_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float, int]:
    """Pearson chi-squared test of homogeneity on a 2 x k table: ``(statistic, p, dof)``.

    Equals ``scipy.stats.chi2_contingency([ref, cur], correction=False)``. Categories empty
    on both sides are dropped. For k = 2 it gives the same p-value as the two-proportion
    z-test (z squared = chi-squared).
    """
    from scipy import stats

    table = np.vstack([ref_counts, cur_counts]).astype("float64")
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0, 0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    return stat, float(stats.chi2.sf(stat, dof)), dof


def js_distance(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log, in [0, sqrt(ln 2)]) of two count vectors."""
    p = np.asarray(ref_counts, dtype="float64")
    q = np.asarray(cur_counts, dtype="float64")
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0

    def kl(x: np.ndarray) -> float:
        nz = x > 0
        return float(np.sum(x[nz] * np.log(x[nz] / m[nz])))

    return math.sqrt(max((kl(p) + kl(q)) / 2.0, 0.0))


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = PSI_EPS) -> float:
    """Population Stability Index of two count vectors over the same bins."""
    r = np.asarray(ref_counts, dtype="float64")
    c = np.asarray(cur_counts, dtype="float64")
    r = r / r.sum()
    c = c / c.sum()
    r = np.where(r == 0, eps, r)
    c = np.where(c == 0, eps, c)
    return float(np.sum((c - r) * np.log(c / r)))


def bin_counts(s: Counted, edges: np.ndarray) -> np.ndarray:
    """Counts per bin; ``edges`` are interior cut points, bins are ``(-inf, e0], (e0, e1], ...``."""
    cum = np.r_[0, np.cumsum(s.counts)]
    idx = np.searchsorted(s.values, edges, side="right")
    at = np.r_[0, cum[idx], cum[-1]]
    return np.diff(at)
