"""``drift``: which columns moved between a reference and a current dataset, and how much.

Each column is summarised once (one sort for numbers, one count for categories); every test
then runs on that summary, so the check is O(n log n) per column and the reference can be a
saved :class:`~jupyter_ops.mlops.Profile` instead of a frame. A scikit-learn domain classifier
adds a multivariate verdict (joint drift that no single column shows).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result
from . import stattests as st
from ._colstats import (
    MAX_CATEGORIES,
    ColumnStats,
    align_counts,
    epoch_seconds,
    from_series,
    numeric_value_counts,
)

__all__ = ["drift", "DriftResult", "AUTO_SMALL_N", "FEW_UNIQUE"]

#: reference sizes up to this use p-value tests (KS / chi-squared), above it distances
AUTO_SMALL_N = 1000
#: numeric columns with at most this many distinct reference values are treated as categories
FEW_UNIQUE = 5
#: numeric chart bins; categorical charts show this many top categories plus "other"
CHART_BINS = 30
CHART_TOP = 20
#: categorical columns with more distinct values than half their rows (and at least this many
#: rows) look like identifiers and are skipped
ID_MIN_ROWS = 100
#: the domain classifier looks at most this many rows of each side
DOMAIN_SAMPLE = 5000


class DriftResult(Result):
    """What :func:`drift` found.

    Attributes
    ----------
    columns : DataFrame
        One row per tested column, most drifted first: ``column``, ``kind``, ``role``
        (feature/target/prediction), ``test``, ``statistic``, ``p_value`` (KS and chi-squared
        only), ``threshold``, ``drifted``, ``score`` (statistic relative to its threshold: > 1
        means drift), ``ref_missing``/``cur_missing`` (shares), ``n_ref``/``n_cur`` and ``note``.
    skipped : DataFrame
        ``column`` and ``reason`` for every column that was not tested.
    distributions : DataFrame
        Binned shares per column for charts: ``column``, ``order``, ``bin``, ``start``/``end``
        (numeric bins), ``reference``, ``current`` (at most 30 bins or 20 categories + "other").
    share_drifted : float
        Drifted features / tested features (target and prediction are not counted).
    dataset_drift : bool
        ``share_drifted >= drift_share``.
    multivariate : dict or None
        Domain classifier: ``roc_auc``, ``threshold`` (95th percentile of the AUC under
        permuted labels), ``p_value``, ``drifted``, ``rows``, or ``skipped`` with the reason.
    """

    kind = "drift"

    def __init__(self, columns: pd.DataFrame, skipped: pd.DataFrame, distributions: pd.DataFrame,
                 drift_share: float, multivariate: dict[str, Any] | None,
                 params: dict[str, Any]) -> None:
        super().__init__()
        self.columns = columns
        self.skipped = skipped
        self.distributions = distributions
        self.drift_share = float(drift_share)
        self.multivariate = multivariate
        self.params = params
        feats = columns[columns["role"] == "feature"] if len(columns) else columns
        self.n_tested = int(len(feats))
        self.n_drifted = int(feats["drifted"].sum()) if len(feats) else 0
        self.share_drifted = self.n_drifted / self.n_tested if self.n_tested else 0.0
        self.dataset_drift = bool(self.n_tested and self.share_drifted >= self.drift_share)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns (features, target and prediction), most drifted first."""
        return self.columns.loc[self.columns["drifted"], "column"].tolist()

    @property
    def multivariate_drift(self) -> bool:
        return bool(self.multivariate and self.multivariate.get("drifted"))

    @property
    def title(self) -> str:
        return "Data drift"

    def summary(self) -> str:
        verdict = "Dataset drift detected" if self.dataset_drift else "No dataset drift"
        s = (f"{verdict}: {self.n_drifted} of {self.n_tested} features drifted "
             f"({self.share_drifted:.0%}, threshold {self.drift_share:.0%})")
        if self.drifted_columns:
            s += ": " + ", ".join(self.drifted_columns[:6]) + (" ..." if len(self.drifted_columns) > 6 else "")
        if self.multivariate_drift:
            s += f"; the domain classifier also separates the two (ROC AUC {self.multivariate['roc_auc']:.2f})"
        if len(self.skipped):
            s += f"; {len(self.skipped)} column(s) skipped"
        return s

    def figures(self) -> list[dict[str, Any]]:
        figs = [
            {"label": "dataset drift", "value": "yes" if self.dataset_drift else "no",
             "status": "bad" if self.dataset_drift else "ok"},
            {"label": "drifted features", "value": self.n_drifted,
             "hint": f"of {self.n_tested} tested", "status": "warn" if self.n_drifted else "ok"},
            {"label": "share drifted", "value": round(self.share_drifted, 3),
             "hint": f"dataset drift when >= {self.drift_share:g}"},
        ]
        mv = self.multivariate or {}
        if "roc_auc" in mv:
            figs.append({"label": "domain classifier ROC AUC", "value": round(mv["roc_auc"], 3),
                         "hint": f"drift when > {mv['threshold']:.3f} (permutation 95th pct)",
                         "status": "bad" if mv["drifted"] else "ok"})
        if len(self.skipped):
            figs.append({"label": "skipped columns", "value": len(self.skipped), "status": "warn"})
        return figs

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"drift": self.columns}
        if len(self.skipped):
            out["skipped"] = self.skipped
        return out

    def charts(self) -> dict[str, Any]:
        if not len(self.columns):
            return {}
        charts = {"drift_scores": self._score_chart()}
        top = self.columns["column"].head(6).tolist()
        charts["distributions"] = self.distribution_chart(top)
        return charts

    def _score_chart(self) -> Any:
        import altair as alt

        d = self.columns[["column", "test", "score", "drifted"]].copy()
        d["score"] = d["score"].clip(upper=50.0)
        bars = alt.Chart(d).mark_bar().encode(
            y=alt.Y("column:N", sort="-x", title=None),
            x=alt.X("score:Q", title="drift score (statistic / threshold; > 1 = drift)"),
            color=alt.Color("drifted:N", scale=alt.Scale(domain=[False, True],
                                                          range=["#4c78a8", "#e45756"])),
            tooltip=["column", "test", alt.Tooltip("score:Q", format=".2f")])
        rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
        return (bars + rule).properties(width=420, height=alt.Step(16))

    def distribution_chart(self, columns: list[str] | str | None = None) -> Any:
        """Reference vs current shares per bin for the given columns (binned data only).

        Numbers are drawn as two overlaid histograms on the same bins, categories (and numbers
        with at most 30 distinct values) as side-by-side bars.
        """
        import altair as alt

        if isinstance(columns, str):
            columns = [columns]
        cols = columns if columns is not None else self.columns["column"].head(6).tolist()
        d = self.distributions[self.distributions["column"].isin(cols)]
        if not len(d):
            raise OpsInputError(f"no distribution for {cols}; tested columns: "
                                f"{', '.join(self.columns['column'])}")
        charts = [_column_chart(d[d["column"] == c], c) for c in cols if (d["column"] == c).any()]
        if len(charts) == 1:
            return charts[0]
        # one xOffset scale per panel: a shared one takes the narrowest panel's band (the
        # column with the most categories) and makes every other panel's bars hair-thin
        return alt.concat(*charts, columns=2).resolve_scale(xOffset="independent")

    def explanations(self) -> list[tuple[str, str]]:
        p = self.params
        out = [
            ("How the tests were chosen",
             "method='auto' follows Evidently's defaults: with at most "
             f"{AUTO_SMALL_N} reference values a column gets a p-value test (two-sample "
             "Kolmogorov-Smirnov for numbers, chi-squared for categories and for numbers "
             f"with <= {FEW_UNIQUE} distinct values; drift when p < 0.05); with more it gets "
             "a distance (Wasserstein distance in reference standard deviations for numbers, "
             "Jensen-Shannon distance for categories; drift when >= 0.1), because with many "
             "rows every tiny difference becomes 'significant'. "
             f"Method: {p.get('method')!r}; correction: {p.get('correction')!r}."),
            ("Dataset drift",
             f"The dataset drifts when at least {self.drift_share:.0%} of the tested features "
             "drift. Target and prediction columns are tested and shown but not counted."),
        ]
        mv = self.multivariate or {}
        if "roc_auc" in mv:
            out.append(("Domain classifier (multivariate drift)",
                        f"A gradient-boosting classifier, given {mv['rows']:,} sampled rows (half to train, half to test), learned to "
                        f"tell current from reference with ROC AUC {mv['roc_auc']:.3f} on the held-out "
                        f"rows; random relabelling gives at most {mv['threshold']:.3f} in 95% of 200 "
                        f"trials (p = {mv['p_value']:.3f}). An AUC near 0.5 means the periods look "
                        "alike jointly; a high AUC with few drifted columns points to changed "
                        "relations between columns."))
        elif "skipped" in mv:
            out.append(("Domain classifier (multivariate drift)", f"Not run: {mv['skipped']}."))
        return out


