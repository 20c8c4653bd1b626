"""The report model: ordered sections plus a provenance manifest.

A :class:`Report` is built from results (``report.add(correlation)``), Markdown, tables, Altair
charts and key figures. It is stored as JSON (:meth:`Report.to_json`), from which the HTML and
Markdown renderings are rebuilt exactly, so the JSON is the archival form.

The HTML is self-contained: inline CSS, charts rendered to SVG by ``vl-convert`` and embedded
as ``data:`` images, no script and no external URL, so it opens offline and no data string can
execute. Every text is escaped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import write_atomic
from ..errors import OpsInputError
from ..htmltext import CSS, esc, figures_html, table_html
from ..provenance import environment
from ..safetext import is_safe, safe_spec, visible
from . import layout
from .charts import chart_html, render_svgs
from .mdhtml import markdown_to_html
from .schema import SCHEMA_ID, validate_report

__all__ = ["Section", "Report", "FORMATS", "result_sections", "write_atomic"]

FORMATS = ("html", "md", "json")
REPORT_SCHEMA = SCHEMA_ID


@dataclass
class Section:
    """One block of a report: ``markdown``, ``figures``, ``table`` or ``chart``.

    ``content`` is JSON: Markdown text, a list of figure dicts, a table dict (see
    :func:`jupyter_ops.serialize.frame_to_table`) or a Vega-Lite spec.
    """

    kind: str
    content: Any
    title: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    #: False for sections read from a file: their charts render in a separate process
    trusted: bool = field(default=True, repr=False, compare=False)

    @classmethod
    def markdown(cls, text: str, provenance: dict | None = None) -> Section:
        return cls("markdown", str(text), provenance=provenance or {})

    @classmethod
    def figures(cls, figures: list[dict[str, Any]], title: str = "") -> Section:
        from ..serialize import to_jsonable

        return cls("figures", to_jsonable(list(figures)), title=title)

    @classmethod
    def table(cls, df: Any, title: str = "", max_rows: int | None = 500) -> Section:
        from ..serialize import frame_to_table

        return cls("table", frame_to_table(df, max_rows=max_rows), title=title)

    @classmethod
    def chart(cls, chart: Any, title: str = "") -> Section:
        from ..results import chart_spec

        return cls("chart", chart_spec(chart), title=title)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "content": self.content,
                "provenance": self.provenance}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Section:
        if not isinstance(d, dict) or d.get("kind") not in {"markdown", "figures", "table", "chart"}:
            kind = d.get("kind") if isinstance(d, dict) else type(d).__name__
            raise OpsInputError(f"unknown report section kind {kind!r}")
        content, prov = d.get("content"), d.get("provenance") or {}
        _check_content(d["kind"], content)
        if d["kind"] == "chart":
            # charts render from inline data only: URLs are dropped on read (and noted)
            notes: list[str] = []
            content = safe_spec(content, notes)
            if notes:
                prov = {**prov, "sanitized": notes}
        return cls(d["kind"], content, d.get("title", ""), prov, trusted=False)


class Report:
    """An ordered list of sections with provenance; renders to HTML, Markdown and JSON.

    Parameters
    ----------
    title : str
        Heading of the report.
    sections : list of Section, optional
    environment : dict, optional
        Versions and platform; taken from the running interpreter when omitted.

    Examples
    --------
    >>> from jupyter_ops.report import Report
    >>> r = Report("Postmortem")
    >>> r.add("Checkout was down for 12 minutes.")  # doctest: +SKIP
    >>> r.save("postmortem.html")  # doctest: +SKIP
    """

    def __init__(self, title: str = "jupyter-ops report", sections: list[Section] | None = None,
                 environment: dict[str, Any] | None = None) -> None:
        self.title = str(title)
        self.sections: list[Section] = list(sections or [])
        self.environment = environment if environment is not None else _environment()

    # -- building ------------------------------------------------------------------------
    def add(self, item: Any, call: str | None = None, title: str = "") -> Report:
        """Append a result, a Section, Markdown text, a DataFrame or an Altair chart.

        ``call`` (e.g. the magic line that produced a result) is stored in the first new
        section's provenance.
        """
        import pandas as pd

        from ..results import Result

        if isinstance(item, Result):
            new = result_sections(item)
        elif isinstance(item, Section):
            new = [item]
        elif isinstance(item, str):
            new = [Section.markdown(item)]
        elif isinstance(item, pd.DataFrame):
            new = [Section.table(item, title=title)]
        elif isinstance(item, (list, tuple)) and all(isinstance(x, dict) for x in item):
            new = [Section.figures(list(item), title=title)]
        elif hasattr(item, "to_dict") and type(item).__module__.startswith("altair"):
            new = [Section.chart(item, title=title)]
        else:
            raise OpsInputError(
                f"cannot add a {type(item).__name__} to a report; add a result, Markdown text, "
                "a DataFrame, an Altair chart or a list of figure dicts")
        if isinstance(item, Result) and new:
            # what `report verify` needs: the core call's name (``call`` may become a display
            # line below) and how many sections this result spans
            from .sources import stable_id

            prov = new[0].provenance or {}
            new[0].provenance = {**prov, "function": prov.get("function") or prov.get("call"),
                                 "blocks": len(new), **stable_id(self, item, prov)}
        if call and new:
            new[0].provenance = {**new[0].provenance, "call": call}
        self.sections.extend(new)
        return self

    # -- JSON ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The archival form: everything needed to rebuild HTML and Markdown."""
        return {"schema": REPORT_SCHEMA, "title": self.title, "environment": self.environment,
                "sections": [s.to_json() for s in self.sections]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | str | os.PathLike) -> Report:
        """Rebuild a report from :meth:`to_json` output or a saved ``.json`` file."""
        where = "the report"
        if isinstance(data, (str, os.PathLike)):
            where = str(data)
            try:
                data = json.loads(Path(data).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise OpsInputError(f"report file not found: {where}") from None
            except IsADirectoryError:
                raise OpsInputError(f"{where} is a folder; give the report's .json file") from None
            except UnicodeDecodeError:
                raise OpsInputError(f"{where} is not a jupyter-ops report JSON file (not UTF-8 "
                                    "text)") from None
            except json.JSONDecodeError as e:
                cut = e.pos >= len(e.doc.rstrip()) or e.msg.startswith("Unterminated")
                hint = " (the file ends early: it was cut short)" if cut else ""
                raise OpsInputError(f"{where} is not a jupyter-ops report JSON file: {e.msg} at "
                                    f"line {e.lineno} column {e.colno}{hint}") from None
            except RecursionError:
                raise OpsInputError(f"{where} is not a jupyter-ops report JSON file: nested "
                                    "too deeply") from None
        validate_report(data, where)
        return cls(data["title"], [Section.from_json(s) for s in data["sections"]],
                   environment=data.get("environment") or {})

    # -- rendering -----------------------------------------------------------------------
    def to_html(self) -> str:
        """A self-contained HTML page (no scripts, no external resources)."""
        toc = layout.contents(self.sections)
        anchors = {e.index: e.anchor for e in toc}
        body = []
        charts = [s for s in self.sections if s.kind == "chart"]
        svgs = dict(zip(map(id, charts), _render(charts), strict=True))
        for i, s in enumerate(self.sections):
            anchor = f' id="{anchors[i]}"' if i in anchors else ""
            body.append(f'<section class="jops-section"{anchor}>')
            if s.title:
                body.append(f"<h3>{esc(s.title)}</h3>")
            if s.kind == "markdown":
                body.append(markdown_to_html(layout.prose(s.content)))
            elif s.kind == "figures":
                body.append(figures_html(layout.humane_figures(s.content)))
            elif s.kind == "table":
                shown, note = layout.group_rows(layout.humane_table(s.content))
                body.append('<div class="jops-scroll">'
                            + table_html(shown, max_rows=len(shown["rows"])) + "</div>")
                if note:
                    body.append(f'<div class="jops-note">{esc(note)}</div>')
            elif s.kind == "chart":  # a tall chart scrolls in its box (not when printed)
                body.append(f'<div class="jops-chartbox">{chart_html(*svgs[id(s)], s.title)}</div>')
            if s.provenance:
                body.append(_provenance_html(s.provenance))
            body.append("</section>")
        env = self.environment
        env_rows = "".join(
            f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>"
            for k, v in {**{k: v for k, v in env.items() if k != "packages"},
                         **(env.get("packages") or {})}.items())
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">"
            f"<title>{esc(self.title)}</title><style>{CSS}"
            "body{max-width:1100px;margin:2em auto;padding:0 1em}"
            ".jops-section{margin:1.2em 0}.jops-prov{color:#59636e;font-size:11px}"
            f"img.jops-chart{{max-width:100%}}{layout.LAYOUT_CSS}</style></head>"
            f"<body class=\"jops\"><h1>{esc(self.title)}</h1>"
            f"{layout.contents_html(toc)}{''.join(body)}"
            "<section class=\"jops-section\"><h2>Provenance</h2>"
            "<p>Versions and platform this report was made with; each section lists the call "
            "and input hashes that produced it.</p>"
            f"<table class=\"jops-table\">{env_rows}</table></section></body></html>\n"
        )

    def to_markdown(self) -> str:
        """Markdown with HTML special characters escaped; charts become their data tables."""
        out = [f"# {_md_text(self.title)}", ""]
        out += [_md_text(x) for x in layout.contents_markdown(layout.contents(self.sections))]
        for s in self.sections:
            if s.title:
                out += [f"### {_md_text(s.title)}", ""]
            if s.kind == "markdown":
                out += [_md_text(layout.prose(s.content)), ""]
            elif s.kind == "figures":
                out += [f"- **{_md_text(f.get('label'))}**: "
                        f"{_md_text(layout.format_value(f.get('value')))}"
                        for f in s.content] + [""]
            elif s.kind == "table":
                shown, note = layout.group_rows(layout.humane_table(s.content))
                out += [_md_table(layout.text_table(shown)), ""]
                out += [f"*{_md_text(note)}*", ""] if note else []
            elif s.kind == "chart":
                out += [f"*(chart: {_md_text(s.content.get('description') or s.title or 'chart')};"
                        " see the HTML or JSON report)*", ""]
            if s.provenance:
                out += [f"<sub>{_md_text(_provenance_line(s.provenance))}</sub>", ""]
        env = self.environment
        out += ["## Provenance", ""]
        for k, v in env.items():
            if k != "packages":
                out.append(f"- {k}: {_md_text(v)}")
        for k, v in (env.get("packages") or {}).items():
            out.append(f"- {k}: {_md_text(v)}")
        return "\n".join(out) + "\n"

    def render(self, format: str) -> str:
        """Render as ``html``, ``md`` or ``json``."""
        if format == "html":
            return self.to_html()
        if format in {"md", "markdown"}:
            return self.to_markdown()
        if format == "json":
            text = json.dumps(self.to_json(), indent=1, ensure_ascii=False, allow_nan=False)
            if not is_safe(text):
                # a lone surrogate cannot be written as UTF-8: JSON's \uXXXX escapes keep
                # every string exactly (it loads back unchanged) in plain ASCII
                text = json.dumps(self.to_json(), indent=1, ensure_ascii=True, allow_nan=False)
            return text
        raise OpsInputError(f"unknown report format {format!r}; use one of {', '.join(FORMATS)}")

    def save(self, path: str | os.PathLike, format: str | None = None) -> Path:
        """Write the report atomically (a temp file renamed into place); format from suffix."""
        path = Path(path)
        fmt = format or _format_from_suffix(path)
        text = self.render(fmt)
        write_atomic(path, text)
        return path

    def _repr_html_(self) -> str:
        return f"<p>Report <b>{esc(self.title)}</b>: {len(self.sections)} sections</p>"

    def __repr__(self) -> str:
        return f"Report({self.title!r}, {len(self.sections)} sections)"


