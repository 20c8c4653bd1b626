"""``DriftDashboard``: pick a column to see its two distributions; change the test or the
threshold and every verdict updates. A thin ipywidgets front end over :func:`mlops.drift`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DriftDashboard"]

_TESTS = ["auto", "ks", "wasserstein", "chisquare", "psi", "jensenshannon"]


class DriftDashboard:
    """Interactive drift check.

    Parameters
    ----------
    reference : DataFrame or Profile
    current : DataFrame
    columns, target, prediction, method, threshold, correction
        As for :func:`jupyter_ops.mlops.drift` (the dashboard skips the domain classifier so
        that changes are instant).

    Attributes
    ----------
    result : DriftResult
        The verdicts for the current settings.
    column, test, threshold : ipywidgets
        The controls (set ``.value`` from code too).
    widget : ipywidgets.VBox
        What is displayed.

    Examples
    --------
    >>> from jupyter_ops.widgets import DriftDashboard  # doctest: +SKIP
    >>> DriftDashboard(s.reference, s.current, columns=s.features)  # doctest: +SKIP
    """

    def __init__(self, reference: Any, current: Any, columns: list[str] | None = None,
                 target: str | None = None, prediction: str | None = None,
                 method: str = "auto", threshold: float | None = None,
                 correction: str | None = None) -> None:
        import ipywidgets as w

        self._args = {"reference": reference, "current": current, "columns": columns,
                      "target": target, "prediction": prediction, "correction": correction}
        self.result = self._run(method, threshold)
        names = self.result.columns["column"].tolist()
        self.column = w.Dropdown(options=names, value=names[0] if names else None,
                                 description="column")
        self.test = w.Dropdown(options=_TESTS, value=method if method in _TESTS else "auto",
                               description="test")
        # recompute on Enter or blur, not on every keystroke
        self.threshold = w.Text(value="" if threshold is None else str(threshold),
                                placeholder="default per test", description="threshold",
                                continuous_update=False)
        self.message = w.HTML()
        self.summary = w.HTML()
        self.table = w.HTML()
        self.chart = w.Output()
        self.chart_spec: dict[str, Any] | None = None
        self.column.observe(lambda _: self._show_column(), names="value")
        from ._recompute import LatestOnly

        self.recompute_request = LatestOnly(self._recompute)  # a newer change supersedes
        self.test.observe(self.recompute_request, names="value")
        self.threshold.observe(self.recompute_request, names="value")
        self.widget = w.VBox([w.HBox([self.column, self.test, self.threshold]), self.message,
                              self.summary, w.HBox([self.table, self.chart])])
        self.widget.add_class("jops-drift-dashboard")  # a stable hook for styling and browser tests
        self._render()

    # -- logic ---------------------------------------------------------------------------
    def _run(self, method: str, threshold: float | None) -> Any:
        from ..mlops.driftcheck import drift

        return drift(method=method, threshold=threshold, multivariate=False, log=False,
                     **self._args)

    def _recompute(self) -> None:
        from ..errors import OpsInputError
        from ..htmltext import esc

        text = self.threshold.value.strip()
        try:
            thr = float(text) if text else None
        except ValueError:
            self.message.value = f"<span style='color:#c00'>threshold must be a number, got {esc(text)}</span>"
            return
        try:
            self.result = self._run(self.test.value, thr)
        except OpsInputError as e:
            self.message.value = f"<span style='color:#c00'>{esc(str(e))}</span>"
            return
        self.message.value = ""
        self._render()

    def _render(self) -> None:
        from ..htmltext import esc
        from ._style import styled

        r = self.result
        self.summary.value = f"<b>{esc(r.summary())}</b>"
        rows = []
        for t in r.columns.itertuples():
            p = "–" if t.p_value != t.p_value else f"{t.p_value:.3g}"
            rows.append(f"<tr><td>{esc(t.column)}</td><td>{esc(t.test)}</td>"
                        f"<td class='num'>{t.statistic:.4g}</td><td class='num'>{p}</td>"
                        f"<td class='num'>{t.threshold:g}</td>"
                        f"<td class='{'bad' if t.drifted else 'ok'}'>"
                        f"{'drift' if t.drifted else 'ok'}</td></tr>")
        self.table.value = styled(
            "<table><tr><th>column</th><th>test</th><th>statistic</th><th>p</th>"
            "<th>threshold</th><th>verdict</th></tr>" + "".join(rows) + "</table>")
        self._show_column()

    def _show_column(self) -> None:
        from IPython.display import display

        from ..results import chart_spec, use_offline_charts

        col = self.column.value
        self.chart.clear_output()
        if col is None or col not in set(self.result.columns["column"]):
            self.chart_spec = None
            return
        chart = self.result.distribution_chart(col)
        self.chart_spec = chart_spec(chart)
        use_offline_charts()  # drawn by the lab extension, no CDN
        with self.chart:
            display(chart)

    # -- display -------------------------------------------------------------------------
    @property
    def verdicts(self) -> Any:
        """``column -> drifted`` for the current settings."""
        return self.result.columns.set_index("column")["drifted"]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
