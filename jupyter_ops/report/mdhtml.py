"""A deliberately small Markdown-to-HTML converter that escapes everything first.

Report text mixes our own prose with data (alert names, log lines). Escaping before any markup
is applied means no input can produce a tag: ``<script>`` always arrives as ``&lt;script&gt;``.
Supported: ATX headings, paragraphs, ``-``/``*`` bullet lists, fenced code blocks, ``**bold**``,
``*italic*`` and inline ``code``.
"""

from __future__ import annotations

import re

from ..htmltext import esc

__all__ = ["markdown_to_html"]

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    out = esc(text)
    # code spans first so their content is not styled further
    parts = _CODE.split(out)
    for i in range(0, len(parts), 2):
        parts[i] = _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", parts[i]))
    for i in range(1, len(parts), 2):
        parts[i] = f"<code>{parts[i]}</code>"
    return "".join(parts)


def markdown_to_html(text: str) -> str:
    """Convert a small Markdown subset to HTML; all text is escaped."""
    html: list[str] = []
    para: list[str] = []
    items: list[str] = []
    lines = text.splitlines()
    i = 0

    def flush() -> None:
        if para:
            html.append("<p>" + _inline(" ".join(para)) + "</p>")
            para.clear()
        if items:
            html.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in items) + "</ul>")
            items.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            html.append("<pre><code>" + esc("\n".join(block)) + "</code></pre>")
        elif m := re.match(r"^(#{1,6})\s+(.*)$", stripped):
            flush()
            level = len(m.group(1))
            html.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif m := re.match(r"^[-*]\s+(.*)$", stripped):
            if para:
                flush()
            items.append(m.group(1))
        elif not stripped:
            flush()
        else:
            if items:
                flush()
            para.append(stripped)
        i += 1
    flush()
    return "\n".join(html)
