"""The base class of every analysis result.

A result is a small object that holds pandas frames plus a few key figures. Subclasses
(``Correlation``, ``Templates``, ``DriftResult``, ...) only describe *what* to show by overriding
:meth:`Result.figures`, :meth:`Result.tables`, :meth:`Result.charts` and
:meth:`Result.explanations`; this base turns that into

* ``_repr_mimebundle_``: ``text/plain``, escaped ``text/html`` and the project's own JSON
  (:data:`MIME_TYPE`, rendered by the JupyterLab extension), so output degrades gracefully in
  VS Code, nbconvert and classic Notebook;
* report sections, built by :func:`jupyter_ops.report.model.result_sections` when a result is
  added to a :class:`jupyter_ops.report.Report` (reports import results, never the reverse).

The JSON payload (version 1) is the one generic format the lab extension renders::

    {"version": 1, "id": str, "kind": str, "title": str, "subtitle": str,
     "figures": [{"label", "value", "hint"?, "status"? (ok|warn|bad)}],
     "tables": [{"name", "title", "columns": [{"name", "type"}], "rows": [[...]],
                 "total_rows", "truncated"}],
     "charts": [{"name", "title", "spec": <Vega-Lite JSON>}],
     "explanations": [{"title", "text"}],
     "provenance": {...}}
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .htmltext import CSS, esc, figures_html, table_html
from .serialize import frame_to_table, to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["MIME_TYPE", "Result", "offline_chart_renderer", "use_offline_charts"]

MIME_TYPE = "application/vnd.jupyter-ops.result+json"
PAYLOAD_VERSION = 1

#: rows of each table sent to the front end (the lab extension paginates them)
PAYLOAD_MAX_ROWS = 5000
#: rows shown in the static ``text/html`` fallback
HTML_MAX_ROWS = 20


class Result:
    """Base class: subclasses override the four describing methods below.

    Attributes
    ----------
    provenance : dict
        How the result was made: ``{"call": str, "params": dict, "inputs": {name: sha256},
        "seed": int | None}``. Core functions fill it with
        :func:`jupyter_ops.provenance.make_provenance`.
    """

    kind: str = "result"

    def __init__(self) -> None:
        self.provenance: dict[str, Any] = {}
        self.id: str = uuid.uuid4().hex

    # -- what to show (override) -------------------------------------------------------
    @property
    def title(self) -> str:
        """A short heading."""
        return self.kind.replace("_", " ").capitalize()

    def summary(self) -> str:
        """One line that says what was found (used in text/plain and as the subtitle)."""
        return ""

    def figures(self) -> list[dict[str, Any]]:
        """Key figures: ``[{"label", "value", "hint"?, "status"?}]``."""
        return []

    def tables(self) -> dict[str, pd.DataFrame]:
        """Named frames, most important first."""
        return {}

    def charts(self) -> dict[str, Any]:
        """Named Altair charts (or Vega-Lite dicts) built from aggregated data only."""
        return {}

    def explanations(self) -> list[tuple[str, str]]:
        """``(title, text)`` pairs that say *why* (shown collapsed)."""
        return []

    # -- conveniences --------------------------------------------------------------------
    def chart(self, name: str | None = None) -> Any:
        """Return one chart (the first by default), e.g. to display it on its own.

        In a Jupyter kernel this also switches Altair's *default* renderer to
        :func:`offline_chart_renderer` (see there), so the chart draws offline in JupyterLab.
        """
        charts = self.charts()
        if not charts:
            raise LookupError(f"{self.title} has no chart")
        if name is None:
            chart = next(iter(charts.values()))
        elif name not in charts:
            raise KeyError(f"no chart {name!r}; charts: {', '.join(charts)}")
        else:
            chart = charts[name]
        use_offline_charts()
        return chart

    def to_payload(self, max_rows: int = PAYLOAD_MAX_ROWS, include_charts: bool = True) -> dict:
        """The JSON document of :data:`MIME_TYPE` (see the module docstring)."""
        tables = []
        for name, df in self.tables().items():
            t = frame_to_table(df, max_rows=max_rows)
            t.update(name=name, title=name.replace("_", " ").capitalize())
            tables.append(t)
        charts = []
        if include_charts:
            for name, chart in self.charts().items():
                charts.append({"name": name, "title": name.replace("_", " ").capitalize(),
                               "spec": chart_spec(chart)})
        return {
            "version": PAYLOAD_VERSION,
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "subtitle": self.summary(),
            "figures": to_jsonable(self.figures()),
            "tables": tables,
            "charts": charts,
            "explanations": [{"title": a, "text": b} for a, b in self.explanations()],
            "provenance": to_jsonable(self.provenance),
        }

    # -- IPython display -----------------------------------------------------------------
    def __repr__(self) -> str:
        return self._text()

    def _text(self) -> str:
        lines = [self.title]
        if self.summary():
            lines.append(self.summary())
        for f in self.figures():
            lines.append(f"  {f.get('label')}: {f.get('value')}")
        tables = self.tables()
        if tables:
            name, df = next(iter(tables.items()))
            lines.append(f"{name} ({len(df):,} rows):")
            with _pd_options():
                lines.append(df.head(10).to_string())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [f'<div class="jops"><style>{CSS}</style><h3>{esc(self.title)}</h3>']
        if self.summary():
            parts.append(f'<div class="jops-sub">{esc(self.summary())}</div>')
        figs = to_jsonable(self.figures())
        if figs:
            parts.append(figures_html(figs))
        for name, df in self.tables().items():
            t = frame_to_table(df, max_rows=HTML_MAX_ROWS)
            parts.append(f"<details open><summary>{esc(name)} ({len(df):,} rows)</summary>"
                         f"{table_html(t, max_rows=HTML_MAX_ROWS)}</details>")
        for title, text in self.explanations():
            parts.append(f"<details><summary>{esc(title)}</summary><pre>{esc(text)}</pre></details>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {
            "text/plain": self._text(),
            "text/html": self._repr_html_(),
            MIME_TYPE: self.to_payload(),
        }


#: the renderer name registered with Altair by :func:`use_offline_charts`
CHART_RENDERER = "jupyter_ops"
#: ``+json``, not Altair's ``application/vnd.vegalite.v6.json``: nbformat only accepts JSON
#: objects (rather than strings) under ``application/json`` and ``application/*+json``
VEGALITE_MIME_TYPE = "application/vnd.vegalite.v6+json"


def offline_chart_renderer(spec: dict, **metadata: Any) -> dict[str, Any]:
    """Altair renderer: Altair's default HTML output plus the Vega-Lite 6 JSON.

    JupyterLab with the jupyter-ops extension prefers the JSON (its renderer ranks ahead of
    ``text/html``) and draws it with the bundled vega-embed, offline. Every other front end
    (VS Code, classic Notebook, nbconvert, JupyterLab without the extension) shows the
    ``text/html`` exactly as Altair's default renderer would.
    """
    from altair.vegalite.v6 import display as v6

    bundle = dict(v6.html_renderer(spec, **metadata))
    bundle[VEGALITE_MIME_TYPE] = spec
    bundle["text/plain"] = "<VegaLite 6 chart>"
    return bundle


def use_offline_charts(force: bool = False) -> bool:
    """Let Altair charts draw offline in JupyterLab (idempotent; imports Altair).

    Registers :func:`offline_chart_renderer` as ``"jupyter_ops"`` and enables it, but only
    inside a Jupyter kernel (or with ``force=True``) and only while Altair's renderer is still
    ``"default"``: a renderer the user chose is left alone.

    Returns
    -------
    bool
        Whether the jupyter-ops renderer is the active one.
    """
    import sys

    if not force and "ipykernel" not in sys.modules:
        return False
    import altair as alt

    if CHART_RENDERER not in alt.renderers.names():
        alt.renderers.register(CHART_RENDERER, offline_chart_renderer)
    if alt.renderers.active == "default":
        alt.renderers.enable(CHART_RENDERER)
    return alt.renderers.active == CHART_RENDERER


def chart_spec(chart: Any) -> dict:
    """A Vega-Lite dict from an Altair chart (or a dict passed through)."""
    if isinstance(chart, dict):
        return to_jsonable(chart)
    return to_jsonable(chart.to_dict())


class _pd_options:
    def __enter__(self) -> None:
        import pandas as pd

        self._ctx = pd.option_context("display.width", 120, "display.max_columns", 12,
                                      "display.max_colwidth", 60)
        self._ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)