def result_sections(result: Any) -> list[Section]:
    """Report sections for a :class:`~jupyter_ops.results.Result`.

    Heading and summary (with the result's provenance), figures, tables, charts and
    explanations, in that order. Lives here, not on ``Result``, so that results never import
    the report package (reports sit on top of results).
    """
    from ..serialize import to_jsonable

    prov = to_jsonable(result.provenance)
    sections = [Section.markdown(f"## {result.title}\n\n{result.summary()}".strip(), provenance=prov)]
    figs = to_jsonable(result.figures())
    if figs:
        sections.append(Section.figures(figs))
    for name, df in result.tables().items():
        sections.append(Section.table(df, title=name.replace("_", " ").capitalize(), max_rows=200))
    for name, chart in result.charts().items():
        sections.append(Section.chart(chart, title=name.replace("_", " ").capitalize()))
    for title, text in result.explanations():
        sections.append(Section.markdown(f"**{title}**\n\n{text}"))
    return sections


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    mapping = {"html": "html", "htm": "html", "md": "md", "markdown": "md", "json": "json"}
    if suffix not in mapping:
        raise OpsInputError(
            f"cannot tell the report format from {path.name!r}; end the name in .html, .md or "
            ".json or pass format=")
    return mapping[suffix]


def _environment() -> dict[str, Any]:
    return environment()


