"""``IncidentExplorer``: an ipywidgets front end over correlate / RCA / timeline / runbooks.

Controls (window, hops, label keys, minimum severity, service) recompute the correlation;
the incident list shows the incidents that pass the filters; the selected incident's timeline,
root-cause candidates, grouping explanation, runbook suggestions and the time to breach of the
incident's metrics (:func:`~jupyter_ops.aiops.time_to_breach`, with ``thresholds=``) appear in
tabs. Every
piece of data shown in HTML goes through :func:`jupyter_ops.htmltext.esc`. Runbook steps
can be approved with a button; approval only records a dry run -- nothing is executed.
"""

from __future__ import annotations

from typing import Any

from ..htmltext import esc
from ..io.canonical import SEVERITY_BY_RANK

__all__ = ["IncidentExplorer"]

WINDOWS = ["1min", "2min", "5min", "10min", "15min", "30min"]
SEVERITY_ORDER = list(SEVERITY_BY_RANK[1:])  # info ... critical, from io's one list


class IncidentExplorer:
    """Explore alert correlation interactively.

    Parameters
    ----------
    alerts : DataFrame
        Canonical alerts (e.g. ``scenario.alerts``).
    topology, metrics, logs, deploys, anomalies : optional
        As for :func:`~jupyter_ops.aiops.correlate`, :func:`~jupyter_ops.aiops.rank_root_causes`
        and :func:`~jupyter_ops.aiops.timeline`.
    runbooks : path, dict or list, optional
        Runbooks for the remediation tab (see :func:`~jupyter_ops.aiops.suggest_remediation`).
    window : str
        Initial correlation window.
    thresholds : dict, optional
        Metric name -> line, e.g. ``{"cpu": 90, "latency_ms": 500}``: the Forecast tab shows
        when each such metric of the selected incident's services is expected to cross it
        (:func:`~jupyter_ops.aiops.time_to_breach` on ``metrics``, from their last point).
    horizon : str
        How far ahead the Forecast tab looks (default ``"24h"``).

    Attributes
    ----------
    correlation : Correlation
        The current correlation (recomputed when a control changes).
    selected : int or None
        The selected incident id.
    timeline, ranking, remediation
        The selected incident's results.
    timeline_spec : dict or None
        Vega-Lite spec of the timeline chart shown.
    breaches : DataFrame or None
        The selected incident's time-to-breach rows (``thresholds`` and ``metrics`` given).
    forecast_specs : list of dict
        Vega-Lite specs of the forecast charts shown (history, forecast, interval band).
    widget : ipywidgets.Widget
        The top-level widget (the explorer displays itself in a notebook).

    Examples
    --------
    >>> IncidentExplorer(s.alerts, topology=s.topology, logs=s.logs)  # doctest: +SKIP
    """

    def __init__(self, alerts: Any, topology: Any = None, metrics: Any = None,
                 logs: Any = None, deploys: Any = None, anomalies: Any = None,
                 runbooks: Any = None, window: str = "5min",
                 thresholds: dict[str, float] | None = None, horizon: str = "24h") -> None:
        import ipywidgets as w

        from ..aiops._incidents import canonical_alerts, canonical_topology

        self.alerts = canonical_alerts(alerts)
        self.topology = canonical_topology(topology)
        self.metrics, self.logs, self.deploys = metrics, logs, deploys
        self.runbooks = runbooks
        self._anomalies = anomalies
        self.thresholds = dict(thresholds or {})
        self.horizon = horizon
        self.breaches: Any = None
        self.forecast_specs: list[dict] = []
        self._metrics: Any = None  # the loaded metrics, once (for the Forecast tab)
        self.correlation: Any = None
        self.selected: int | None = None
        self.timeline: Any = None
        self.ranking: Any = None
        self.remediation: Any = None
        self.timeline_spec: dict | None = None
        self._filling = False
        self.error: str = ""

        services = sorted(set(self.alerts["service"]))
        style = {"description_width": "initial"}
        self.w_window = w.Dropdown(options=sorted(set(WINDOWS + [window]), key=_td),
                                   value=window, description="window", style=style)
        # text controls recompute on Enter or blur, not on every keystroke
        self.w_hops = w.BoundedIntText(value=1, min=0, max=4, description="hops",
                                       layout=w.Layout(width="110px"), style=style,
                                       continuous_update=False)
        self.w_by = w.Text(value="", placeholder="label keys, e.g. team",
                           description="group by", style=style, continuous_update=False)
        self.w_severity = w.Dropdown(options=SEVERITY_ORDER, value="info",
                                     description="min severity", style=style)
        self.w_service = w.Dropdown(options=["(all)"] + services, value="(all)",
                                    description="service", style=style)
        self.w_list = w.Select(options=[], rows=10, description="incidents",
                               layout=w.Layout(width="100%"), style=style)
        self.w_summary = w.HTML()
        self.w_timeline = w.Output()  # the chart (a display, drawn by the front end)
        self.w_events = w.HTML()  # the events table (an HTML widget keeps the themed CSS)
        self.w_rca = w.HTML()
        self.w_explain = w.HTML()
        self.w_remedy = w.VBox()
        self.w_forecast = w.HTML()
        self.w_forecast_chart = w.Output()
        self.w_log = w.HTML()
        tabs = w.Tab(children=[w.VBox([self.w_timeline, self.w_events]), self.w_rca,
                               self.w_explain, self.w_remedy,
                               w.VBox([self.w_forecast, self.w_forecast_chart])])
        for i, name in enumerate(["Timeline", "Root cause", "Why grouped", "Remediation",
                                  "Forecast"]):
            tabs.set_title(i, name)
        controls = w.HBox([self.w_window, self.w_hops, self.w_by])
        filters = w.HBox([self.w_severity, self.w_service])
        self.widget = w.VBox([controls, filters, self.w_summary, self.w_list, tabs, self.w_log])
        self.widget.add_class("jops-incident-explorer")  # a stable hook for styling and browser tests
        from ._recompute import LatestOnly

        self.recompute_request = LatestOnly(self.recompute)  # a newer change supersedes
        for ctl in (self.w_window, self.w_hops, self.w_by):
            ctl.observe(self.recompute_request, names="value")
        for ctl in (self.w_severity, self.w_service):
            ctl.observe(lambda _c: self._fill_list(), names="value")
        self.w_list.observe(self._on_select, names="value")
        self.recompute()

    # -- logic (plain methods, usable and testable without a browser) ---------------------
    def recompute(self) -> None:
        """Re-run the correlation with the current controls and refresh the list."""
        from ..aiops.correlation import correlate
        from ..errors import OpsInputError

        by = [b.strip() for b in self.w_by.value.split(",") if b.strip()] or None
        try:
            self.correlation = correlate(self.alerts, window=self.w_window.value,
                                         topology=self.topology, by=by, hops=self.w_hops.value)
            self.error = ""
        except OpsInputError as e:
            self.error = str(e)
            self.w_summary.value = f'<span style="color:#cf222e">{esc(self.error)}</span>'
            return
        self.w_summary.value = f"<b>{esc(self.correlation.summary())}</b>"
        self.selected = None  # incident ids are renumbered by a new correlation
        self._fill_list()

    def incidents(self):
        """The incidents that pass the severity and service filters."""
        inc = self.correlation.incidents
        rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
        keep = inc["max_severity"].map(lambda s: rank.get(s, -1)) >= rank[self.w_severity.value]
        if self.w_service.value != "(all)":
            keep &= inc["services"].map(lambda t: self.w_service.value in t)
        return inc[keep]

    def _fill_list(self) -> None:
        inc = self.incidents()
        opts = [(f"#{r.incident_id} {r.title} - {r.alerts} alerts, {r.max_severity}, "
                 f"{r.start:%m-%d %H:%M}", int(r.incident_id)) for r in inc.itertuples()]
        keep = self.selected  # new options reset the Select to the first: keep the user's pick
        self._filling = True
        try:
            self.w_list.options = opts
            if opts:
                self.w_list.value = keep if keep in {o[1] for o in opts} else opts[0][1]
        finally:
            self._filling = False
        if opts:
            self.select(self.w_list.value)
        else:
            self.selected = None
            self.w_rca.value = self.w_explain.value = "<i>no incident matches the filters</i>"

    def _on_select(self, change: dict) -> None:
        if self._filling:
            return
        if change.get("new") is not None and change["new"] != self.selected:
            self.select(int(change["new"]))

    def select(self, incident_id: int) -> None:
        """Show one incident: timeline, root-cause candidates, explanation, runbooks."""
        from IPython.display import display

        from ..aiops.rootcause import rank_root_causes
        from ..aiops.timelines import timeline
        from ..results import chart_spec, use_offline_charts
        from ._style import frame_html, styled

        self.selected = int(incident_id)
        inc = self.correlation.incident(self.selected)
        if self._anomalies is None and self.metrics is not None:
            from ..aiops.anomaly import detect_anomalies

            self._anomalies = detect_anomalies(self.metrics)  # once, for every incident
        self.timeline = timeline(inc, logs=self.logs, deploys=self.deploys,
                                 anomalies=self._anomalies)
        self.ranking = rank_root_causes(inc, anomalies=self._anomalies, deploys=self.deploys,
                                        topology=self.topology)
        charts = self.timeline.charts()
        self.timeline_spec = chart_spec(next(iter(charts.values()))) if charts else None
        use_offline_charts()  # drawn by the lab extension, no CDN
        # wait=True: the old chart stays until the new one arrives (no blank flash)
        self.w_timeline.clear_output(wait=bool(charts))
        if charts:
            with self.w_timeline:
                display(next(iter(charts.values())))
        ev = self.timeline.events
        cols = [c for c in ("t", "timestamp", "service", "source", "kind", "severity",
                            "count", "text") if c in ev.columns]
        self.w_events.value = frame_html(ev[cols], max_rows=40)
        rows = "".join(
            f"<tr><td class='num'>{esc(r.rank)}</td><td><b>{esc(r.service)}</b></td>"
            f"<td class='num'>{esc(f'{r.score:.3f}')}</td><td>{esc(r.evidence)}</td></tr>"
            for r in self.ranking.itertuples())
        self.w_rca.value = styled("<table><tr><th>rank</th><th>service</th><th>score</th>"
                                  f"<th>evidence</th></tr>{rows}</table>")
        self.w_explain.value = "<pre style='white-space:pre-wrap'>" + esc(
            self.correlation.explain_text(self.selected, max_lines=80)) + "</pre>"
        self._remediation(inc)
        self._forecast(inc)

    def _forecast(self, inc: Any) -> None:
        """Time to breach of the incident's services' metrics that have a threshold."""
        import pandas as pd
        from IPython.display import display

        from ..aiops.forecasting import BREACH_COLUMNS, time_to_breach
        from ..errors import OpsInputError
        from ..io import load_metrics
        from ..results import chart_spec
        from ._style import styled

        self.breaches = None
        self.forecast_specs = []
        self.w_forecast_chart.clear_output()
        if self.metrics is None or not self.thresholds:
            self.w_forecast.value = ("<i>pass metrics= and thresholds={'metric': line} to see "
                                     "when the incident's metrics cross their line</i>")
            return
        if self._metrics is None:
            # the public loader (loaded once, for every incident); forecasting takes its frame
            self._metrics = load_metrics(self.metrics)
        m = self._metrics[self._metrics["service"].isin(inc.services)]
        parts, charts = [], []
        try:
            for metric, line in self.thresholds.items():
                sub = m[m["metric"] == metric]
                if sub.empty:
                    continue
                res = time_to_breach(sub, threshold=line, horizon=self.horizon)
                parts.append(res.breaches)
                charts.extend(res.charts().values())
        except OpsInputError as e:  # e.g. a series too short: say so in the tab
            self.w_forecast.value = f'<span style="color:#cf222e">{esc(str(e))}</span>'
            return
        if not parts:
            self.w_forecast.value = (f"<i>none of {esc(', '.join(map(str, self.thresholds)))} "
                                     "is among this incident's metrics</i>")
            return
        self.breaches = pd.concat(parts, ignore_index=True)[BREACH_COLUMNS]
        rows = "".join(
            f"<tr><td><b>{esc(r.service)}</b></td><td>{esc(r.metric)}</td>"
            f"<td>{esc(r.status)}</td><td>{esc(r.explanation)}</td></tr>"
            for r in self.breaches.sort_values("eta_hours", na_position="last").itertuples())
        self.w_forecast.value = styled(
            f"<p>forecast {esc(self.horizon)} ahead from the last metric point</p><table><tr>"
            f"<th>service</th><th>metric</th><th>status</th><th>why</th></tr>{rows}</table>")
        self.forecast_specs = [chart_spec(c) for c in charts[:3]]
        with self.w_forecast_chart:
            for c in charts[:3]:
                display(c)

    def _remediation(self, inc: Any) -> None:
        import ipywidgets as w

        from ..aiops.remediation import suggest_remediation

        if self.runbooks is None:
            self.remediation = None
            self.w_remedy.children = [w.HTML("<i>pass runbooks= to get suggestions</i>")]
            return
        top = self.ranking["service"].iloc[0] if len(self.ranking) else None
        self.remediation = suggest_remediation(inc, self.runbooks, root_cause=top)
        steps = self.remediation.steps
        items: list[Any] = [w.HTML(f"<b>{esc(self.remediation.summary())}</b>")]
        self.approve_buttons = []
        for i, r in enumerate(steps.itertuples()):
            cmd = f" <code>{esc(r.command)}</code>" if r.command else ""
            label = w.HTML(f"{esc(r.runbook)} / step {esc(r.step)}: {esc(r.title)}{cmd} "
                           f"<span style='color:#59636e'>(matched {esc(r.matched)})</span>")
            btn = w.Button(description="Approve (dry run)", button_style="warning",
                           tooltip="records the approval; nothing is executed")
            btn.on_click(lambda _b, i=i: self.approve(i))
            self.approve_buttons.append(btn)
            items.append(w.HBox([btn, label]))
        self.w_remedy.children = items

    def approve(self, index: int) -> dict:
        """Approve a suggested step (records it; dry run, nothing is executed)."""
        rec = self.remediation.approve(index)
        self.approve_buttons[index].disabled = True
        self.approve_buttons[index].description = "approved (dry run)"
        self.w_log.value += (f"<div>approved by {esc(rec['approved_by'])} at "
                             f"{esc(rec['approved_at'])}: {esc(rec['title'])}; would run: "
                             f"<code>{esc(rec['would_run'])}</code> (not executed)</div>")
        return rec

    # -- display ------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        n = len(self.correlation.incidents) if self.correlation is not None else 0
        return f"IncidentExplorer({len(self.alerts):,} alerts, {n} incidents)"


def _td(s: str) -> float:
    import pandas as pd

    return pd.Timedelta(s).total_seconds()
