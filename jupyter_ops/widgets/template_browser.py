"""``TemplateBrowser``: search and sort log templates, see each one's rate, click to see lines.

A thin ipywidgets front end over :func:`jupyter_ops.aiops.mine_templates`. Every piece of log
text is HTML-escaped; sparklines are SVG built from numbers only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TemplateBrowser"]

SORTS = {
    "count (most first)": ("count", False),
    "count (rarest first)": ("count", True),
    "first seen (newest first)": ("first_line", False),
    "template id": ("order", True),
}
_BINS = 40


class TemplateBrowser:
    """Interactive template list.

    Parameters
    ----------
    templates : Templates
        The result of :func:`~jupyter_ops.aiops.mine_templates`.
    window : str, default "5min"
        Width of the sparkline windows when the lines have timestamps (else the lines are cut
        into 40 equal bins by position).
    page_size : int, default 25
        Templates per page.
    max_lines : int, default 50
        Lines shown for a clicked template.

    Attributes
    ----------
    search, sort : ipywidgets
        The controls (set ``.value`` from code too).
    detail : ipywidgets.HTML
        The lines of the selected template.
    widget : ipywidgets.VBox
        What is displayed.

    Examples
    --------
    >>> from jupyter_ops.widgets import TemplateBrowser  # doctest: +SKIP
    >>> TemplateBrowser(mine_templates(scenario.logs))  # doctest: +SKIP
    """

    def __init__(self, templates: Any, window: str = "5min", page_size: int = 25,
                 max_lines: int = 50) -> None:
        import ipywidgets as w

        from ..aiops.logmining import Templates
        from ..errors import OpsInputError

        if not isinstance(templates, Templates):
            raise OpsInputError(f"TemplateBrowser needs the result of mine_templates, got "
                                f"{type(templates).__name__}")
        if page_size < 1 or max_lines < 1:
            raise OpsInputError("page_size and max_lines must be positive")
        self.templates = templates
        self.page_size = int(page_size)
        self.max_lines = int(max_lines)
        self._table = templates.templates.assign(order=range(len(templates.templates)))
        self._spark = _sparkline_counts(templates, window)
        self.page = 0
        self.selected: str | None = None

        self.search = w.Text(placeholder="search templates (case-insensitive)",
                             description="Search", layout=w.Layout(width="420px"),
                             continuous_update=False)  # filter on Enter or blur
        self.sort = w.Dropdown(options=list(SORTS), value="count (most first)",
                               description="Sort by")
        self.prev_button = w.Button(description="◀", layout=w.Layout(width="40px"))
        self.next_button = w.Button(description="▶", layout=w.Layout(width="40px"))
        self.status = w.HTML()
        self.rows = w.VBox()
        self.detail = w.HTML()
        self.search.observe(lambda _: self._reset(), names="value")
        self.sort.observe(lambda _: self._reset(), names="value")
        self.prev_button.on_click(lambda _: self._turn(-1))
        self.next_button.on_click(lambda _: self._turn(1))
        self.widget = w.VBox([
            w.HBox([self.search, self.sort]),
            w.HBox([self.prev_button, self.next_button, self.status]),
            self.rows, self.detail])
        self.widget.add_class("jops-template-browser")  # a stable hook for styling and browser tests
        self._render()

    # -- state ------------------------------------------------------------------------------
    def visible(self) -> Any:
        """The templates matching the search, in the chosen order (all pages)."""
        t = self._table
        q = self.search.value.strip().lower()
        if q:
            t = t[t["template"].str.lower().str.contains(q, regex=False)
                  | (t["template_id"].str.lower() == q)]
        col, asc = SORTS[self.sort.value]
        return t.sort_values([col, "order"], ascending=[asc, True], kind="stable")

    def select(self, template_id: str) -> None:
        """Show the lines of one template (what clicking its button does)."""
        from ..htmltext import esc

        lines = self.templates.lines_of(template_id, limit=self.max_lines)
        self.selected = template_id
        row = self._table[self._table["template_id"] == template_id].iloc[0]
        head = (f"<b>{esc(template_id)}</b> · {int(row['count']):,} lines · "
                f"<code>{esc(row['template'])}</code>")
        if not len(lines):
            body = ("<i>no lines of this template in memory (it was mined before the state "
                    "was loaded); example: </i><pre>" + esc(row["example"]) + "</pre>")
        else:
            cols = [c for c in ("line", "timestamp", "service", "level") if c in lines.columns]
            items = []
            for rec in lines.to_dict("records"):
                meta = " ".join(esc(rec[c]) for c in cols)
                items.append(f"<span style='color:#59636e'>{meta}</span> {esc(rec['message'])}")
            more = int(row["count"]) - len(lines)
            body = "<pre style='white-space:pre-wrap'>" + "\n".join(items) + "</pre>"
            if more > 0:
                body += f"<div class='jops-note'>… and {more:,} more (showing the first " \
                        f"{len(lines)})</div>"
        self.detail.value = f"<div class='jops'>{head}{body}</div>"

    # -- rendering --------------------------------------------------------------------------
    def _reset(self) -> None:
        self.page = 0
        self._render()

    def _turn(self, step: int) -> None:
        pages = max(1, -(-len(self.visible()) // self.page_size))
        self.page = min(max(self.page + step, 0), pages - 1)
        self._render()

    def _render(self) -> None:
        import ipywidgets as w

        from ..htmltext import esc

        vis = self.visible()
        pages = max(1, -(-len(vis) // self.page_size))
        self.page = min(self.page, pages - 1)
        chunk = vis.iloc[self.page * self.page_size:(self.page + 1) * self.page_size]
        rows = []
        for rec in chunk.to_dict("records"):
            tid = rec["template_id"]
            button = w.Button(description=f"{tid} · {int(rec['count']):,}",
                              tooltip=f"show the lines of {tid}",
                              layout=w.Layout(width="130px"))
            button.on_click(lambda _, tid=tid: self.select(tid))
            button.template_id = tid
            svg = _svg(self._spark.get(tid, []))
            text = w.HTML(f"{svg} <code>{esc(rec['template'])}</code>")
            rows.append(w.HBox([button, text]))
        self.rows.children = rows
        self.status.value = (f"{len(vis):,} of {len(self._table):,} templates · page "
                             f"{self.page + 1}/{pages}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _sparkline_counts(templates: Any, window: str) -> dict[str, list[int]]:
    """Per template: line counts per time window (at most 120 windows, widened if needed),
    or per position bin when the lines have no timestamps."""
    import numpy as np
    import pandas as pd

    from ..aiops.logsignals import template_rates
    from ..errors import OpsInputError

    # parsed here so a bad window fails as before instead of looking like "no timestamps";
    # the 120-window widening is at least 1s anyway, so this floor changes nothing
    w = max(pd.Timedelta(window), pd.Timedelta(1, "s"))
    try:  # the core's counting: one code path with log_signals' template rates
        rates = template_rates(templates, w, max_windows=120)
    except OpsInputError:  # no timestamps: count by position in the input instead
        codes, ids = pd.factorize(templates.assignments)
        n = len(codes)
        if not n:
            return {}
        n_bins = min(_BINS, n)
        bins = (np.arange(n) * n_bins) // n
        counts = np.bincount(codes * n_bins + bins, minlength=len(ids) * n_bins)
        return {str(t): c.tolist() for t, c in zip(ids, counts.reshape(len(ids), n_bins),
                                                   strict=True)}
    # template_rates lists each template's windows in time order
    return {tid: grp.tolist() for tid, grp in rates.groupby("template_id", sort=False)["count"]}


def _svg(counts: list[int], width: int = 120, height: int = 22) -> str:
    """A tiny polyline (numbers only, no data text)."""
    if not counts:
        return f"<svg width='{width}' height='{height}'></svg>"
    if len(counts) > 200:  # keep the SVG small: sum neighbouring windows
        step = -(-len(counts) // 200)
        counts = [sum(counts[i:i + step]) for i in range(0, len(counts), step)]
    top = max(max(counts), 1)
    n = len(counts)
    pts = " ".join(f"{(i * (width - 2) / max(n - 1, 1)) + 1:.1f},"
                   f"{height - 2 - (c / top) * (height - 4):.1f}" for i, c in enumerate(counts))
    return (f"<svg width='{width}' height='{height}' style='vertical-align:middle'>"
            f"<polyline fill='none' stroke='#0969da' stroke-width='1.2' points='{pts}'/></svg>")
