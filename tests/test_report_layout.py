"""Readable reports: contents, grouped repeats, humane values in HTML/Markdown, exact JSON."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from jupyter_ops.report import Report, Section
from jupyter_ops.report.layout import group_rows, humane_text, humanize_duration, prose
from jupyter_ops.results import Result
from jupyter_ops.serialize import frame_to_table


@pytest.mark.parametrize("seconds, text", [
    (0, "0 s"), (0.25, "250 ms"), (2.5, "2.5 s"), (57, "57 s"), (300, "5 min"),
    (405, "6 min 45 s"), (3600 * 26 + 60, "1 d 2 h"), (-90, "-1 min 30 s"),
])
def test_durations_read_like_a_person_wrote_them(seconds, text):
    assert humanize_duration(seconds) == text


def test_humane_text_rewrites_pandas_values_but_not_versions_or_hashes():
    text = ("window 0 days 00:05:00, score 9.476583836665625 at 2026-01-05 04:01:00+00:00; "
            "pandas 3.1.1, sha256:f76cab0688123469, 0.5, 12.25, run 0.0812")
    out = humane_text(text)
    assert "window 5 min" in out and "score 9.48" in out and "at 2026-01-05 04:01 UTC" in out
    assert "pandas 3.1.1" in out and "sha256:f76cab0688123469" in out
    assert "0.5," in out and "12.25" in out and "0.0812" in out  # short numbers stay as written


def test_repeated_named_lines_are_grouped_with_a_count():
    lines = [f"svc{i}/cpu: robust (too little history)" for i in range(36)]
    text = "**How**\n\nIntro sentence.\n" + "\n".join(lines) + "\nweb/cpu: seasonal (daily)"
    out = prose(text)
    assert out.count("too little history") == 1
    assert "**36 series**: robust (too little history) (svc0/cpu, svc1/cpu, svc2/cpu and 33 more)" in out
    assert "- web/cpu: seasonal (daily)" in out and "Intro sentence." in out
    # fewer than three such lines are prose, left alone
    assert prose("a: b\nc: d") == "a: b\nc: d"


def test_identical_rows_are_grouped_only_when_it_pays():
    df = pd.DataFrame({"service": [f"s{i}" for i in range(12)] * 3,
                       "metric": ["cpu"] * 12 + ["mem"] * 12 + ["lat"] * 12,
                       "method": "robust", "reason": "short history", "points": 1440})
    shown, note = group_rows(frame_to_table(df))
    assert [c["name"] for c in shown["columns"]][:2] == ["rows", "service/metric"]
    assert shown["rows"] == [[36, "s0/cpu, s1/cpu, s2/cpu and 33 more", "robust", "short history",
                              1440]]
    assert "36 rows shown as 1 group" in note
    varied = df.assign(points=range(36))
    assert group_rows(frame_to_table(varied)) == (frame_to_table(varied), "")
    small = df.head(5)
    assert group_rows(frame_to_table(small))[1] == ""


class _Found(Result):
    kind = "found"

    def __init__(self, name: str, n: int) -> None:
        super().__init__()
        self.name, self.n = name, n
        self.provenance = {"call": "found", "params": {}, "inputs": {}, "seed": None}

    @property
    def title(self) -> str:
        return self.name

    def summary(self) -> str:
        return f"{self.n} incidents in 0 days 00:05:00; score 9.476583836665625"

    def figures(self):
        return [{"label": "incidents", "value": self.n},
                {"label": "MTTD", "value": "0 days 00:00:57"}]

    def tables(self):
        return {"per series": pd.DataFrame({
            "incident_id": [f"svc{i}" for i in range(10)], "reason": "same",
            "duration": "0 days 00:15:00", "score": 0.123456789})}


def _report() -> Report:
    r = Report("Readable")
    r.add("Intro.")
    r.add(_Found("Alert correlation", 7))
    r.add(_Found("Root causes", 3))
    return r


def test_html_has_contents_with_key_figures_and_humane_values_json_keeps_precision():
    r = _report()
    html = r.to_html()
    toc = re.search(r'<nav class="jops-toc".*?</nav>', html).group(0)
    assert '<a href="#part-1">Alert correlation</a>' in toc
    assert '<span class="jops-key">7 incidents in 5 min</span>' in toc
    assert 'id="part-2"' in html
    body = html.split("</nav>", 1)[1]
    assert "0 days" not in body.split("jops-prov")[0]
    assert "9.476583836665625" not in re.sub(r'<details class="jops-prov">.*?</details>', "", body)
    assert "57 s" in body and "15 min" in body
    assert "10 rows shown as 1 group(s)" in body
    assert "@media print" in html
    assert "white-space:nowrap" in html  # column headers never break mid-word
    data = r.to_json()
    assert "9.476583836665625" in data["sections"][1]["content"]
    table = next(s for s in data["sections"] if s["kind"] == "table")
    assert len(table["content"]["rows"]) == 10 and table["content"]["rows"][0][3] == 0.123456789


def test_markdown_has_contents_and_formatted_tables():
    md = _report().to_markdown()
    assert "## Contents\n\n1. Alert correlation — 7 incidents in 5 min" in md
    assert "| 10 | svc0, svc1, svc2 and 7 more | same | 15 min | 0.1235 |" in md
    assert "0.123456789" not in md


def test_single_part_reports_have_no_contents():
    r = Report("one")
    r.add(_Found("Only", 1))
    assert "<nav" not in r.to_html() and "## Contents" not in r.to_markdown()


def test_sections_without_results_render_as_before():
    r = Report("plain")
    r.add(Section.markdown("## Notes\n\nChecked at 2026-01-05 04:01:00+00:00."))
    assert "Checked at 2026-01-05 04:01 UTC." in r.to_html()