def _render(charts: list[Section]) -> list[tuple[str | None, list[str]]]:
    """SVG and notes per chart section: trusted ones in-process, the rest in a worker."""
    out: dict[int, tuple[str | None, list[str]]] = {}
    for trusted in (True, False):
        group = [s for s in charts if s.trusted is trusted]
        if group:
            out.update(zip(map(id, group), render_svgs([s.content for s in group],
                                                       isolate=not trusted), strict=True))
    return [out[id(s)] for s in charts]


def _provenance_line(p: dict[str, Any]) -> str:
    bits = []
    if p.get("call"):
        bits.append(f"call: {p['call']}")
    if p.get("params"):
        bits.append("params: " + json.dumps(p["params"], sort_keys=True, default=str))
    if p.get("inputs"):
        bits.append("inputs: " + ", ".join(f"{k}=sha256:{v[:16]}…" for k, v in p["inputs"].items()))
    if p.get("seed") is not None:
        bits.append(f"seed: {p['seed']}")
    return "; ".join(bits)


def _provenance_html(p: dict[str, Any]) -> str:
    full = json.dumps(p, sort_keys=True, default=str, indent=1)
    # the summary line reads humanely; the full record below it stays exact
    line = layout.humane_text(_provenance_line(p))
    return (f'<details class="jops-prov"><summary>{esc(line[:300])}</summary>'
            f"<pre>{esc(full)}</pre></details>")