def drift(
    reference: Any,
    current: pd.DataFrame,
    columns: list[str] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    method: str | dict[str, str] = "auto",
    threshold: float | dict[str, float] | None = None,
    correction: str | None = None,
    drift_share: float = 0.5,
    multivariate: bool | None = None,
    seed: int = 0,
    log: bool = True,
    engine: str | None = None,
    client: Any = None,
    progress: bool = False,
) -> DriftResult:
    """Compare ``current`` with ``reference`` column by column (and jointly).

    Parameters
    ----------
    reference : DataFrame or Profile
        The data the model was trained on, or its :func:`~jupyter_ops.mlops.profile`.
    current : DataFrame
        The data to check.
    columns : list of str, optional
        Columns to test (default: every column present on both sides except datetime columns;
        name a datetime column here to test it as numbers).
    target, prediction : str, optional
        Label and model-output columns: tested and reported with their role, not counted in
        the share of drifted features.
    method : str or dict
        ``"auto"`` (see Notes), or one of ``ks``, ``wasserstein``, ``chisquare``, ``psi``,
        ``jensenshannon`` for every column, or ``{column: test}``. A global test that does not
        fit a column's kind (KS on categories) falls back to ``auto`` for that column.
    threshold : float or dict, optional
        Drift threshold for every column, or ``{column: threshold}``; default per test: p-value
        tests 0.05, distances 0.1.
    correction : {None, "bonferroni", "bh"}
        Multiple-testing correction of the p-value tests (Benjamini-Hochberg controls the
        false discovery rate). Distances are not corrected.
    drift_share : float
        Dataset drift when at least this share of the tested features drifted.
    multivariate : bool, optional
        Run the domain classifier (default True; with a profile as reference it is skipped
        and ``multivariate`` says why).
    seed : int
        Seed of the domain classifier's sampling, model and permutations.
    log : bool
        Log the result into the active MLflow run, if any.
    engine : {None, "dask"}
        ``"dask"`` (implied when either side is a Dask DataFrame; either side may then also
        be a Parquet/CSV path or a list of them): summarise the partitions on a Dask cluster
        and merge them; the result equals the single-process call (see ``docs/scale.md``).
    client : distributed.Client or str, optional
        The Dask client or scheduler address (default: the current client, if any).
    progress : bool
        Dask only: show a progress bar (the notebook widget in a kernel).

    Returns
    -------
    DriftResult

    Notes
    -----
    ``auto`` per column: numbers with more than 5 distinct reference values and at most 1000
    reference values -> ``ks``; more than 1000 -> ``wasserstein`` (normed). Categories (and
    numbers with <= 5 distinct values): at most 1000 -> ``chisquare``; more -> ``jensenshannon``.
    """
    from ..scale import is_dask, is_summary
    from .profiling import Profile

    if engine is not None or is_dask(reference) or is_dask(current):
        # Dask data: partial summaries per partition, merged, then this function on them
        from ..scale.drift import drift_dask

        return drift_dask(reference, current, engine=engine, client=client, progress=progress,
                          columns=columns, target=target, prediction=prediction, method=method,
                          threshold=threshold, correction=correction, drift_share=drift_share,
                          multivariate=multivariate, seed=seed, log=log)
    t_params = {"columns": columns, "target": target, "prediction": prediction,
                "method": method, "threshold": threshold, "correction": correction,
                "drift_share": drift_share, "multivariate": multivariate, "seed": seed}
    is_profile = isinstance(reference, Profile)
    # merged partition summaries (from jupyter_ops.scale): exact, used like frames
    ref_sum, cur_sum = is_summary(reference), is_summary(current)
    if not is_profile and not ref_sum and not isinstance(reference, pd.DataFrame):
        raise OpsInputError(f"reference must be a DataFrame or a Profile, got {type(reference).__name__}")
    if not cur_sum and not isinstance(current, pd.DataFrame):
        raise OpsInputError(f"current must be a DataFrame, got {type(current).__name__}")
    n_ref_rows = reference.n_rows if is_profile or ref_sum else len(reference)
    if n_ref_rows == 0:
        raise OpsInputError("the reference frame is empty (0 rows); pass the data the model was trained on")
    if len(current) == 0:
        raise OpsInputError("the current frame is empty (0 rows); pass the data to check")
    if correction not in (None, "bonferroni", "bh"):
        raise OpsInputError(f"correction must be None, 'bonferroni' or 'bh', got {correction!r}")
    if not 0 < drift_share <= 1:
        raise OpsInputError(f"drift_share must be in (0, 1], got {drift_share}")
    if isinstance(method, str) and method != "auto" and method not in st.TESTS:
        raise OpsInputError(f"unknown method {method!r}; use 'auto' or one of {', '.join(st.TESTS)}")

    ref_cols = list(reference.columns) if is_profile or ref_sum else [str(c) for c in reference.columns]
    cur_cols = [str(c) for c in current.columns]
    for side, cols in (("reference", ref_cols), ("current", cur_cols)):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise OpsInputError(f"the {side} frame has duplicate column names {dup[:5]}; rename them first")
    if not is_profile and not ref_sum:
        reference = reference.set_axis(ref_cols, axis=1)
    if not cur_sum:
        current = current.set_axis(cur_cols, axis=1)
    explicit = columns is not None
    if explicit:
        wanted = list(dict.fromkeys(columns))
        unknown = [c for c in wanted if c not in ref_cols and c not in cur_cols]
        if unknown:
            raise OpsInputError(f"column(s) {unknown} not found; reference has {ref_cols[:20]}, "
                                f"current has {cur_cols[:20]}")
    else:
        wanted = list(dict.fromkeys(ref_cols + cur_cols))
    for role, name in (("target", target), ("prediction", prediction)):
        if name is not None:
            if name not in ref_cols or name not in cur_cols:
                raise OpsInputError(f"{role} column {name!r} must be in both frames; "
                                    f"reference has {ref_cols[:20]}, current has {cur_cols[:20]}")
            if name not in wanted:
                wanted.append(name)
    if isinstance(method, dict):
        for c, m in method.items():
            if m not in st.TESTS and m != "auto":
                raise OpsInputError(f"unknown method {m!r} for column {c!r}; use one of {', '.join(st.TESTS)}")

    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    dists: list[pd.DataFrame] = []
    pairs: dict[str, tuple[ColumnStats, ColumnStats]] = {}

    def summarise(col: str, ref_s: pd.Series | None, cur_s: pd.Series) -> tuple[Any, ...]:
        """Both sides' summaries, or the reason to skip the column."""
        rs = reference.stats(col) if is_profile or ref_sum else from_series(ref_s)
        forced = False
        if rs.kind == "datetime":
            if not explicit:
                return col, "datetime column: the two periods differ by design; name it in " \
                    "columns= to test it as numbers"
            if is_profile:
                return col, "datetime column in a profile is not summarised"
            forced = True
            rs = reference.stats(col, "numeric") if ref_sum else from_series(ref_s, kind="numeric")
        kind = "numeric" if forced else None
        cs = current.stats(col, kind) if cur_sum else from_series(cur_s, kind=kind)
        reason = _skip_reason(rs, cs)
        return (col, reason) if reason else (col, rs, cs, forced)

    def test(col: str, rs: ColumnStats, cs: ColumnStats, forced: bool) -> tuple[dict, pd.DataFrame]:
        role = "target" if col == target else "prediction" if col == prediction else "feature"
        m = method.get(col, "auto") if isinstance(method, dict) else method
        treat = rs.kind
        if treat == "numeric" and rs.n_unique <= FEW_UNIQUE and m not in ("ks", "wasserstein"):
            treat = "categorical"  # few distinct values: compare them as categories
        note = list(dict.fromkeys(rs.notes + cs.notes))
        if m == "auto" or treat not in st.TESTS[m]:
            if m != "auto":
                if isinstance(method, dict):
                    raise OpsInputError(f"test {m!r} does not apply to {treat} column {col!r}; "
                                        f"use one of {', '.join(t for t, k in st.TESTS.items() if treat in k)}")
                note.append(f"{m} does not apply to {treat} columns: auto")
            small = rs.n_valid <= AUTO_SMALL_N
            if treat == "numeric":
                m = "ks" if small else "wasserstein"
            else:
                m = "chisquare" if small else "jensenshannon"
        thr = _threshold(threshold, col, m)
        stat, p, extra = _run_test(m, treat, rs, cs)
        note += extra
        if rs.n_inf or cs.n_inf:
            note.append(f"{rs.n_inf + cs.n_inf} infinite value(s) left out")
        if rs.kind == "numeric" and rs.sample is not None and rs.n_unique == 1:
            note.append("constant in the reference")
        if not rs.exact and m in ("ks", "wasserstein"):
            note.append("reference from a profile sketch: statistic approximate")
        row = {
            "column": col, "kind": "datetime" if forced else rs.kind, "role": role,
            "test": m, "statistic": stat, "p_value": p, "threshold": thr,
            "ref_missing": rs.missing_share, "cur_missing": cs.missing_share,
            "n_ref": rs.n_valid, "n_cur": cs.n_valid, "note": "; ".join(note),
        }
        return row, _distribution(col, treat, rs, cs)

    def one(col: str) -> tuple[Any, ...]:
        out = summarise(col, None if is_profile or ref_sum else reference[col],
                        None if cur_sum else current[col])
        if len(out) == 2:
            return out
        _, rs, cs, forced = out
        row, dist = test(col, rs, cs, forced)
        return col, rs, cs, row, dist

    both = []
    for col in wanted:
        if col not in ref_cols:
            skipped.append({"column": col, "reason": "only in the current frame"})
        elif col not in cur_cols:
            skipped.append({"column": col, "reason": "only in the reference"})
        else:
            both.append(col)
    # columns are independent and numpy's sorts release the GIL: use the machine's cores
    workers = min(4, os.cpu_count() or 1) if len(current) * len(both) > 200_000 else 1
    from ..progress import progress

    # a bar per column only for large frames (1M cells and up): a small check is instant
    bar_total = len(both) if len(current) * max(len(both), 1) >= 1_000_000 else 0
    with progress(total=bar_total, desc="drift", unit="column", min_total=1) as bar:
        def counted(c: str) -> Any:
            out = one(c)
            bar.update(1)
            return out

        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                outcomes = list(pool.map(counted, both))
        else:
            outcomes = [counted(c) for c in both]
    for out in outcomes:
        if len(out) == 2:
            skipped.append({"column": out[0], "reason": out[1]})
            continue
        col, rs, cs, row, dist = out
        pairs[col] = (rs, cs)
        rows.append(row)
        dists.append(dist)

    table = pd.DataFrame(rows, columns=["column", "kind", "role", "test", "statistic", "p_value",
                                        "threshold", "ref_missing", "cur_missing", "n_ref",
                                        "n_cur", "note"])
    table = _verdicts(table, correction)
    mv = None
    if multivariate is not False:
        if is_profile:
            mv = {"skipped": "the reference is a profile: the domain classifier needs rows"}
        else:
            feats = [c for c, (rs, _) in pairs.items() if c not in (target, prediction)]
            mv = _domain_classifier(reference, current, feats, pairs, seed)
            if mv.get("skipped") == "rows":
                mv = {"skipped": "the partitions' rows cannot be fetched; pass a Dask DataFrame"}
    distributions = pd.concat(dists, ignore_index=True) if dists else pd.DataFrame(
        columns=["column", "order", "bin", "start", "end", "reference", "current"])
    result = DriftResult(table, pd.DataFrame(skipped, columns=["column", "reason"]), distributions,
                         drift_share, mv, t_params)
    from ..provenance import make_provenance

    inputs = {"current": current.fingerprint if cur_sum else current}
    inputs["reference"] = reference.fingerprint if is_profile or ref_sum else reference
    result.provenance = make_provenance("jupyter_ops.mlops.drift", t_params, inputs, seed)
    if log:
        log_to_mlflow(result)
    return result


