"""Readability of rendered reports: contents, grouping of repeats, humane numbers, print CSS.

Everything here changes what HTML and Markdown *show*, never the JSON: the archival form
keeps full precision and every row, so ``report verify`` compares exact values.

- :func:`contents` lists the report's parts with each part's key figure beside its link;
- :func:`group_rows` shows a table whose rows repeat apart from their leading name columns as
  one row per distinct rest ("36 rows: robust, because ...");
- :func:`prose` groups repeated ``name: sentence`` lines and humanises raw pandas values
  (``0 days 00:05:00`` -> ``5 min``, ``9.476583836665625`` -> ``9.48``,
  ``2026-01-05 04:01:00+00:00`` -> ``2026-01-05 04:01 UTC``);
- :data:`LAYOUT_CSS` keeps column headers whole and adds a print stylesheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["contents", "group_rows", "prose", "humanize_duration", "humane_cell",
           "LAYOUT_CSS", "TocEntry"]

_TD = re.compile(r"(?<![\w:.])(-?)(\d+) days? (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?(?![\w:])")
_LONG_FLOAT = re.compile(r"(?<![\w.])(-?\d+\.\d{4,})(?![\w.])")
_ISO = re.compile(r"(?<![\w-])(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}):(\d{2})(?:\.\d+)?"
                  r"(?:\+00:00|Z)(?![\w:])")
_NAMED_LINE = re.compile(r"^([^\s:][^:]{0,80}?): (.+)$")


def humanize_duration(seconds: float) -> str:
    """``300`` -> ``5 min``; ``405`` -> ``6 min 45 s``; ``93784`` -> ``1 d 2 h``."""
    sign = "-" if seconds < 0 else ""
    s = abs(float(seconds))
    if s < 1:
        return f"{sign}{s * 1000:.0f} ms" if s else "0 s"
    if s < 60:
        return f"{sign}{s:.3g} s" if s < 10 and s != int(s) else f"{sign}{round(s)} s"
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts = []
    rest = round(s)
    for name, size in units:
        if rest >= size:
            parts.append(f"{rest // size} {name}")
            rest %= size
        if len(parts) == 2:  # two units are enough to read: 1 d 2 h, not 1 d 2 h 3 min 4 s
            break
    return sign + " ".join(parts)


def _td(m: re.Match[str]) -> str:
    seconds = int(m.group(2)) * 86400 + int(m.group(3)) * 3600 + int(m.group(4)) * 60 + int(m.group(5))
    if m.group(6):
        seconds += float("0." + m.group(6))
    return humanize_duration(-seconds if m.group(1) else seconds)


def _round(m: re.Match[str]) -> str:
    value = float(m.group(1))
    if value == 0:
        return "0"
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return text if "e" not in text else f"{value:.3g}"


def humane_text(text: str) -> str:
    """Humanise durations, long floats and UTC times inside a piece of prose."""
    text = _TD.sub(_td, text)
    text = _ISO.sub(lambda m: f"{m.group(1)} {m.group(2)}"
                    + ("" if m.group(3) == "00" else f":{m.group(3)}") + " UTC", text)
    return _LONG_FLOAT.sub(_round, text)


def prose(text: str) -> str:
    """Markdown prose as shown: repeated ``name: sentence`` lines grouped, values humanised.

    A run of three or more ``name: sentence`` lines becomes a bullet list in which names that
    share one sentence are listed once: ``36 series: robust (...)`` with the first names.
    """
    lines = str(text).split("\n")
    out: list[str] = []
    i = 0
    in_code = False
    while i < len(lines):
        if lines[i].strip().startswith("```"):
            in_code = not in_code
        run = []
        j = i
        while not in_code and j < len(lines) and _NAMED_LINE.match(lines[j].strip()) \
                and not lines[j].lstrip().startswith(("-", "*", "#")):
            run.append(_NAMED_LINE.match(lines[j].strip()))
            j += 1
        if len(run) >= 3:
            out.extend(_grouped_lines(run))
            i = j
            continue
        out.append(lines[i])
        i += 1
    return humane_text("\n".join(out))


def _grouped_lines(run: list[re.Match[str]]) -> list[str]:
    by_rest: dict[str, list[str]] = {}
    for m in run:
        by_rest.setdefault(m.group(2), []).append(m.group(1))
    out = [""]
    for rest, names in by_rest.items():
        if len(names) == 1:
            out.append(f"- {names[0]}: {rest}")
            continue
        noun = "series" if all(n.count("/") == 1 for n in names) else "items"
        out.append(f"- **{len(names)} {noun}**: {rest} ({_some(names)})")
    out.append("")
    return out


def _some(names: list[str], shown: int = 3) -> str:
    if len(names) <= shown + 1:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f" and {len(names) - shown} more"


# -- tables ---------------------------------------------------------------------------------
def group_rows(table: dict[str, Any], min_rows: int = 8) -> tuple[dict[str, Any], str]:
    """Collapse rows identical apart from their first one or two (name) columns.

    Returns the table to show and a note ("" when nothing was grouped). Grouping happens only
    when it shortens the table at least four-fold, so ordinary tables are left alone.
    """
    rows, cols = table.get("rows") or [], table.get("columns") or []
    if len(rows) < min_rows or len(cols) < 2 or table.get("truncated"):
        return table, ""
    best: tuple[int, int, dict[str, list[list[Any]]], list[str]] | None = None
    for k in (1, 2):  # name columns: the fewest groups wins (service/metric beats service)
        if k >= len(cols) or any(c["type"] != "string" for c in cols[:k]):
            break
        groups: dict[str, list[list[Any]]] = {}
        order: list[str] = []
        for r in rows:
            key = repr(r[k:])
            if key not in groups:
                order.append(key)
                groups[key] = []
            groups[key].append(r)
        if len(groups) * 4 <= len(rows) and (best is None or len(groups) < best[1]):
            best = (k, len(groups), groups, order)
    if best is None:
        return table, ""
    k, _, groups, order = best
    name = "/".join(c["name"] for c in cols[:k])
    new_cols = [{"name": "rows", "type": "number"}, {"name": name, "type": "string"}, *cols[k:]]
    new_rows = []
    for key in order:
        members = groups[key]
        names = ["/".join(str(v) for v in m[:k]) for m in members]
        new_rows.append([len(members), _some(names), *members[0][k:]])
    shown = {**table, "columns": new_cols, "rows": new_rows, "total_rows": len(new_rows),
             "truncated": False}
    note = (f"{len(rows):,} rows shown as {len(new_rows)} group(s) of rows identical apart "
            f"from {name}; the JSON report keeps every row")
    return shown, note


def humane_cell(value: Any) -> Any:
    """A table cell as shown: pandas durations humanised; everything else as it is."""
    if isinstance(value, str) and _TD.fullmatch(value.strip()):
        return _TD.sub(_td, value.strip())
    return value


def humane_table(table: dict[str, Any]) -> dict[str, Any]:
    """A copy of a table with humanised string cells (numbers are formatted by the renderer)."""
    kinds = [c["type"] for c in table["columns"]]
    if "string" not in kinds:
        return table
    rows = [[humane_cell(v) if t == "string" else v for v, t in zip(r, kinds, strict=False)]
            for r in table["rows"]]
    return {**table, "rows": rows}


# -- contents -------------------------------------------------------------------------------
@dataclass
class TocEntry:
    """One line of the contents: the anchor, the heading and the key figure."""

    index: int  # position of the heading section
    anchor: str
    title: str
    key: str


_STATUS_RANK = {"bad": 0, "warn": 1, "ok": 2}


def contents(sections: list[Any]) -> list[TocEntry]:
    """Every ``## heading`` section, with the key figure of the part it opens.

    The key figure of a result is the first clause of its summary line ("278 alerts -> 7
    incidents (97.5% compression)"); without a summary, its worst flagged figure (bad, warn,
    ok) or its first figure. Free-text parts get no key figure.
    """
    heads = [i for i, s in enumerate(sections) if s.kind == "markdown"
             and str(s.content).lstrip().startswith("## ")]
    entries = []
    for n, i in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(sections)
        first, _, rest = str(sections[i].content).lstrip()[3:].partition("\n")
        figures = [f for s in sections[i + 1:end] if s.kind == "figures" for f in s.content]
        key = ""
        summary = rest.strip().split("\n")[0]
        if figures and summary:  # a result: its summary's first clause says what was found
            key = _clip(humane_text(summary.split("; ")[0]))
        elif figures:
            flagged = sorted((f for f in figures if f.get("status") in _STATUS_RANK),
                             key=lambda f: _STATUS_RANK[f["status"]])
            pick = flagged[0] if flagged else figures[0]
            key = f"{format_value(pick.get('value'))} {pick.get('label', '')}".strip()
        entries.append(TocEntry(i, f"part-{n + 1}", first.strip(), key))
    return entries


def _clip(text: str, width: int = 72) -> str:
    if len(text) <= width:
        return text
    return text[:width].rsplit(" ", 1)[0].rstrip(",;:(") + " …"


def format_value(value: Any) -> str:
    """A figure's value as a reader wants it: 0.9748 -> 0.975, 51840 -> 51,840."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return humane_cell("" if value is None else str(value))


