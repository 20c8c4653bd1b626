"""Small, escaping HTML builders shared by result reprs and the report renderer.

Every piece of text that comes from data (log lines, alert names, column names) goes through
:func:`esc`, which first makes control characters, bidi overrides and lone surrogates visible
(:func:`jupyter_ops.safetext.visible`). Nothing here ever emits ``<script>`` or event-handler
attributes.
"""

from __future__ import annotations

import html
from typing import Any

from jupyter_ops.safetext import visible  # absolute: this module may move (lower layer)

__all__ = ["esc", "table_html", "figures_html", "CSS"]

CSS = """
.jops{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;font-size:13px;line-height:1.4;color:#1f2328}
.jops h2,.jops h3{margin:.6em 0 .3em}
.jops .jops-sub{color:#59636e;margin:.2em 0 .6em}
.jops .jops-cards{display:flex;flex-wrap:wrap;gap:8px;margin:.4em 0}
.jops .jops-card{border:1px solid #d1d9e0;border-radius:6px;padding:6px 10px;min-width:90px;background:#f6f8fa}
.jops .jops-card .v{font-size:18px;font-weight:600}
.jops .jops-card .l{color:#59636e;font-size:11px;text-transform:uppercase;letter-spacing:.03em}
.jops .jops-card.warn{border-color:#d4a72c;background:#fff8c5}
.jops .jops-card.bad{border-color:#cf222e;background:#ffebe9}
.jops .jops-card.ok{border-color:#1a7f37;background:#dafbe1}
.jops table.jops-table{border-collapse:collapse;margin:.4em 0;font-size:12px}
.jops table.jops-table th,.jops table.jops-table td{border:1px solid #d1d9e0;padding:3px 6px;text-align:left;vertical-align:top;max-width:48em;overflow-wrap:anywhere}
.jops table.jops-table th{background:#f6f8fa}
.jops td.num{text-align:right;font-variant-numeric:tabular-nums}
.jops .jops-note{color:#59636e;font-size:11px}
.jops pre{white-space:pre-wrap;background:#f6f8fa;padding:6px;border-radius:6px}
.jops details{margin:.3em 0}
"""


def esc(value: Any) -> str:
    """HTML-escape any value's text form (quotes included); control characters, bidi
    overrides and lone surrogates become visible escapes such as ``\\x1b``."""
    return html.escape(visible(value), quote=True)


def _cell(value: Any, typ: str) -> str:
    if value is None:
        return '<td class="na"></td>'
    if typ == "number":
        if isinstance(value, float):
            text = f"{value:.4g}" if abs(value) < 1e6 else f"{value:.6g}"
        else:
            text = str(value)
        return f'<td class="num">{esc(text)}</td>'
    if typ == "datetime" and isinstance(value, str):
        return f'<td class="ts" title="{esc(value)}">{esc(_short_time(value))}</td>'
    return f"<td>{esc(value)}</td>"


def _short_time(iso: str) -> str:
    """``2026-01-05T02:18:33.259977216+00:00`` -> ``2026-01-05 02:18:33`` (UTC is the rule;
    the full value stays in the cell's tooltip and in the JSON)."""
    text = iso.replace("T", " ", 1)
    if text.endswith("+00:00"):
        text = text[:-6]
    if "." in text[19:]:
        text = text[:19] + text[19:].split(".", 1)[1].lstrip("0123456789")
    return text


def table_html(table: dict[str, Any], max_rows: int = 50) -> str:
    """Render a :func:`jupyter_ops.serialize.frame_to_table` dict as an escaped HTML table."""
    cols = table["columns"]
    head = "".join(f"<th>{esc(c['name'])}</th>" for c in cols)
    body = []
    for row in table["rows"][:max_rows]:
        body.append("<tr>" + "".join(_cell(v, c["type"]) for v, c in zip(row, cols, strict=True)) + "</tr>")
    shown = min(len(table["rows"]), max_rows)
    note = ""
    if shown < table["total_rows"]:
        note = f'<div class="jops-note">showing {shown:,} of {table["total_rows"]:,} rows</div>'
    return (
        f'<table class="jops-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{note}"
    )


def figures_html(figures: list[dict[str, Any]]) -> str:
    """Summary figures as cards; ``status`` (ok/warn/bad) colours a card."""
    cards = []
    for f in figures:
        status = f.get("status") or ""
        cls = f"jops-card {status}" if status in {"ok", "warn", "bad"} else "jops-card"
        hint = f' title="{esc(f["hint"])}"' if f.get("hint") else ""
        cards.append(
            f'<div class="{cls}"{hint}><div class="v">{esc(_fmt(f.get("value")))}</div>'
            f'<div class="l">{esc(f.get("label"))}</div></div>'
        )
    return f'<div class="jops-cards">{"".join(cards)}</div>'


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)