def log_to_mlflow(result: Result) -> bool:
    """Log into the active MLflow run via the tracking module, when it is available."""
    try:
        from .resultlog import log_result
    except ImportError:  # tracking capability not installed in this tree yet
        return False
    return bool(log_result(result))


def _skip_reason(rs: ColumnStats, cs: ColumnStats) -> str | None:
    for side, s in (("reference", rs), ("current", cs)):
        if s.n_rows and s.n_missing == s.n_rows:
            return f"all values missing in the {side}"
    if rs.kind == "text":
        return "free text (long, mostly unique strings): distribution tests do not apply"
    if rs.kind != cs.kind:
        return f"type changed: reference is {rs.kind} ({rs.dtype}), current is {cs.kind} ({cs.dtype})"
    for side, s in (("reference", rs), ("current", cs)):
        if s.kind == "categorical" and s.n_valid >= ID_MIN_ROWS and s.n_unique > 0.5 * s.n_valid:
            return (f"{s.n_unique:,} distinct values in {s.n_valid:,} {side} rows: looks like an "
                    "identifier; bin or group it first")
        if s.kind == "numeric" and s.n_valid == 0:
            return f"no finite values in the {side} ({s.n_inf} infinite, {s.n_missing} missing)"
        if s.kind == "categorical" and s.too_many:
            return (f"{s.n_unique:,} distinct values in the {side} (more than {MAX_CATEGORIES:,}): "
                    "looks like an identifier; bin or group it first")
    return None