def contents_html(entries: list[TocEntry]) -> str:
    from ..htmltext import esc

    if len(entries) < 2:
        return ""
    items = "".join(f'<li><a href="#{e.anchor}">{esc(e.title)}</a>'
                    + (f' <span class="jops-key">{esc(e.key)}</span>' if e.key else "") + "</li>"
                    for e in entries)
    return f'<nav class="jops-toc" aria-label="Contents"><h2>Contents</h2><ol>{items}</ol></nav>'


def contents_markdown(entries: list[TocEntry]) -> list[str]:
    if len(entries) < 2:
        return []
    out = ["## Contents", ""]
    for n, e in enumerate(entries, 1):
        key = f" — {e.key}" if e.key else ""
        out.append(f"{n}. {e.title}{key}")
    return out + [""]


LAYOUT_CSS = """
.jops table.jops-table th{overflow-wrap:normal;word-break:normal;hyphens:none;white-space:nowrap}
.jops table.jops-table td{overflow-wrap:break-word}
.jops .jops-scroll{max-width:100%;max-height:480px;overflow:auto}
.jops .jops-scroll th{position:sticky;top:0;z-index:1}
.jops .jops-chartbox{max-height:760px;overflow-y:auto}
.jops-toc{border:1px solid #d1d9e0;border-radius:6px;padding:.4em 1.2em;margin:1em 0;background:#f6f8fa}
.jops-toc h2{font-size:14px;margin:.3em 0}
.jops-toc ol{margin:.2em 0;padding-left:1.6em;columns:2;column-gap:2em}
.jops-toc li{margin:.15em 0;break-inside:avoid}
.jops-toc a{color:#0969da;text-decoration:none}
.jops-toc .jops-key{color:#59636e;font-size:12px;margin-left:.4em}
@media print{
  body{max-width:none;margin:0;padding:0;font-size:10pt}
  .jops-toc{background:none;break-after:avoid}
  .jops-toc ol{columns:1}
  .jops-toc a{color:inherit}
  .jops-prov,details.jops-prov{display:none}
  .jops-section{break-inside:avoid-page}
  .jops table.jops-table{font-size:9pt}
  .jops table.jops-table td{overflow-wrap:anywhere}
  .jops table.jops-table tr,img.jops-chart{break-inside:avoid}
  .jops .jops-scroll,.jops .jops-chartbox{overflow:visible;max-height:none}
  .jops .jops-scroll th{position:static}
  img.jops-chart{max-height:9cm;width:auto}
  h2{break-after:avoid}
  .jops .jops-card{background:none}
}
"""


def humane_figures(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Figures as shown: duration strings humanised (numbers are formatted by the renderer)."""
    return [{**f, "value": humane_cell(f.get("value"))} for f in figures]


def text_table(table: dict[str, Any]) -> dict[str, Any]:
    """A copy with every cell as the text a reader sees (for Markdown, which has no renderer).

    Numbers get four significant digits (six from a million on), times drop the fraction and
    ``+00:00`` (UTC is the rule), durations are humanised.
    """
    kinds = [c["type"] for c in table["columns"]]

    def cell(v: Any, kind: str) -> Any:
        if v is None or isinstance(v, bool):
            return v
        if kind == "number" and isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e6 else f"{v:.6g}"
        if kind == "number" and isinstance(v, int):
            return str(v)
        if kind == "datetime" and isinstance(v, str):
            return humane_text(v) if _ISO.fullmatch(v) else v
        return humane_cell(v)

    rows = [[cell(v, t) for v, t in zip(r, kinds, strict=False)] for r in table["rows"]]
    return {**table, "rows": rows}
