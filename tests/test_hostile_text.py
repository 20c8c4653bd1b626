"""Hostile text through the one sanitiser and every report format (HTML, Markdown, JSON)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from jupyter_ops.htmltext import esc
from jupyter_ops.report import Report, Section
from jupyter_ops.report.mdhtml import markdown_to_html
from jupyter_ops.safetext import csv_cell, csv_safe_frame, is_safe, safe_spec, visible

#: the corpus: name -> (hostile text, what must be visible in the output instead)
CORPUS = {
    "esc": ("a\x1b[31mred\x1b[0m", "\\x1b[31mred"),
    "nul": ("nul\x00byte", "nul\\x00byte"),
    "bel": ("bell\x07", "bell\\x07"),
    "fffe": ("non\ufffechar", "non\\ufffechar"),
    "rtl": ("user\u202egnp.exe", "user\\u202egnp.exe"),
    "surrogate": ("lone\ud800half", "lone\\ud800half"),
    "c1": ("csi\x9b2J", "csi\\x9b2J"),
    "html": ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    "attr": ('" onerror="alert(1)', "&quot; onerror=&quot;alert(1)"),
}
# characters that must never reach a rendered output raw
RAW_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_visible_and_esc_show_every_hostile_character(name):
    text, shown = CORPUS[name]
    out = esc(text)
    assert not RAW_BAD.search(out)
    assert shown in out
    out.encode("utf-8")  # lone surrogates must be encodable afterwards
    assert is_safe(visible(text))


def test_visible_keeps_ordinary_text_and_whitespace_and_is_idempotent_in_effect():
    text = "Grüße\tmañana\nline 2 \u4e2d\u6587 \U0001f600 C:\\path"
    assert visible(text) == text
    assert visible(None) == ""
    assert visible(12) == "12"
    once = visible("\x1b\u202e")
    assert once == "\\x1b\\u202e" and visible(once) == once


def test_safe_spec_drops_urls_everywhere_and_keeps_field_names_matching():
    notes: list[str] = []
    spec = {
        "data": {"url": "http://127.0.0.1:9/exfil.csv", "format": {"type": "csv"}},
        "layer": [{"mark": "image", "encoding": {"url": {"field": "u"}, "href": {"field": "h"}}},
                  {"data": {"values": [{"a\x1bb": "x\x07"}]},
                   "encoding": {"x": {"field": "a\x1bb", "type": "nominal"}}}],
        "usermeta": {"loader": "http://x/"},
    }
    clean = safe_spec(spec, notes)
    text = json.dumps(clean)
    assert "http" not in text and "usermeta" not in text
    assert clean["data"] == {"format": {"type": "csv"}, "values": []}
    assert len(notes) == 4 and all("inline data only" in n for n in notes)
    row = clean["layer"][1]["data"]["values"][0]
    assert row == {"a\\x1bb": "x\\x07"}
    # Vega-Lite reads a field's backslash as an escape: the inserted one is doubled
    assert clean["layer"][1]["encoding"]["x"]["field"] == "a\\\\x1bb"
    assert spec["data"]["url"].startswith("http")  # the input is not modified


def test_safe_spec_cuts_megabyte_strings_and_survives_deep_nesting():
    clean = safe_spec({"title": "x" * 1_000_000})
    assert len(clean["title"]) <= 2001
    deep: dict = {}
    cur = deep
    for _ in range(500):
        cur["a"] = {}
        cur = cur["a"]
    notes: list[str] = []
    safe_spec(deep, notes)
    assert any("deeper than 200" in n for n in notes)


@pytest.mark.parametrize("cell,expected", [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"),
    (-5, -5), (1.5, 1.5), (None, None),
])
def test_csv_cell_prefixes_formulas_only(cell, expected):
    assert csv_cell(cell) == expected


def test_csv_safe_frame_keeps_numbers_and_prefixes_text_and_names():
    df = pd.DataFrame({"=x": ["=1+1", "ok", None], "n": [-1, 2, 3]})
    out = csv_safe_frame(df)
    assert list(out.columns) == ["'=x", "n"]
    assert out["'=x"].tolist()[:2] == ["'=1+1", "ok"] and pd.isna(out["'=x"].iloc[2])
    assert out["n"].tolist() == [-1, 2, 3]
    assert df["=x"].iloc[0] == "=1+1"  # input untouched


def hostile_report() -> Report:
    r = Report("title \x1b[2J \u202e")
    texts = [t for t, _ in CORPUS.values()]
    r.add("Markdown with ![i](http://127.0.0.1:9/pixel.png) and <http://127.0.0.1:9/> and "
          + " ".join(texts))
    # object dtype: pandas 3's Arrow strings cannot hold a lone surrogate at all
    df = pd.DataFrame({"col\x07" + t[:3]: [t] for t in texts}, dtype=object)
    r.add(df, title="table \x00")
    r.add([{"label": t, "value": t} for t in texts], title="figures")
    return r


def test_every_report_format_escapes_hostile_text_and_keeps_it(tmp_path):
    r = hostile_report()
    html = r.render("html")
    md = r.render("md")
    js = r.render("json")
    for out in (html, md):
        assert not RAW_BAD.search(out), repr(RAW_BAD.search(out))
        assert "<script>" not in out
        for _, shown in list(CORPUS.values())[:7]:
            assert shown.split("[")[0] in out
    assert "![i](" not in md and "!\\[i](" in md  # an image in Markdown would be fetched
    assert "<http://" not in md
    assert "src=\"http" not in html
    # JSON is the archival form: the data itself, exactly
    back = json.loads(js)
    assert back["sections"][1]["content"]["rows"][0][0] == CORPUS["esc"][0]
    for fmt in ("html", "md", "json"):
        p = r.save(tmp_path / f"r.{fmt}")
        assert p.read_bytes().decode("utf-8")  # valid UTF-8 despite the lone surrogate


def test_markdown_to_html_never_makes_a_tag_or_image():
    out = markdown_to_html("# h\x1b\n\n![i](http://x/p.png) <img src=x onerror=alert(1)> \u202e")
    assert "<img" not in out and "\\x1b" in out and "\\u202e" in out


def test_chart_section_title_and_alt_text_are_escaped():
    spec = {"data": {"values": [{"a": "x", "b": 1}]}, "mark": "bar",
            "encoding": {"x": {"field": "a", "type": "nominal"},
                         "y": {"field": "b", "type": "quantitative"}}}
    html = Report("r", [Section("chart", spec, title='"><script>\x1b')]).to_html()
    assert "<script>" not in html and "\\x1b" in html and 'class="jops-chart"' in html