def _threshold(threshold: float | dict[str, float] | None, col: str, test: str) -> float:
    if isinstance(threshold, dict):
        if col in threshold:
            return float(threshold[col])
        return st.DEFAULT_THRESHOLDS[test]
    if threshold is None:
        return st.DEFAULT_THRESHOLDS[test]
    return float(threshold)


def _cat_counts(s: ColumnStats) -> pd.Series:
    return numeric_value_counts(s) if s.kind == "numeric" else s.counts


def _run_test(test: str, treat: str, rs: ColumnStats, cs: ColumnStats) -> tuple[float, float, list[str]]:
    notes: list[str] = []
    if treat == "numeric":
        a, b = rs.sample, cs.sample
        if test == "ks":
            d, p = st.ks_test(a, b)
            return d, p, notes
        if test == "wasserstein":
            return st.wasserstein_normed(a, b), math.nan, notes
        # binned tests on reference deciles (fixed by the reference, so a profile works too)
        edges = np.unique(a.quantile(np.linspace(0.1, 0.9, 9)))
        ra, rb = st.bin_counts(a, edges), st.bin_counts(b, edges)
    else:
        _, ra, rb = align_counts(_cat_counts(rs), _cat_counts(cs))
        new = int(((ra == 0) & (rb > 0)).sum())
        if new:
            notes.append(f"{new} categor{'y' if new == 1 else 'ies'} not in the reference")
        if test == "chisquare":
            stat, p, _ = st.chi2_test(ra, rb)
            return stat, p, notes
    if test == "psi":
        return st.psi(ra, rb), math.nan, notes
    return st.js_distance(ra, rb), math.nan, notes


