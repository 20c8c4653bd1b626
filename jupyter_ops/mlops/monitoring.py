"""``monitor``: a model's metrics per time window, degradation flags and retrain advice.

The advice is deliberately simple and explainable: retrain when the watched metric (the KPI)
has been worse than its threshold for ``patience`` consecutive windows up to the latest one.
The threshold is the reference level moved by ``tolerance`` (relative), or an absolute value
you give. The reason names the metric, the threshold, the windows, and which features drifted
in that span (a :func:`~jupyter_ops.mlops.drift` of those rows against the reference).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result

__all__ = ["monitor", "MonitorResult", "CLASSIFICATION_METRICS", "REGRESSION_METRICS"]

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("mae", "rmse", "r2")
#: metrics where lower is better
LOWER_IS_BETTER = {"mae", "rmse"}
#: windows used as the baseline when no reference frame is given
BASELINE_WINDOWS = 3


class MonitorResult(Result):
    """Per-window metrics with the reference level, degradation flags and retrain advice.

    Attributes
    ----------
    metrics : DataFrame
        One row per window: ``window`` (start, UTC), ``rows``, each metric, and for each KPI
        ``<kpi>_degraded``.
    reference_level : dict
        Metric -> value on the reference (or on the first windows when there is none).
    thresholds : dict
        KPI -> threshold that counts as degraded.
    retrain : bool
        True when a KPI was degraded in the last ``patience`` (or more) consecutive windows.
    reason : str
        Why (or why not), in one paragraph.
    span_drift : DriftResult or None
        Drift of the degraded span against the reference.
    """

    kind = "monitor"

    def __init__(self, metrics: pd.DataFrame, task: str, kpis: list[str],
                 reference_level: dict[str, float], thresholds: dict[str, float],
                 retrain: bool, reason: str, span: tuple[Any, Any] | None,
                 span_drift: Any, params: dict[str, Any]) -> None:
        super().__init__()
        self.metrics = metrics
        self.task = task
        self.kpis = kpis
        self.reference_level = reference_level
        self.thresholds = thresholds
        self.retrain = retrain
        self.reason = reason
        self.span = span
        self.span_drift = span_drift
        self.params = params

    @property
    def title(self) -> str:
        return "Model monitoring"

    @property
    def drifted_features(self) -> list[str]:
        return list(self.span_drift.drifted_columns) if self.span_drift is not None else []

    def summary(self) -> str:
        return ("Retrain advised: " if self.retrain else "No retrain needed: ") + self.reason

    def figures(self) -> list[dict[str, Any]]:
        figs = [{"label": "retrain", "value": "yes" if self.retrain else "no",
                 "status": "bad" if self.retrain else "ok"}]
        valid = self.metrics[self.metrics["rows"] > 0]
        for k in self.kpis:
            last = valid[k].dropna()
            figs.append({"label": f"{k} (latest window)",
                         "value": round(float(last.iloc[-1]), 4) if len(last) else None,
                         "hint": f"reference {self.reference_level.get(k, float('nan')):.4f}, "
                                 f"threshold {self.thresholds[k]:.4f}",
                         "status": "bad" if len(last) and bool(valid[f"{k}_degraded"].iloc[-1]) else "ok"})
        figs.append({"label": "windows", "value": int(len(self.metrics))})
        return figs

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"metrics": self.metrics}
        if self.span_drift is not None:
            out["drift_in_degraded_span"] = self.span_drift.columns
        return out

    def charts(self) -> dict[str, Any]:
        import altair as alt

        ytitle = ", ".join(self.kpis)
        cols = ["window"] + list(self.kpis)
        d = self.metrics[cols].melt(id_vars="window", var_name="metric", value_name="value")
        flags = self.metrics[["window"] + [f"{k}_degraded" for k in self.kpis]].melt(
            id_vars="window", var_name="metric", value_name="degraded")
        flags["metric"] = flags["metric"].str.replace("_degraded", "", regex=False)
        d = d.merge(flags, on=["window", "metric"])
        line = alt.Chart(d).mark_line(point=True).encode(
            x=alt.X("window:T", title=None),
            y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=ytitle),
            color=alt.Color("metric:N"),
            tooltip=[alt.Tooltip("window:T"), "metric", alt.Tooltip("value:Q", format=".3f"),
                     "degraded"])
        pts = alt.Chart(d[d["degraded"]]).mark_point(color="#e45756", size=90, filled=True) \
            .encode(x="window:T", y="value:Q")
        th = pd.DataFrame({"metric": list(self.thresholds),
                           "threshold": list(self.thresholds.values()),
                           "reference": [self.reference_level.get(k) for k in self.thresholds]})
        rule = alt.Chart(th).mark_rule(color="#e45756", strokeDash=[5, 3]).encode(
            y=alt.Y("threshold:Q", title=ytitle), tooltip=["metric", alt.Tooltip("threshold:Q", format=".3f")])
        ref = alt.Chart(th).mark_rule(color="#59636e").encode(
            y=alt.Y("reference:Q", title=ytitle), tooltip=["metric", alt.Tooltip("reference:Q", format=".3f")])
        chart = (line + pts + rule + ref).properties(
            width=520, height=220, title="KPI per window (grey: reference level, red dashed: threshold)")
        return {"kpi_over_time": chart}

    def explanations(self) -> list[tuple[str, str]]:
        p = self.params
        return [("Retrain rule",
                 f"A window is degraded when its {', '.join(self.kpis)} is worse than the "
                 f"threshold: the reference level {'minus' if self.kpis[0] not in LOWER_IS_BETTER else 'plus'} "
                 f"{p['tolerance']:.0%} of it (unless kpi= gives absolute thresholds). Windows with "
                 f"fewer than {p['min_rows']} rows are not judged. Retrain is advised when the last "
                 f"{p['patience']} or more judged windows in a row are degraded.")]


def monitor(
    df: pd.DataFrame,
    time: str = "timestamp",
    y_true: str = "target",
    y_pred: str = "prediction",
    y_score: str | None = None,
    window: str = "1D",
    reference: pd.DataFrame | None = None,
    kpi: str | list[str] | dict[str, float] | None = None,
    task: str | None = None,
    tolerance: float = 0.1,
    patience: int = 2,
    min_rows: int = 30,
    features: list[str] | None = None,
    pos_label: Any = None,
    log: bool = True,
) -> MonitorResult:
    """Follow a model's quality over time and say whether to retrain.

    Parameters
    ----------
    df : DataFrame
        Scored production data with the true outcome.
    time, y_true, y_pred : str
        Column names of the timestamp, the label and the model's prediction.
    y_score : str, optional
        Predicted probability of the positive class (adds ROC AUC).
    window : str
        A pandas frequency (``"1D"``, ``"6h"``, ``"W"``).
    reference : DataFrame, optional
        Data where the model was known to be good (e.g. its validation set) with the same
        columns; gives the reference level and the baseline for feature drift. Default: the
        first 3 windows of ``df``.
    kpi : str, list or dict, optional
        Metric(s) that decide retraining (default ``accuracy`` / ``rmse``); a dict gives
        absolute thresholds, e.g. ``{"f1": 0.6}``.
    task : {"classification", "regression"}, optional
        Default: classification when ``y_true`` has at most 2 distinct values or is not
        numeric.
    tolerance : float
        Relative worsening vs the reference level that counts as degraded.
    patience : int
        Consecutive degraded windows (up to the latest) needed to advise retraining.
    min_rows : int
        Windows with fewer rows are reported but not judged.
    features : list of str, optional
        Columns checked for drift in the degraded span (default: all other columns).
    pos_label : optional
        Positive class (default 1 / True / the larger of two labels).
    log : bool
        Log into the active MLflow run, if any.

    Returns
    -------
    MonitorResult
    """
    if not isinstance(df, pd.DataFrame):
        raise OpsInputError(f"monitor() needs a DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise OpsInputError("the frame is empty (0 rows); pass scored data with outcomes")
    need = [c for c in (time, y_true, y_pred, y_score) if c is not None]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise OpsInputError(f"column(s) {missing} not found; the frame has {list(map(str, df.columns))[:20]} "
                            "(set time=, y_true=, y_pred=)")
    if reference is not None:
        rmiss = [c for c in need if c != time and c not in reference.columns]
        if rmiss:
            raise OpsInputError(f"reference lacks column(s) {rmiss}; it has {list(reference.columns)[:20]}")
    if patience < 1:
        raise OpsInputError(f"patience must be at least 1, got {patience}")
    params = {"time": time, "y_true": y_true, "y_pred": y_pred, "y_score": y_score,
              "window": window, "kpi": kpi, "task": task, "tolerance": tolerance,
              "patience": patience, "min_rows": min_rows, "features": features}

    ts = df[time]
    if not pd.api.types.is_datetime64_any_dtype(ts.dtype):
        from ..io._common import to_utc

        # as the loaders read times: text with offsets, epoch s/ms/us/ns by magnitude (not ns)
        ts = to_utc(ts, time, "scored data", allow_missing=True)
    elif getattr(ts.dt, "tz", None) is None:
        ts = ts.dt.tz_localize("UTC")
    work = df.assign(**{time: ts}).dropna(subset=[time, y_true, y_pred]).sort_values(time, kind="stable")
    if not len(work):
        raise OpsInputError(f"no row has {time!r}, {y_true!r} and {y_pred!r} all present")

    yt_all = work[y_true]
    if task is None:
        numeric = pd.api.types.is_numeric_dtype(yt_all.dtype) and not pd.api.types.is_bool_dtype(yt_all.dtype)
        task = "classification" if (not numeric or yt_all.nunique() <= 2) else "regression"
    if task not in ("classification", "regression"):
        raise OpsInputError(f"task must be 'classification' or 'regression', got {task!r}")
    if pos_label is None and task == "classification":
        labels = sorted(pd.unique(pd.concat([yt_all, work[y_pred]])).tolist(), key=str)
        pos_label = 1 if 1 in labels else True if True in labels else labels[-1]
    names = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    if task == "classification" and y_score is None:
        names = names[:-1]
    kpi_abs: dict[str, float] = {}
    if kpi is None:
        kpis = ["accuracy" if task == "classification" else "rmse"]
    elif isinstance(kpi, str):
        kpis = [kpi]
    elif isinstance(kpi, dict):
        kpis, kpi_abs = list(kpi), {k: float(v) for k, v in kpi.items()}
    else:
        kpis = list(kpi)
    bad = [k for k in kpis if k not in names]
    if bad:
        raise OpsInputError(f"unknown kpi {bad}; for {task} use one of {', '.join(names)}")

    try:
        pd.tseries.frequencies.to_offset(window)
        grouper = pd.Grouper(key=time, freq=window)
        work.head(1).groupby(grouper).size()
    except (ValueError, TypeError) as e:
        raise OpsInputError(f"window {window!r} is not a pandas frequency (e.g. '1D', '6h', 'W'): {e}")
    metrics = _window_metrics(work, grouper, time, y_true, y_pred, y_score, task, pos_label, names)

    # reference level
    if reference is not None:
        base_rows = reference.dropna(subset=[y_true, y_pred])
        ref_level = _metrics(base_rows, y_true, y_pred, y_score, task, pos_label, names)
        base_note = f"the reference ({len(base_rows):,} rows)"
    else:
        judged = metrics[metrics["rows"] >= min_rows]
        first = judged["window"].head(BASELINE_WINDOWS)
        if not len(first):
            raise OpsInputError(f"no window has {min_rows} rows; use a longer window= or a smaller min_rows=")
        base_rows = work[work[time] < first.iloc[-1] + pd.tseries.frequencies.to_offset(window)]
        ref_level = _metrics(base_rows, y_true, y_pred, y_score, task, pos_label, names)
        base_note = f"the first {len(first)} window(s)"
    thresholds = {}
    for k in kpis:
        if k in kpi_abs:
            thresholds[k] = kpi_abs[k]
        elif k in LOWER_IS_BETTER:
            thresholds[k] = ref_level[k] * (1 + tolerance)
        else:
            thresholds[k] = ref_level[k] * (1 - tolerance)
    judged_mask = metrics["rows"] >= min_rows
    for k in kpis:
        v = metrics[k]
        worse = v > thresholds[k] if k in LOWER_IS_BETTER else v < thresholds[k]
        metrics[f"{k}_degraded"] = (worse & judged_mask & v.notna()).astype(bool)

    # the trailing run of degraded windows (any KPI), counted over judged windows
    judged = metrics[judged_mask]
    run = 0
    for _, r in judged.iloc[::-1].iterrows():
        if any(r[f"{k}_degraded"] for k in kpis):
            run += 1
        else:
            break
    retrain = run >= patience
    span = None
    span_drift = None
    if run:
        span_rows = judged.iloc[len(judged) - run:]
        span = (span_rows["window"].iloc[0], span_rows["window"].iloc[-1])
        span_end = span[1] + pd.tseries.frequencies.to_offset(window)
        in_span = work[(work[time] >= span[0]) & (work[time] < span_end)]
        feats = features if features is not None else [
            c for c in df.columns if c not in (time, y_true, y_pred, y_score)]
        base = reference if reference is not None else base_rows
        feats = [c for c in feats if c in base.columns]
        if feats and len(in_span) >= 20:
            from .driftcheck import drift

            span_drift = drift(base[feats], in_span[feats], multivariate=False, log=False)
    reason = _reason(metrics, kpis, thresholds, ref_level, run, patience, span, span_drift,
                     base_note, tolerance, kpi_abs, window)
    result = MonitorResult(metrics, task, kpis, ref_level, thresholds, retrain, reason, span,
                           span_drift, params)
    from ..provenance import make_provenance

    result.provenance = make_provenance("jupyter_ops.mlops.monitor", params,
                                        {"df": df, "reference": reference}, None)
    if log:
        from .driftcheck import log_to_mlflow

        log_to_mlflow(result)
    return result


def _reason(metrics: pd.DataFrame, kpis: list[str], thresholds: dict[str, float],
            ref: dict[str, float], run: int, patience: int, span: Any, span_drift: Any,
            base_note: str, tolerance: float, kpi_abs: dict[str, float], window: str) -> str:
    def how(k: str) -> str:
        if k in kpi_abs:
            return f"{thresholds[k]:.3f} (given)"
        sign = "+" if k in LOWER_IS_BETTER else "-"
        return f"{thresholds[k]:.3f} (reference {ref[k]:.3f} {sign} {tolerance:.0%})"

    if not run:
        k = kpis[0]
        last = metrics[k].dropna()
        now = f"{last.iloc[-1]:.3f}" if len(last) else "n/a"
        return (f"{k} is {now} in the latest window, within its threshold {how(k)}; "
                f"reference level from {base_note}.")
    span_rows = metrics[(metrics["window"] >= span[0]) & (metrics["window"] <= span[1])]
    parts = []
    for k in kpis:
        d = span_rows[f"{k}_degraded"]
        if d.any():
            worst = span_rows.loc[d, k]
            w = worst.max() if k in LOWER_IS_BETTER else worst.min()
            verb = "rose above" if k in LOWER_IS_BETTER else "fell below"
            parts.append(f"{k} {verb} {how(k)}, worst {w:.3f},")
    fmt = "%Y-%m-%d %H:%M" if pd.tseries.frequencies.to_offset(window).nanos < 86400e9 else "%Y-%m-%d"
    when = (f"in the last {run} consecutive {window} window(s), "
            f"{span[0].strftime(fmt)} to {span[1].strftime(fmt)}")
    text = " and ".join(parts) + " " + when
    if run < patience:
        text += f" (fewer than patience={patience}: keep watching)"
    if span_drift is not None:
        drifted = span_drift.drifted_columns
        if drifted:
            t = span_drift.columns.set_index("column")
            detail = ", ".join(f"{c} ({t.loc[c, 'test']} {t.loc[c, 'statistic']:.2f})" for c in drifted[:6])
            text += f". Features drifted in that span: {detail}"
        else:
            text += ". No feature drifted in that span (look for concept drift: the relation to the label changed)"
    return text + "."


def _window_metrics(work: pd.DataFrame, grouper: Any, time: str, y_true: str, y_pred: str,
                    y_score: str | None, task: str, pos_label: Any,
                    names: tuple[str, ...]) -> pd.DataFrame:
    """All windows' metrics with grouped sums (no Python loop over windows)."""
    ts = work[time].reset_index(drop=True)  # keeps the tz-aware dtype (to_numpy would box)
    if task == "regression":
        yt = pd.to_numeric(work[y_true], errors="coerce").to_numpy(dtype="float64")
        yp = pd.to_numeric(work[y_pred], errors="coerce").to_numpy(dtype="float64")
        ok = np.isfinite(yt) & np.isfinite(yp)
        err = np.where(ok, yp - yt, np.nan)
        f = pd.DataFrame({time: ts, "ok": ok, "ae": np.abs(err),
                          "se": err ** 2, "y": np.where(ok, yt, np.nan)})
        g = f.groupby(grouper)
        n_ok = g["ok"].sum().astype("float64")
        out = pd.DataFrame({"rows": g.size()})
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mae"] = g["ae"].sum() / n_ok.where(n_ok > 0)
            out["rmse"] = np.sqrt(g["se"].sum() / n_ok.where(n_ok > 0))
            sst = g["y"].var(ddof=0) * n_ok
            out["r2"] = 1.0 - g["se"].sum() / sst.where(sst > 0)
    else:
        t = (work[y_true] == pos_label).to_numpy()
        p = (work[y_pred] == pos_label).to_numpy()
        f = pd.DataFrame({time: ts, "t": t, "tp": t & p, "p": p,
                          "correct": (work[y_true].to_numpy() == work[y_pred].to_numpy())})
        g = f.groupby(grouper)
        sums = g[["t", "tp", "p", "correct"]].sum().astype("float64")
        n = g.size()
        out = pd.DataFrame({"rows": n})
        with np.errstate(invalid="ignore", divide="ignore"):
            out["accuracy"] = sums["correct"] / n.where(n > 0)
            prec = (sums["tp"] / sums["p"]).fillna(0.0)
            rec = (sums["tp"] / sums["t"]).fillna(0.0)
            out["precision"] = prec.where(n > 0)
            out["recall"] = rec.where(n > 0)
            out["f1"] = (2 * prec * rec / (prec + rec)).fillna(0.0).where(n > 0)
        if "roc_auc" in names:
            sc = pd.to_numeric(work[y_score], errors="coerce").to_numpy(dtype="float64")
            ok = np.isfinite(sc)
            h = pd.DataFrame({time: ts[ok].reset_index(drop=True), "s": sc[ok], "t": t[ok]})
            hg = h.groupby(grouper)
            ranks = hg["s"].rank()  # average ranks within each window (ties shared)
            h["rt"] = ranks.to_numpy() * h["t"].to_numpy()
            hg = h.groupby(grouper)
            n1 = hg["t"].sum().astype("float64")
            n0 = hg.size().astype("float64") - n1
            auc = (hg["rt"].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
            out["roc_auc"] = auc.where((n1 > 0) & (n0 > 0)).reindex(out.index)
    out.index.name = "window"
    return out.reset_index()[["window", "rows", *names]]


def _metrics(g: pd.DataFrame, y_true: str, y_pred: str, y_score: str | None, task: str,
             pos_label: Any, names: tuple[str, ...]) -> dict[str, float]:
    nan = float("nan")
    if not len(g):
        return dict.fromkeys(names, nan)
    if task == "regression":
        yt = pd.to_numeric(g[y_true], errors="coerce").to_numpy(dtype="float64")
        yp = pd.to_numeric(g[y_pred], errors="coerce").to_numpy(dtype="float64")
        ok = np.isfinite(yt) & np.isfinite(yp)
        yt, yp = yt[ok], yp[ok]
        if not len(yt):
            return dict.fromkeys(names, nan)
        err = yp - yt
        ss_tot = float(np.sum((yt - yt.mean()) ** 2))
        return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
                "r2": 1.0 - float(np.sum(err ** 2)) / ss_tot if ss_tot > 0 else nan}
    t = (g[y_true] == pos_label).to_numpy()
    p = (g[y_pred] == pos_label).to_numpy()
    tp = float(np.sum(t & p))
    fp = float(np.sum(~t & p))
    fn = float(np.sum(t & ~p))
    acc = float(np.mean(g[y_true].to_numpy() == g[y_pred].to_numpy()))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    out = {"accuracy": acc, "precision": prec, "recall": rec, "f1": f1}
    if "roc_auc" in names:
        s = pd.to_numeric(g[y_score], errors="coerce").to_numpy(dtype="float64")
        ok = np.isfinite(s)
        out["roc_auc"] = _auc(t[ok], s[ok])
    return out


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula (ties get average ranks), NaN with one class only."""
    from scipy.stats import rankdata

    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
