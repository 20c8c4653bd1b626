"""Listing and comparing MLflow runs: :func:`list_runs`, :func:`compare_runs`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import OpsConnectionError, OpsInputError
from ..results import Result
from . import _store

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["list_runs", "compare_runs", "RunComparison"]

#: metric names sorted ascending (smaller is better) when no direction is given
_LOWER_IS_BETTER = re.compile(r"(loss|error|err$|rmse|mse|mae|mape|time|duration|latency)", re.I)

BASE_COLUMNS = ["run_id", "run_name", "experiment", "status", "start_time", "end_time",
                "duration_s"]


def _sort_spec(metric: str) -> tuple[str, bool]:
    """``"rmse"`` -> (``rmse``, ascending); ``"accuracy desc"`` -> (``accuracy``, False)."""
    parts = metric.strip().split()
    name = parts[0]
    if len(parts) > 1 and parts[-1].lower() in ("asc", "desc"):
        return " ".join(parts[:-1]), parts[-1].lower() == "asc"
    return name if len(parts) == 1 else metric.strip(), bool(_LOWER_IS_BETTER.search(name))


def list_runs(experiment: str | None = None, metric: str | None = None, top: int | None = None,
              tracking_uri: str | None = None, max_results: int = 1000) -> pd.DataFrame:
    """Runs of an experiment (or of all experiments) as a DataFrame, newest first.

    Parameters
    ----------
    experiment : str, optional
        Experiment name (or id). None lists the runs of every active experiment.
    metric : str, optional
        Sort by this metric, best first: descending, except for names that look like a loss
        or an error (``loss``, ``rmse``, ``mae``, ...) which sort ascending. Append ``asc`` or
        ``desc`` to choose (``"f1 asc"``). Runs without the metric come last.
    top : int, optional
        Keep only the first ``top`` rows (after sorting).
    tracking_uri : str, optional
        Store to read; default ``MLFLOW_TRACKING_URI`` or MLflow's default.
    max_results : int
        At most this many runs are read from the store.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id, run_name, experiment, status, start_time, end_time, duration_s``,
        then ``metrics.<name>``, ``params.<name>`` and ``tags.<name>`` (as in
        ``mlflow.search_runs``). Times are UTC timestamps.
    """
    import pandas as pd

    if top is not None and int(top) < 1:
        raise OpsInputError(f"top must be at least 1, got {top}")
    uri = _store.resolve_uri(tracking_uri)
    _store.probe(uri)
    c = _store.client(uri)
    try:
        with _store.store_errors(uri):
            exps = _experiments(c, uri, experiment)
        if not exps:
            return pd.DataFrame(columns=BASE_COLUMNS)
        names = {e.experiment_id: e.name for e in exps}
        limit = max_results if (metric or top is None) else min(int(top), max_results)
        runs = c.search_runs(list(names), max_results=limit, order_by=["attributes.start_time DESC"])
    except (OpsInputError, OpsConnectionError):
        raise
    except Exception as e:
        if _store.is_connection_error(e):
            raise OpsConnectionError(f"tracking server {uri} cannot be reached") from None
        raise
    return _runs_frame(runs, names, metric, top)


def _experiments(c: Any, uri: str, experiment: str | None) -> list[Any]:
    if experiment is not None:
        exp = _store.find_experiment(c, experiment)
        if exp is None:
            names = [e.name for e in c.search_experiments(max_results=50)]
            raise OpsInputError(
                f"no experiment {experiment!r} in {_store.display_uri(uri)}; experiments: "
                f"{', '.join(names) or '(none)'}")
        return [exp]
    return list(c.search_experiments(max_results=1000))


def _runs_frame(runs: Any, names: dict[str, str], metric: str | None,
                top: int | None) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for r in runs:
        info, data = r.info, r.data
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment": names.get(info.experiment_id, info.experiment_id),
            "status": info.status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "duration_s": ((info.end_time - info.start_time) / 1000.0
                           if info.end_time and info.start_time else None),
        }
        for k, v in data.metrics.items():
            row[f"metrics.{k}"] = v
        for k, v in data.params.items():
            row[f"params.{k}"] = v
        for k, v in data.tags.items():
            if not k.startswith("mlflow.") or k in ("mlflow.source.name", "mlflow.user"):
                row[f"tags.{k}"] = v
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=BASE_COLUMNS)
    for col in ("start_time", "end_time"):
        df[col] = pd.to_datetime(df[col], unit="ms", utc=True)
    df["duration_s"] = pd.to_numeric(df["duration_s"], errors="coerce")
    # stable column order: base, metrics, params, tags
    rest = sorted(c for c in df.columns if c not in BASE_COLUMNS)
    order = (BASE_COLUMNS + [c for c in rest if c.startswith("metrics.")]
             + [c for c in rest if c.startswith("params.")]
             + [c for c in rest if c.startswith("tags.")])
    df = df[order]
    if metric:
        name, ascending = _sort_spec(metric)
        col = f"metrics.{name}"
        if col not in df.columns:
            found = [c[len("metrics."):] for c in df.columns if c.startswith("metrics.")]
            raise OpsInputError(f"no run logged metric {name!r}; metrics found: "
                                f"{', '.join(found) or '(none)'}")
        df = df.sort_values(col, ascending=ascending, na_position="last", kind="stable")
    if top is not None:
        df = df.head(int(top))
    return df.reset_index(drop=True)


class RunComparison(Result):
    """Side-by-side parameters and metrics of a few runs, with charts.

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per run: ``run_id, label, status, duration_s`` and one column per metric.
    params : pandas.DataFrame
        One row per parameter, one column per run (label), and ``differs``.
    metrics : pandas.DataFrame
        One row per metric, one column per run (label), ``best`` (label of the best run).
    """

    kind = "run_comparison"

    def __init__(self, runs: pd.DataFrame, params: pd.DataFrame, metrics: pd.DataFrame,
                 tracking_uri: str) -> None:
        super().__init__()
        self.runs = runs
        self.params = params
        self.metrics = metrics
        self.tracking_uri = tracking_uri

    @property
    def title(self) -> str:
        return f"Comparison of {len(self.runs)} runs"

    def summary(self) -> str:
        n_diff = int(self.params["differs"].sum()) if len(self.params) else 0
        return (f"{n_diff} of {len(self.params)} parameters differ; "
                f"{len(self.metrics)} metrics compared")

    def figures(self) -> list[dict[str, Any]]:
        figs = [{"label": "runs", "value": len(self.runs)},
                {"label": "params differing",
                 "value": int(self.params["differs"].sum()) if len(self.params) else 0}]
        for _, row in self.metrics.head(3).iterrows():
            figs.append({"label": f"best {row['metric']}", "value": row["best"]})
        return figs

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"metrics": self.metrics, "params": self.params, "runs": self.runs}

    def charts(self) -> dict[str, Any]:
        import altair as alt
        import pandas as pd

        metric_cols = [c for c in self.runs.columns
                       if c not in ("run_id", "label", "status", "duration_s")]
        if not metric_cols:
            return {}
        long = self.runs.melt(id_vars=["label"], value_vars=metric_cols,
                              var_name="metric", value_name="value").dropna()
        bars = alt.Chart(long).mark_bar().encode(
            x=alt.X("label:N", title="run"), y=alt.Y("value:Q"),
            color=alt.Color("label:N", legend=None), column=alt.Column("metric:N"),
            tooltip=["label", "metric", alt.Tooltip("value:Q", format=".4g")],
        ).resolve_scale(y="independent").properties(width=120, height=160)
        charts: dict[str, Any] = {"metric_per_run": bars}
        if len(metric_cols) >= 2:
            # parallel coordinates: each metric scaled to [0, 1] across the runs
            norm = []
            for m in metric_cols:
                s = pd.to_numeric(self.runs[m], errors="coerce")
                lo, hi = s.min(), s.max()
                scaled = (s - lo) / (hi - lo) if hi > lo else s * 0 + 0.5
                norm.append(pd.DataFrame({"label": self.runs["label"], "metric": m,
                                          "scaled": scaled, "value": s}))
            par = pd.concat(norm, ignore_index=True).dropna()
            charts["parallel_coordinates"] = alt.Chart(par).mark_line(point=True).encode(
                x=alt.X("metric:N", sort=metric_cols, title=None),
                y=alt.Y("scaled:Q", title="scaled (min..max over runs)"),
                color="label:N", detail="label:N",
                tooltip=["label", "metric", alt.Tooltip("value:Q", format=".4g")],
            ).properties(width=max(200, 90 * len(metric_cols)), height=200)
        return charts


def compare_runs(run_ids: list[str], metrics: list[str] | None = None,
                 tracking_uri: str | None = None) -> RunComparison:
    """Compare runs side by side: which parameters differ, which run is best per metric.

    Parameters
    ----------
    run_ids : list of str
        Two or more run ids (a single one is allowed and shows that run).
    metrics : list of str, optional
        Metrics to compare (default: every metric any of the runs logged).
    tracking_uri : str, optional
        Store to read; default ``MLFLOW_TRACKING_URI`` or MLflow's default.

    Returns
    -------
    RunComparison
    """
    import pandas as pd

    from ..provenance import make_provenance

    ids = [str(r).strip() for r in run_ids if str(r).strip()]
    if not ids:
        raise OpsInputError("compare_runs needs at least one run id; list runs with %mlops_runs")
    uri = _store.resolve_uri(tracking_uri)
    _store.probe(uri)
    c = _store.client(uri)
    runs = [_store.get_run(c, r) for r in ids]
    labels = []
    for r in runs:
        label = f"{r.info.run_name or 'run'} ({r.info.run_id[:6]})"
        labels.append(label)
    all_metrics = sorted({k for r in runs for k in r.data.metrics})
    if metrics:
        missing = [m for m in metrics if m not in all_metrics]
        if missing:
            raise OpsInputError(f"metric(s) {', '.join(missing)} not logged by these runs; "
                                f"metrics found: {', '.join(all_metrics) or '(none)'}")
        all_metrics = list(metrics)
    run_rows = []
    for r, label in zip(runs, labels, strict=False):
        info = r.info
        row = {"run_id": info.run_id, "label": label, "status": info.status,
               "duration_s": ((info.end_time - info.start_time) / 1000.0
                              if info.end_time and info.start_time else None)}
        for m in all_metrics:
            row[m] = r.data.metrics.get(m)
        run_rows.append(row)
    runs_df = pd.DataFrame(run_rows)
    param_names = sorted({k for r in runs for k in r.data.params})
    prow = []
    for p in param_names:
        values = [r.data.params.get(p) for r in runs]
        row = {"param": p}
        row.update({label: v for label, v in zip(labels, values, strict=False)})
        row["differs"] = len({str(v) for v in values}) > 1
        prow.append(row)
    params_df = pd.DataFrame(prow, columns=["param", *labels, "differs"])
    if len(params_df):
        params_df = params_df.sort_values(["differs", "param"], ascending=[False, True],
                                          kind="stable").reset_index(drop=True)
    mrow = []
    for m in all_metrics:
        values = [r.data.metrics.get(m) for r in runs]
        row = {"metric": m}
        row.update({label: v for label, v in zip(labels, values, strict=False)})
        present = [(v, label) for v, label in zip(values, labels, strict=False) if v is not None]
        best = None
        if present:
            lower = bool(_LOWER_IS_BETTER.search(m))
            best = (min if lower else max)(present, key=lambda t: t[0])[1]
        row["best"] = best
        mrow.append(row)
    metrics_df = pd.DataFrame(mrow, columns=["metric", *labels, "best"])
    result = RunComparison(runs_df, params_df, metrics_df, uri)
    result.provenance = make_provenance("mlops.compare_runs", {"run_ids": ids,
                                                               "metrics": metrics,
                                                               "tracking_uri": uri})
    return result