def _verdicts(table: pd.DataFrame, correction: str | None) -> pd.DataFrame:
    if not len(table):
        table["p_adjusted"] = pd.Series(dtype="float64")
        table["drifted"] = pd.Series(dtype=bool)
        table["score"] = pd.Series(dtype="float64")
        return table
    is_p = table["test"].isin(st.P_VALUE_TESTS).to_numpy()
    p = table["p_value"].to_numpy(dtype="float64")
    adj = p.copy()
    if correction and is_p.any():
        pv = p[is_p]
        m = len(pv)
        if correction == "bonferroni":
            out = np.minimum(pv * m, 1.0)
        else:  # Benjamini-Hochberg step-up
            order = np.argsort(pv)
            ranked = pv[order] * m / np.arange(1, m + 1)
            ranked = np.minimum.accumulate(ranked[::-1])[::-1]
            out = np.empty(m)
            out[order] = np.minimum(ranked, 1.0)
        adj[is_p] = out
    thr = table["threshold"].to_numpy(dtype="float64")
    stat = table["statistic"].to_numpy(dtype="float64")
    drifted = np.where(is_p, adj < thr, stat >= thr)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(is_p, np.log10(np.maximum(adj, 1e-300)) / np.log10(thr),
                         stat / np.where(thr > 0, thr, np.nan))
    table = table.copy()
    if correction:
        table.insert(table.columns.get_loc("p_value") + 1, "p_adjusted", np.where(is_p, adj, np.nan))
    table.insert(table.columns.get_loc("threshold") + 1, "drifted", drifted.astype(bool))
    table.insert(table.columns.get_loc("drifted") + 1, "score", np.nan_to_num(score, nan=0.0))
    return table.sort_values(["drifted", "score"], ascending=[False, False], kind="stable") \
        .reset_index(drop=True)


