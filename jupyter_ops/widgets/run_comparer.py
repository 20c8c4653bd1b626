"""``RunComparer``: pick runs and metrics; the comparison table and charts update.

A thin ipywidgets front end over :func:`jupyter_ops.mlops.list_runs` and
:func:`jupyter_ops.mlops.compare_runs`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunComparer"]


class RunComparer:
    """Interactive run comparison.

    Parameters
    ----------
    experiment : str, optional
        Experiment whose runs are offered (default: every experiment).
    runs : list of str, optional
        Run ids selected at start (default: the 3 newest).
    metrics : list of str, optional
        Metrics selected at start (default: all).
    tracking_uri : str, optional
    max_runs : int
        At most this many (newest) runs are offered.

    Attributes
    ----------
    result : RunComparison or None
        The comparison for the current selection (None with fewer than one run selected).
    run_picker, metric_picker : ipywidgets.SelectMultiple
        The controls (set ``.value`` from code too).
    chart_specs : dict
        Vega-Lite specs of the charts currently shown.
    widget : ipywidgets.VBox
        What is displayed.

    Examples
    --------
    >>> from jupyter_ops.widgets import RunComparer  # doctest: +SKIP
    >>> RunComparer("churn")  # doctest: +SKIP
    """

    def __init__(self, experiment: str | None = None, runs: list[str] | None = None,
                 metrics: list[str] | None = None, tracking_uri: str | None = None,
                 max_runs: int = 50) -> None:
        import ipywidgets as w

        from ..mlops.runlist import list_runs

        self.tracking_uri = tracking_uri
        self.runs = list_runs(experiment, tracking_uri=tracking_uri, max_results=max_runs)
        options = [(self._label(r), r.run_id) for r in self.runs.itertuples()]
        ids = [o[1] for o in options]
        selected = [r for r in (runs or ids[:3]) if r in ids]
        self.all_metrics = sorted(c[len("metrics."):] for c in self.runs.columns
                                  if c.startswith("metrics."))
        self.run_picker = w.SelectMultiple(options=options, value=tuple(selected),
                                           description="runs", rows=min(8, max(3, len(ids))))
        chosen = [m for m in (metrics or self.all_metrics) if m in self.all_metrics]
        self.metric_picker = w.SelectMultiple(options=self.all_metrics, value=tuple(chosen),
                                              description="metrics",
                                              rows=min(8, max(3, len(self.all_metrics))))
        self.message = w.HTML()
        self.table = w.HTML()
        self.chart = w.Output()
        self.result: Any = None
        self.chart_specs: dict[str, Any] = {}
        self.run_picker.observe(lambda _: self.update(), names="value")
        self.metric_picker.observe(lambda _: self.update(), names="value")
        self.widget = w.VBox([w.HBox([self.run_picker, self.metric_picker]), self.message,
                              self.table, self.chart])
        self.widget.add_class("jops-run-comparer")  # a stable hook for styling and browser tests
        self.update()

    @staticmethod
    def _label(row: Any) -> str:
        return f"{row.run_name or 'run'} ({row.run_id[:6]}, {row.experiment})"

    def update(self) -> None:
        """Recompute the comparison for the selected runs and metrics and redraw."""
        from IPython.display import display

        from ..errors import OpsInputError
        from ..htmltext import esc, table_html
        from ..mlops.runlist import compare_runs
        from ..results import chart_spec, use_offline_charts
        from ..serialize import frame_to_table
        from ._style import styled

        ids = list(self.run_picker.value)
        self.chart.clear_output()
        self.chart_specs = {}
        if not ids:
            self.result = None
            self.message.value = "<i>select one or more runs</i>"
            self.table.value = ""
            return
        metrics = list(self.metric_picker.value) or None
        try:
            self.result = compare_runs(ids, metrics=metrics, tracking_uri=self.tracking_uri)
        except OpsInputError as e:
            self.message.value = f"<span style='color:#c00'>{esc(str(e))}</span>"
            return
        self.message.value = f"<b>{esc(self.result.summary())}</b>"
        self.table.value = styled(table_html(frame_to_table(self.result.metrics), max_rows=50)
                                  + table_html(frame_to_table(self.result.params), max_rows=50))
        charts = self.result.charts()
        self.chart_specs = {k: chart_spec(v) for k, v in charts.items()}
        use_offline_charts()  # drawn by the lab extension, no CDN
        with self.chart:
            for c in charts.values():
                display(c)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
