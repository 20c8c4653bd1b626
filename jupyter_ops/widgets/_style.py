"""Shared look of the widgets' HTML parts: JupyterLab's theme variables, so that light and dark
themes both read well (with the light colours as fallbacks outside JupyterLab)."""

from __future__ import annotations

from typing import Any

CSS = """<style>
.jops-w{line-height:1.4}
.jops-w table{border-collapse:collapse;font-size:12px;margin:.3em 0;table-layout:auto}
.jops-w table th,.jops-w table td{border:1px solid var(--jp-border-color2,#d1d9e0);
  padding:2px 8px;text-align:left;vertical-align:top;max-width:48em}
.jops-w table th,.jops-w table td.num,.jops-w table td.ts{white-space:nowrap}
.jops-w table th{background:var(--jp-layout-color2,#f6f8fa);color:var(--jp-ui-font-color1,#1f2328)}
.jops-w table td.num{text-align:right;font-variant-numeric:tabular-nums}
.jops-w .jops-note,.jops-w .muted{color:var(--jp-ui-font-color2,#59636e)}
.jops-w .bad{color:var(--jp-error-color1,#cf222e)}
.jops-w .ok{color:var(--jp-success-color1,#1a7f37)}
</style>"""


def styled(inner_html: str) -> str:
    """Wrap already-escaped HTML in the widgets' themed container."""
    return f'<div class="jops-w">{CSS}{inner_html}</div>'


def frame_html(df: Any, max_rows: int = 50) -> str:
    """An escaped, themed HTML table of a frame (times shortened, numbers right-aligned)."""
    from ..htmltext import table_html
    from ..serialize import frame_to_table

    return styled(table_html(frame_to_table(df, max_rows=max_rows), max_rows=max_rows))