def _distribution(col: str, treat: str, rs: ColumnStats, cs: ColumnStats) -> pd.DataFrame:
    """Binned shares of both sides: a fixed number of bins, whatever the number of rows.

    Columns: ``column``, ``order``, ``bin`` (label), ``start``/``end`` (numeric bins; NaN for
    categories), ``reference``, ``current`` (shares).
    """
    if treat == "numeric":
        a, b = rs.sample, cs.sample
        if a.n_unique <= CHART_BINS and b.n_unique <= CHART_BINS \
                and len(np.union1d(a.values, b.values)) <= CHART_BINS:
            # few distinct numbers (counts, ratings): one bar per value
            values = np.union1d(a.values, b.values)
            ra = pd.Series(a.counts, index=a.values).reindex(values, fill_value=0).to_numpy() / a.n
            rb = pd.Series(b.counts, index=b.values).reindex(values, fill_value=0).to_numpy() / b.n
            return pd.DataFrame({"column": col, "order": np.arange(len(values)),
                                 "bin": [f"{v:g}" for v in values], "start": np.nan, "end": np.nan,
                                 "reference": ra, "current": rb})
        lo = float(min(a.quantile(0.005), b.quantile(0.005)))
        hi = float(max(a.quantile(0.995), b.quantile(0.995)))
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        cuts = np.linspace(lo, hi, CHART_BINS + 1)
        ra = st.bin_counts(a, cuts[1:-1]) / a.n  # outer bins also hold the tails
        rb = st.bin_counts(b, cuts[1:-1]) / b.n
        return pd.DataFrame({"column": col, "order": np.arange(CHART_BINS),
                             "bin": [f"{x:.4g}" for x in cuts[:-1]], "start": cuts[:-1],
                             "end": cuts[1:], "reference": ra, "current": rb})
    idx, ra, rb = align_counts(_cat_counts(rs), _cat_counts(cs))
    ra, rb = ra / max(ra.sum(), 1), rb / max(rb.sum(), 1)
    order = np.argsort(-(ra + rb), kind="stable")
    keep = order[:CHART_TOP]
    labels = [str(x)[:40] for x in idx[keep]]
    ref_s, cur_s = list(ra[keep]), list(rb[keep])
    if len(order) > CHART_TOP:
        labels.append("(other)")
        ref_s.append(float(ra[order[CHART_TOP:]].sum()))
        cur_s.append(float(rb[order[CHART_TOP:]].sum()))
    return pd.DataFrame({"column": col, "order": np.arange(len(labels)), "bin": labels,
                         "start": np.nan, "end": np.nan, "reference": ref_s, "current": cur_s})


