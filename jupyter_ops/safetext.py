"""Make untrusted text safe to show: the one place control characters become visible.

Log lines, metric names and column names come from data and may hold anything: ESC colour
codes, NUL, BEL, U+FFFE, lone surrogates, bidi overrides such as U+202E (which reorder what a
reader sees). Written raw they corrupt HTML/Markdown/SVG output, mislead the reader, or make
``vl-convert`` abort the whole process (a Rust panic on a character XML forbids, which no
``try`` can catch). :func:`visible` turns each such code point into a visible escape
(``\\x1b``, ``\\u202e``, ``\\ud800``) so the data stays intact and readable; every HTML, Markdown
and chart text passes through it (``htmltext.esc``, the report's Markdown writer, and
:func:`safe_spec` for Vega-Lite specs).

:func:`safe_spec` also removes everything in a Vega-Lite spec that could make a renderer
fetch: ``url`` (data, image marks, loaders), ``href`` channels and ``usermeta``. Charts are
drawn from inline data only.

:func:`csv_cell` prefixes formula-looking text (``=``, ``+``, ``-``, ``@``, tab, CR) with a
``'`` as spreadsheet programs expect, so a log line ``=cmd|' /C calc'!A0`` opened in a
spreadsheet stays text.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["visible", "is_safe", "safe_spec", "csv_cell", "csv_safe_frame", "MAX_CHART_TEXT"]

# Code points shown as escapes:
# - C0 controls except tab, LF and CR; DEL; C1 controls (XML 1.0 forbids most, terminals act on them)
# - the bidi controls (LRM/RLM/ALM, embeddings/overrides U+202A-202E, isolates U+2066-2069)
# - lone surrogates (not encodable as UTF-8 at all)
# - noncharacters U+FDD0-FDEF and U+xFFFE/U+xFFFF on every plane (XML forbids U+FFFE/FFFF)
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff"
    "\ufdd0-\ufdef\ufffe\uffff"
    "\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
    "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
    "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
    "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
)

#: longest string kept in a chart spec; longer ones are cut with "…" (a 1 MB label only
#: slows the SVG renderer down and cannot be read on an axis anyway; tables keep the full text)
MAX_CHART_TEXT = 2000

_URL_KEYS = frozenset({"url", "href", "usermeta"})
# keys whose string values Vega-Lite parses as field paths (backslash is its escape)
_FIELD_KEYS = frozenset({"field", "groupby", "fields"})


def _escape(m: re.Match[str]) -> str:
    cp = ord(m.group(0))
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def visible(value: Any) -> str:
    """The text of ``value`` with every unsafe code point replaced by a visible escape.

    Parameters
    ----------
    value : any
        Converted with ``str`` (None gives ``""``).

    Returns
    -------
    str
        Safe for XML/SVG, HTML and Markdown (after their usual escaping) and always
        encodable as UTF-8: ESC becomes ``\\x1b``, U+202E ``\\u202e``, a lone surrogate
        ``\\ud800``. Tab, newline and carriage return are kept; everything else is unchanged.

    Examples
    --------
    >>> visible("\\x1b[31mred\\x1b[0m")
    '\\\\x1b[31mred\\\\x1b[0m'
    """
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():
        return text  # the common case costs one C-level scan
    return _UNSAFE.sub(_escape, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its visible escape (``\\ud800``).

    Lone surrogates (from ``surrogateescape`` decoding or hostile input) cannot be encoded as
    UTF-8, so pandas' Arrow-backed strings, hashes and files cannot hold them. Written as the
    same visible escape :func:`visible` shows, the data stays readable and nothing is dropped.
    """
    return _SURROGATE.sub(_escape, text)


def is_safe(text: str) -> bool:
    """True when ``text`` holds no code point :func:`visible` would escape."""
    return _UNSAFE.search(text) is None


def safe_spec(spec: Any, notes: list[str] | None = None) -> Any:
    """A copy of a Vega-Lite spec that renders from inline data only and cannot crash vl-convert.

    Every string (keys and values, so field names still match the data) goes through
    :func:`visible` and is cut at :data:`MAX_CHART_TEXT` characters; ``url``, ``href`` and
    ``usermeta`` entries are dropped wherever they appear (a ``data`` object that loses its
    ``url`` becomes empty inline data). What was removed is appended to ``notes``.

    Parameters
    ----------
    spec : dict
        A Vega-Lite spec (any JSON value is accepted).
    notes : list of str, optional
        Receives one line per removed entry.
    """
    out: list[str] = [] if notes is None else notes
    return _clean(spec, out, "", 0)


def _clean(value: Any, notes: list[str], where: str, depth: int) -> Any:
    if depth > 200:
        notes.append(f"dropped {where or 'spec'}: nested deeper than 200 levels")
        return None
    if isinstance(value, str):
        if where.rsplit(".", 1)[-1] in _FIELD_KEYS and not is_safe(value):
            # a field reference: Vega-Lite reads "\\" as one backslash, so the escape
            # we insert must be doubled to keep naming the (escaped) data key
            text = _UNSAFE.sub(lambda m: "\\" + _escape(m), value)
        else:
            text = visible(value)
        return text if len(text) <= MAX_CHART_TEXT else text[:MAX_CHART_TEXT] + "…"
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        for k, v in value.items():
            key = _clean(str(k), notes, where, depth + 1)
            if key in _URL_KEYS:
                notes.append(f"removed {where + '.' if where else ''}{key} "
                             f"({_clip(v)}): charts are drawn from inline data only")
                continue
            clean[key] = _clean(v, notes, f"{where}.{key}" if where else key, depth + 1)
        if where.endswith("data") and "url" in {visible(k) for k in value} and "values" not in clean:
            clean["values"] = []
        return clean
    if isinstance(value, (list, tuple)):
        return [_clean(v, notes, where, depth + 1) for v in value]
    return value


def _clip(value: Any) -> str:
    text = visible(value if isinstance(value, str) else repr(value))
    return text if len(text) <= 80 else text[:80] + "…"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` prefixed with ``'`` when a spreadsheet would read it as a formula.

    Only text cells change: numbers (including negative ones) stay numbers. The prefix is
    what Excel, LibreOffice and Google Sheets document for "treat as text", and it is
    visible, so nothing is silently lost.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe_frame(df: Any) -> Any:
    """A copy of a DataFrame for CSV export: formula-looking text cells and column names
    prefixed (see :func:`csv_cell`); other columns untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or str(s.dtype) in ("string", "str"):
            out[col] = s.map(csv_cell, na_action="ignore")
    out.columns = [csv_cell(c) for c in out.columns]
    return out