def _md_text(value: Any) -> str:
    """Data text for Markdown: control characters visible, HTML special characters escaped,
    image syntax neutralised (``![i](http://...)`` would be fetched by a Markdown viewer)."""
    text = visible(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("![", "!\\[")


def _md_table(table: dict[str, Any]) -> str:
    def cell(v: Any) -> str:
        return (_md_text("" if v is None else v).replace("|", "\\|").replace("\r", " ")
                .replace("\n", " "))

    head = "| " + " | ".join(cell(c["name"]) for c in table["columns"]) + " |"
    sep = "|" + "|".join("---" for _ in table["columns"]) + "|"
    rows = ["| " + " | ".join(cell(v) for v in r) + " |" for r in table["rows"]]
    note = []
    if table.get("truncated"):
        note = ["", f"*showing {len(table['rows']):,} of {table['total_rows']:,} rows*"]
    return "\n".join([head, sep, *rows, *note])


def _check_content(kind: str, content: Any) -> None:
    """The shape each section kind's renderer relies on (a tampered file is bad input, not a
    crash in the renderer); the full check is the report JSON Schema."""
    ok = {"markdown": lambda c: isinstance(c, str),
          "figures": lambda c: isinstance(c, list) and all(isinstance(f, dict) for f in c),
          "chart": lambda c: isinstance(c, dict),
          "table": lambda c: (isinstance(c, dict) and isinstance(c.get("columns"), list)
                              and all(isinstance(x, dict) and "name" in x and "type" in x
                                      for x in c["columns"])
                              and isinstance(c.get("rows"), list)
                              and all(isinstance(r, list) and len(r) == len(c["columns"])
                                      for r in c["rows"])
                              and isinstance(c.get("total_rows", 0), int))}[kind]
    if not ok(content):
        raise OpsInputError(f"report section of kind {kind!r} has malformed content; the file "
                            "was damaged or edited by hand")