def _column_chart(d: pd.DataFrame, col: str) -> Any:
    import altair as alt

    long = d.melt(id_vars=["order", "bin", "start", "end"], value_vars=["reference", "current"],
                  var_name="side", value_name="share")
    color = alt.Color("side:N", scale=alt.Scale(domain=["reference", "current"],
                                                range=["#4c78a8", "#f58518"]))
    y = alt.Y("share:Q", stack=None, axis=alt.Axis(format="%"), title=None)
    if d["start"].notna().all():
        long = long.drop(columns=["order"])
        chart = alt.Chart(long).mark_bar(opacity=0.55, binSpacing=0).encode(
            x=alt.X("start:Q", bin="binned", title=None), x2="end:Q", y=y, color=color,
            tooltip=["bin", "side", alt.Tooltip("share:Q", format=".1%")])
    else:
        long = long.drop(columns=["start", "end"])
        n = len(d)
        # at least ~16 px per category (a readable pair of bars): panels with many categories
        # grow (up to 420 px) instead of squeezing the bars
        width = int(min(420, max(250, 16 * n)))
        # slant the labels only when they would not fit their band (~7 px per character)
        slanted = 7 * d["bin"].astype(str).str.len().max() > 0.9 * width / max(n, 1)
        chart = alt.Chart(long).mark_bar().encode(
            x=alt.X("bin:N", sort=alt.EncodingSortField("order"), title=None,
                    scale=alt.Scale(paddingInner=0.25),
                    axis=alt.Axis(labelAngle=-45 if slanted else 0, labelLimit=80)),
            xOffset=alt.XOffset("side:N", sort=["reference", "current"],
                                scale=alt.Scale(paddingInner=0.05)),
            y=y, color=color,
            tooltip=["bin", "side", alt.Tooltip("share:Q", format=".1%")])
        return chart.properties(width=width, height=120, title=str(col))
    return chart.properties(width=250, height=120, title=str(col))


