"""The report model: escaping, offline HTML, JSON round trip, atomic writes, provenance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from jupyter_ops.errors import OpsInputError
from jupyter_ops.report import Report, Section, hash_input, make_provenance
from jupyter_ops.results import MIME_TYPE, Result

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "</textarea><svg onload=alert(3)>",
    "javascript:alert(4)",
]


class HostileResult(Result):
    """A result whose every string comes from 'data'."""

    kind = "hostile"

    @property
    def title(self) -> str:
        return "Incident " + HOSTILE[0]

    def summary(self) -> str:
        return "summary " + HOSTILE[1]

    def figures(self):
        return [{"label": HOSTILE[2], "value": HOSTILE[1], "hint": HOSTILE[0]}]

    def tables(self):
        df = pd.DataFrame({h: [h, 1.5] for h in HOSTILE})
        return {"alerts " + HOSTILE[2]: df}

    def charts(self):
        import altair as alt

        data = pd.DataFrame({"service": HOSTILE, "alerts": [1, 2, 3, 4]})
        return {"by service": alt.Chart(data).mark_bar().encode(x="alerts:Q", y="service:N")}

    def explanations(self):
        return [("why " + HOSTILE[0], "because " + HOSTILE[1])]


def _report() -> Report:
    r = Report("Postmortem " + HOSTILE[0])
    r.add("Checkout was down. Root cause: **payments** " + HOSTILE[1])
    r.add(HostileResult(), call="%aiops_correlate alerts " + HOSTILE[3])
    r.add(pd.DataFrame({"col " + HOSTILE[0]: ["v " + HOSTILE[2]]}), title="raw")
    return r


def _tags(html: str) -> list[str]:
    return re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9-]*)", html)


def test_html_escapes_hostile_strings_everywhere():
    html = _report().to_html()
    assert "<script" not in html.lower()
    # event handlers can only appear inside escaped text, never as a real attribute
    assert not re.search(r"<[^>]*\son\w+\s*=", html)
    # no tag other than the ones the renderer itself writes
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "section", "p",
               "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "div",
               "details", "summary", "img", "ul", "li", "sub"}
    assert set(t.lower() for t in _tags(html)) <= allowed
    # the hostile text is there, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert "&lt;/textarea&gt;&lt;svg onload=alert(3)&gt;" in html
    # only our own chart images, and only data: URIs
    for src in re.findall(r'<img[^>]*\ssrc="([^"]*)"', html):
        assert src.startswith("data:image/svg+xml;base64,")
    assert len(re.findall(r"<img", html)) == 1


def test_html_is_self_contained_offline():
    html = _report().to_html()
    # no resource is loaded from the network: no src/href pointing anywhere but data:
    for attr, url in re.findall(r'\s(src|href)\s*=\s*"([^"]*)"', html):
        assert url.startswith("data:"), (attr, url)
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    assert "<link" not in html and "@import" not in html
    assert "Content-Security-Policy" in html


def test_markdown_escapes_html():
    md = _report().to_markdown()
    assert "<script" not in md
    assert "&lt;script&gt;" in md
    assert "<img" not in md
    # table cells survive with pipes escaped
    assert "| col &lt;script&gt;alert(1)&lt;/script&gt; |" in md


def test_json_round_trip_rebuilds_identical_html_and_markdown(tmp_path):
    r = _report()
    path = r.save(tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["schema"] == "jupyter-ops.report/2"
    again = Report.from_json(path)
    assert again.to_html() == r.to_html()
    assert again.to_markdown() == r.to_markdown()
    assert again.to_json() == r.to_json()


def test_report_carries_provenance(tmp_path):
    df = pd.DataFrame({"a": [1, 2, 3]})
    res = HostileResult()
    res.provenance = make_provenance("correlate(alerts, window='5min')", {"window": "5min"},
                                     {"alerts": df}, seed=7)
    r = Report("p")
    r.add(res, call="%aiops_correlate alerts --window 5min")
    data = r.to_json()
    first = data["sections"][0]["provenance"]
    assert first["call"] == "%aiops_correlate alerts --window 5min"
    assert first["inputs"]["alerts"] == hash_input(df)
    assert first["seed"] == 7
    env = data["environment"]
    assert env["python"] and env["packages"]["pandas"] == pd.__version__
    assert "jupyter-ops" in env["packages"] and env["platform"]
    html = r.to_html()
    assert hash_input(df)[:16] in html and "seed: 7" in html


def test_hash_input_is_content_based(tmp_path):
    a = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    b = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    assert hash_input(a) == hash_input(b)
    assert hash_input(a) != hash_input(a.assign(x=[1.0, 2.5]))
    assert hash_input(a) != hash_input(a.rename(columns={"x": "z"}))
    p1, p2 = tmp_path / "1.csv", tmp_path / "2.csv"
    p1.write_bytes(b"a,b\n1,2\n")
    p2.write_bytes(b"a,b\n1,2\n")
    assert hash_input(str(p1)) == hash_input(p2)


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    target.write_text("old report")
    r = _report()

    def boom(self, fmt):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(Report, "render", boom)
    with pytest.raises(RuntimeError):
        r.save(target)
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temp file left behind


def test_save_errors_are_clear(tmp_path):
    r = _report()
    with pytest.raises(OpsInputError, match=r"cannot tell the report format from 'r\.pdf'"):
        r.save(tmp_path / "r.pdf")
    with pytest.raises(OpsInputError, match="does not exist"):
        r.save(tmp_path / "missing" / "r.html")
    with pytest.raises(OpsInputError, match="not a jupyter-ops report"):
        Report.from_json({"schema": "other"})


def test_result_mimebundle_has_three_types_and_escapes():
    bundle = HostileResult()._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", MIME_TYPE}
    html = bundle["text/html"]
    assert "<script>" not in html and "<img" not in html
    payload = bundle[MIME_TYPE]
    json.dumps(payload, allow_nan=False)  # strictly valid JSON
    assert payload["version"] == 1 and payload["kind"] == "hostile"
    assert payload["tables"][0]["columns"][0]["name"] == HOSTILE[0]  # raw: the renderer escapes
    assert payload["charts"][0]["spec"]["mark"]["type"] == "bar"
    assert "alerts" in bundle["text/plain"]


def test_section_rejects_unknown_kinds():
    with pytest.raises(OpsInputError, match="unknown report section kind"):
        Section.from_json({"kind": "script", "content": "x"})


def test_report_add_rejects_unknown_objects():
    with pytest.raises(OpsInputError, match="cannot add a object"):
        Report("x").add(object())


def test_saved_html_opens_as_a_file(tmp_path):
    path = _report().save(tmp_path / "report.html")
    text = Path(path).read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")


def test_html_tables_show_times_to_the_second_and_keep_the_full_value():
    df = pd.DataFrame({"start": pd.to_datetime(["2026-01-05 02:18:33.259977216"], utc=True)})
    r = Report("t")
    r.add(df, title="times")
    html = r.to_html()
    assert ">2026-01-05 02:18:33</td>" in html
    assert 'title="2026-01-05T02:18:33.259977216+00:00"' in html
    assert r.to_json()["sections"][0]["content"]["rows"][0][0].startswith("2026-01-05T02:18:33.259977216")
