"""``drift_scenario``: a reference and a current frame with known, labelled drift.

The story: a churn model was trained on four weeks of customer data (the *reference*). Two
weeks of production data follow (the *current* period). Partway through the current period
(``drift_start``) the world changes, gradually: customers get older, incomes spread out, new
plans appear, tenure goes missing for some rows, and the relation between the features and
churn moves (concept drift), so the model's accuracy falls window after window. Everything is
generated from one seed; ``.truth`` says which columns drifted and how.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import OpsInputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["drift_scenario", "DriftScenario"]

#: columns that are model inputs (the rest are time, label and model outputs)
FEATURES = ["customer_age", "income", "tenure_months", "num_products", "balance",
            "credit_score", "plan", "region", "channel"]
NUMERIC = ["customer_age", "income", "tenure_months", "num_products", "balance", "credit_score"]
CATEGORICAL = ["plan", "region", "channel"]


@dataclass
class DriftScenario:
    """Generated reference and current data with ground truth.

    Attributes
    ----------
    reference : DataFrame
        The training period: ``timestamp`` (UTC), the features, ``target`` (0/1 churn),
        the model's ``score`` (probability) and ``prediction`` (0/1).
    current : DataFrame
        The production period, same columns, with drift from ``drift_start`` on.
    truth : DataFrame
        One row per feature: ``column``, ``kind`` (numeric/categorical), ``how`` (``shift``,
        ``scale``, ``new_categories``, ``missing`` or ``none``), ``distribution_drift`` (the
        values' distribution changed: a drift test should flag it), ``quality_issue`` (a data
        quality check should flag it) and ``detail``.
    drift_start : Timestamp
        When the drift begins inside the current period (effects ramp up linearly after it).
    seed : int
    features, numeric, categorical : list of str
        Column roles, for convenience.
    """

    reference: pd.DataFrame
    current: pd.DataFrame
    truth: pd.DataFrame
    drift_start: Any
    seed: int
    strength: float
    features: list[str]
    numeric: list[str]
    categorical: list[str]

    @property
    def drifted_columns(self) -> list[str]:
        """Columns whose value distribution drifted (what :func:`mlops.drift` should find)."""
        return self.truth.loc[self.truth["distribution_drift"], "column"].tolist()

    @property
    def quality_columns(self) -> list[str]:
        """Columns with a data quality issue (what :func:`mlops.check_quality` should find)."""
        return self.truth.loc[self.truth["quality_issue"], "column"].tolist()

    def __repr__(self) -> str:
        return (f"DriftScenario(seed={self.seed}, reference={len(self.reference):,} rows, "
                f"current={len(self.current):,} rows, drifted={self.drifted_columns})")


def drift_scenario(
    seed: int = 0,
    n_rows: int = 5000,
    n_current: int | None = None,
    start: str = "2026-01-05",
    reference_days: int = 28,
    current_days: int = 14,
    drift_start: float = 0.3,
    strength: float = 1.0,
) -> DriftScenario:
    """Generate a churn dataset whose current period drifts in known ways.

    Parameters
    ----------
    seed : int
        Seed of every random draw; the same arguments give identical frames.
    n_rows : int
        Rows of the reference frame (and of the current frame unless ``n_current``).
    n_current : int, optional
        Rows of the current frame (default ``n_rows``).
    start : str
        First day of the reference period (UTC).
    reference_days, current_days : int
        Length of the two periods; the current period directly follows the reference.
    drift_start : float
        Where in the current period the drift begins, as a fraction (0 = at once).
    strength : float
        Scales every drift effect; ``0`` gives a current period drawn from the same
        distribution as the reference (no drift, ``truth`` all False).

    Returns
    -------
    DriftScenario

    Notes
    -----
    Injected changes (at full strength, reached at the end of the current period; they ramp
    up linearly from ``drift_start``):

    * ``customer_age``: mean shift of +15 years (``shift``);
    * ``income``: log-normal sigma from 0.45 to 1.0, i.e. the spread widens (``scale``);
    * ``plan``: categories ``student`` and ``family`` appear and take ~45% (``new_categories``);
    * ``tenure_months``: up to 40% of values missing, completely at random (``missing``: the
      observed values keep their distribution, so this is a quality issue, not a
      distribution drift);
    * the label: churn comes to depend on ``plan``/``customer_age`` differently than when the
      model was trained (concept drift), so accuracy falls over time.

    ``num_products``, ``balance``, ``credit_score``, ``region`` and ``channel`` do not change.

    Examples
    --------
    >>> from jupyter_ops.datasets import drift_scenario
    >>> s = drift_scenario(seed=1, n_rows=2000)
    >>> s.drifted_columns
    ['customer_age', 'income', 'plan']
    """
    import numpy as np
    import pandas as pd

    if int(n_rows) < 10:
        raise OpsInputError(f"n_rows must be at least 10, got {n_rows}")
    n_ref = int(n_rows)
    n_cur = n_ref if n_current is None else int(n_current)
    if n_cur < 10:
        raise OpsInputError(f"n_current must be at least 10, got {n_current}")
    if not 0.0 <= float(drift_start) < 1.0:
        raise OpsInputError(f"drift_start is a fraction of the current period in [0, 1), got {drift_start}")
    if reference_days < 1 or current_days < 1:
        raise OpsInputError("reference_days and current_days must be at least 1")
    if strength < 0:
        raise OpsInputError(f"strength must be >= 0, got {strength}")

    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start, tz="UTC")
    t_split = t0 + pd.Timedelta(days=reference_days)
    t_end = t_split + pd.Timedelta(days=current_days)
    t_drift = t_split + (t_end - t_split) * float(drift_start)

    def times(n: int, a: pd.Timestamp, b: pd.Timestamp) -> pd.DatetimeIndex:
        span = (b - a).value // 1_000_000_000  # whole seconds: readable timestamps
        offs = np.sort(rng.integers(0, span, size=n)) * 1_000_000_000
        return pd.DatetimeIndex(a.value + offs).tz_localize("UTC").as_unit("ns")

    ref_t = times(n_ref, t0, t_split)
    cur_t = times(n_cur, t_split, t_end)
    # ramp: 0 before drift_start, growing linearly to `strength` at the end of the period
    frac = (cur_t.asi8 - t_drift.value) / max(t_end.value - t_drift.value, 1)
    ramp = np.clip(frac, 0.0, 1.0) * float(strength)
    zero = np.zeros(n_ref)

    plans_ref = np.array(["basic", "plus", "premium"])
    plans_new = np.array(["student", "family"])

    def features(n: int, w: np.ndarray) -> dict[str, Any]:
        age = rng.normal(40.0, 10.0, n) + 15.0 * w
        income = np.exp(10.6 + rng.standard_normal(n) * (0.45 + 0.55 * w))
        tenure = rng.gamma(2.0, 18.0, n).round(0)
        tenure[rng.random(n) < 0.40 * np.minimum(w, 1.0)] = np.nan
        products = rng.poisson(1.8, n) + 1
        balance = rng.normal(2500.0, 900.0, n).round(2)
        credit = np.clip(rng.normal(660.0, 70.0, n), 300, 850).round(0)
        plan = plans_ref[rng.choice(3, size=n, p=[0.5, 0.35, 0.15])]
        newp = rng.random(n) < 0.45 * np.minimum(w, 1.0)
        plan = np.where(newp, plans_new[rng.integers(0, 2, n)], plan)
        region = np.array(["north", "south", "east", "west"])[rng.choice(4, n, p=[.3, .3, .2, .2])]
        channel = np.array(["web", "app", "store"])[rng.choice(3, n, p=[.45, .4, .15])]
        return {"customer_age": age.round(1), "income": income.round(2), "tenure_months": tenure,
                "num_products": products.astype("int64"), "balance": balance,
                "credit_score": credit.astype("int64"), "plan": plan, "region": region,
                "channel": channel}

    def model_logit(f: dict[str, Any]) -> np.ndarray:
        # the "trained model": the relation that held in the reference period
        tenure = np.nan_to_num(f["tenure_months"], nan=36.0)
        plan_eff = np.select([f["plan"] == "basic", f["plan"] == "premium"], [0.8, -1.2], 0.0)
        return (-0.4 + 0.09 * (f["customer_age"] - 40.0) - 0.05 * (tenure - 36.0)
                + 0.6 * (f["num_products"] - 2.8) - 0.012 * (f["credit_score"] - 660.0)
                + plan_eff)

    def true_logit(f: dict[str, Any], w: np.ndarray) -> np.ndarray:
        # concept drift: age stops protecting/hurting the same way, channel "app" starts to churn
        base = model_logit(f)
        new = (-0.4 - 0.09 * (f["customer_age"] - 40.0) + 0.05 * (np.nan_to_num(
            f["tenure_months"], nan=36.0) - 36.0) + 1.5 * (f["channel"] == "app")
            - 0.6 * (f["num_products"] - 2.8))
        k = np.minimum(w, 1.0)
        return (1.0 - k) * base + k * new

    def frame(t: pd.DatetimeIndex, w: np.ndarray) -> pd.DataFrame:
        f = features(len(t), w)
        p_true = 1.0 / (1.0 + np.exp(-true_logit(f, w)))
        target = (rng.random(len(t)) < p_true).astype("int64")
        score = 1.0 / (1.0 + np.exp(-model_logit(f)))
        df = pd.DataFrame({"timestamp": t, **f})
        df["target"] = target
        df["score"] = score.round(6)
        df["prediction"] = (score >= 0.5).astype("int64")
        return df

    reference = frame(ref_t, zero)
    current = frame(cur_t, ramp)

    on = strength > 0
    truth = pd.DataFrame(
        [
            ("customer_age", "numeric", "shift" if on else "none", on, False,
             f"mean +{15 * strength:g} years at full strength"),
            ("income", "numeric", "scale" if on else "none", on, False,
             f"log-normal sigma 0.45 -> {0.45 + 0.55 * strength:g}"),
            ("tenure_months", "numeric", "missing" if on else "none", False, on,
             f"up to {40 * min(strength, 1):g}% missing completely at random"),
            ("num_products", "numeric", "none", False, False, "unchanged"),
            ("balance", "numeric", "none", False, False, "unchanged"),
            ("credit_score", "numeric", "none", False, False, "unchanged"),
            ("plan", "categorical", "new_categories" if on else "none", on, on,
             f"'student' and 'family' appear, up to {45 * min(strength, 1):g}% of rows"),
            ("region", "categorical", "none", False, False, "unchanged"),
            ("channel", "categorical", "none", False, False, "unchanged"),
        ],
        columns=["column", "kind", "how", "distribution_drift", "quality_issue", "detail"],
    )
    return DriftScenario(reference=reference, current=current, truth=truth, drift_start=t_drift,
                         seed=seed, strength=float(strength), features=list(FEATURES),
                         numeric=list(NUMERIC), categorical=list(CATEGORICAL))