def _take(frame: Any, idx: np.ndarray) -> pd.DataFrame:
    """Rows by position: a frame's ``iloc``, or a partition summary's row fetcher."""
    if isinstance(frame, pd.DataFrame):
        return frame.iloc[idx]
    return frame.take_rows(idx)


def _domain_classifier(reference: Any, current: Any, feats: list[str],
                       pairs: dict[str, tuple[ColumnStats, ColumnStats]], seed: int) -> dict[str, Any]:
    """Train a classifier to tell current rows from reference rows; AUC vs a permutation null.

    Half of a balanced sample (at most 5000 rows per side) trains a histogram gradient
    boosting model; its ROC AUC on the other half is compared with the AUCs of 200 random
    relabellings of that half (the 95th percentile is the threshold).
    """
    if not feats:
        return {"skipped": "no testable feature columns"}
    from scipy.stats import rankdata
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    n = min(len(reference), len(current), DOMAIN_SAMPLE)
    if n < 50:
        return {"skipped": f"too few rows for the domain classifier ({n} per side, need 50)"}
    ri = np.sort(rng.choice(len(reference), n, replace=False))
    ci = np.sort(rng.choice(len(current), n, replace=False))
    for side in (reference, current):
        if not isinstance(side, pd.DataFrame) and getattr(side, "take_rows", None) is None:
            return {"skipped": "rows"}
    ref_rows, cur_rows = _take(reference, ri), _take(current, ci)
    parts, cat_mask = [], []
    for c in feats:
        rs, _ = pairs[c]
        r, k = ref_rows[c], cur_rows[c]
        if rs.kind == "numeric":
            x = np.concatenate([_as_float(r), _as_float(k)])
            x[~np.isfinite(x)] = np.nan
            cat_mask.append(False)
        else:
            top = rs.counts.index[:250]  # HistGradientBoosting: < 255 categories
            lookup = pd.Index(top)
            both = pd.concat([r, k], ignore_index=True).astype(str)
            codes = lookup.get_indexer(both).astype("float64")
            codes[codes < 0] = np.nan
            x = codes
            cat_mask.append(True)
        parts.append(x)
    X = np.column_stack(parts)
    y = np.r_[np.zeros(n), np.ones(n)]
    perm = rng.permutation(2 * n)
    train, test = perm[: n], perm[n:]
    model = HistGradientBoostingClassifier(max_iter=100, categorical_features=np.array(cat_mask),
                                           random_state=seed)
    # one thread: OpenMP on a busy small machine oversubscribes and gets ~10x slower
    with threadpool_limits(1):
        model.fit(X[train], y[train])
        score = model.predict_proba(X[test])[:, 1]
    yt = y[test].astype(bool)
    auc = float(roc_auc_score(yt, score))
    # permutation null of the held-out AUC: the scores' ranks stay, the labels are shuffled
    ranks = rankdata(score)
    n1, n0 = int(yt.sum()), int((~yt).sum())
    perms = np.array([rng.permutation(yt) for _ in range(200)])
    null = ((perms * ranks).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    thr = float(np.quantile(null, 0.95))
    return {"roc_auc": auc, "threshold": thr, "p_value": float((1 + (null >= auc).sum()) / 201),
            "drifted": bool(auc > thr), "rows": int(2 * n), "features": len(feats)}


def _as_float(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return epoch_seconds(s)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
