"""Charts cannot kill the process and cannot fetch: the issue's reproductions, as tests.

The CLI runs in a real subprocess here: vl-convert aborts the whole process (exit 134) on a
character XML forbids, so only a separate process can show that it no longer happens.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "jupyter_ops", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def svgs(html: str) -> list[str]:
    return [base64.b64decode(m).decode("utf-8")
            for m in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)]


def test_esc_in_log_lines_writes_the_report_with_the_text_visible(tmp_path):
    # the issue's reproduction: before the fix the CLI died with exit 134 (SIGABRT)
    (tmp_path / "c.log").write_bytes(
        b"2024-05-01T10:00:01Z INFO \x1b[32mok\x1b[0m id=1\n"
        b"2024-05-01T10:00:02Z INFO \x1b[32mok\x1b[0m id=2\n")
    p = cli("aiops", "logs", "c.log", "--report", "r.html", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "\x1b" not in html and "\\x1b[" in html
    charts = svgs(html)
    assert charts and any("\\x1b" in s for s in charts)


def test_esc_in_a_metric_name_and_bel_in_a_column_name_keep_their_charts(tmp_path, monkeypatch,
                                                                       capsys):
    # in-process (fast): the subprocess test above already proves the process survives
    from jupyter_ops.cli import main

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    ts = pd.date_range("2024-05-01", periods=400, freq="1min", tz="UTC")
    v = rng.normal(10, 1, 400)
    v[300:305] = 60
    pd.DataFrame({"timestamp": ts, "service": "api", "metric": "lat\x1bency\u202e",
                  "value": v}).to_csv(tmp_path / "m.csv", index=False)
    pd.DataFrame({"a\x07b": rng.normal(0, 1, 300), "c": rng.normal(0, 1, 300)}).to_csv(
        tmp_path / "ref.csv", index=False)
    pd.DataFrame({"a\x07b": rng.normal(3, 1, 300), "c": rng.normal(0, 1, 300)}).to_csv(
        tmp_path / "cur.csv", index=False)
    assert main(["aiops", "anomalies", "m.csv", "--report", "a.html"]) == 1  # the spike
    assert main(["mlops", "drift", "ref.csv", "cur.csv", "--no-multivariate",
                 "--report", "d.md"]) == 1  # a\x07b drifted
    capsys.readouterr()
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert any("lat\\x1bency\\u202e" in s for s in svgs(html))
    md = (tmp_path / "d.md").read_text(encoding="utf-8")
    assert "a\\x07b" in md and "\x07" not in md


def test_chart_from_our_own_results_draws_the_escaped_field_values():
    from jupyter_ops.report import Report, Section

    spec = {"data": {"values": [{"k\x1bey": "v\x07al", "n": 3}]}, "mark": "bar",
            "encoding": {"x": {"field": "k\x1bey", "type": "nominal"},
                         "y": {"field": "n", "type": "quantitative"}}}
    html = Report("r", [Section("chart", spec)]).to_html()
    (svg,) = svgs(html)
    assert "v\\x07al" in svg  # the bar's label: the field still matched its data key


@pytest.fixture
def counting_server(tmp_path):
    """A real HTTP server on 127.0.0.1 (own process: vl-convert holds the GIL while it
    fetches) that appends every request path to a file."""
    log = tmp_path / "requests.txt"
    log.write_text("")
    code = (
        "import http.server,sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        open(sys.argv[1],'a').write(self.path+'\\n')\n"
        "        b=b'a,b\\nSTOLEN,5\\n'\n"
        "        self.send_response(200);self.send_header('Content-Length',str(len(b)))\n"
        "        self.end_headers();self.wfile.write(b)\n"
        "    def log_message(self,*a): pass\n"
        "s=http.server.HTTPServer(('127.0.0.1',0),H)\n"
        "print(s.server_address[1],flush=True)\n"
        "s.serve_forever()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(log)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        # prove the server counts: one request of our own
        with urllib.request.urlopen(f"{url}/probe", timeout=10) as r:
            r.read()
        assert log.read_text().split() == ["/probe"]
        log.write_text("")
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_tampered_report_makes_no_request_and_draws_no_fetched_data(tmp_path, counting_server):
    from jupyter_ops.report import Report

    url, log = counting_server
    base = Report("t").to_json()
    enc = {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}}
    base["sections"] = [
        {"kind": "chart", "title": "exfil", "content": {
            "data": {"url": f"{url}/exfil.csv", "format": {"type": "csv"}}, "mark": "bar",
            "encoding": enc}},
        {"kind": "chart", "title": "layered", "content": {"layer": [
            {"data": {"url": f"{url}/layer.csv"}, "mark": "bar", "encoding": enc},
            {"data": {"values": [{"u": f"{url}/img.png", "a": "x", "b": 1}]}, "mark": "image",
             "encoding": {"url": {"field": "u"}, "href": {"field": "u"}, **enc}}]}},
        {"kind": "chart", "title": "file", "content": {
            "data": {"url": "file:///etc/passwd"}, "mark": "bar"}},
    ]
    (tmp_path / "chart.json").write_text(json.dumps(base))
    # reading validates the report against its schema: URL-bearing chart data is refused
    # (exit 2, naming the section and field), nothing is fetched and nothing is written
    p = cli("report", "chart.json", "out.html", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert "data.url" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    time.sleep(0.3)
    assert log.read_text() == ""  # zero requests
    assert not (tmp_path / "out.html").exists()

    # defence in depth: sections built in memory (no schema on that path) render from inline
    # data only -- the URLs are stripped before vl-convert sees the spec, and vl-convert runs
    # with no allowed base URL
    from jupyter_ops.report.model import Section

    report = Report("t", [Section(s["kind"], s["content"], s["title"], {}, trusted=False)
                          for s in base["sections"]])
    html = report.to_html()
    time.sleep(0.3)
    assert log.read_text() == ""  # zero requests
    assert "STOLEN" not in "".join(svgs(html)) and "root:" not in "".join(svgs(html))


def url_keys(value) -> list[str]:
    if isinstance(value, dict):
        return [k for k in value if k in ("url", "href", "usermeta")] + [
            x for v in value.values() for x in url_keys(v)]
    if isinstance(value, list):
        return [x for v in value for x in url_keys(v)]
    return []


def test_renderer_refuses_urls_even_if_a_spec_skips_the_sanitiser(counting_server):
    # defence in depth: vl-convert itself is called with network/file access off
    from jupyter_ops.report.charts import _render_here

    url, log = counting_server
    out = _render_here({"spec": {"data": {"url": f"{url}/x.csv"}, "mark": "bar"},
                        "vl_version": None})
    assert "svg" not in out and "not allowed" in out["error"]
    assert log.read_text() == ""


def test_a_spec_whose_expression_crashes_vl_convert_costs_only_its_chart(tmp_path):
    from jupyter_ops.report import Report

    ok = {"data": {"values": [{"a": "fine", "b": 2}]}, "mark": "bar",
          "encoding": {"x": {"field": "a", "type": "nominal"},
                       "y": {"field": "b", "type": "quantitative"}}}
    # a Vega expression builds ESC at render time: vl-convert would abort the process
    boom = {"data": {"values": [{"a": 1}]},
            "transform": [{"calculate": "'a\\x1bb'", "as": "t"}],
            "mark": "text", "encoding": {"text": {"field": "t"}}}
    data = Report("t").to_json()
    data["sections"] = [{"kind": "chart", "title": t, "content": c}
                        for t, c in (("one", ok), ("boom", boom), ("two", ok))]
    html = Report.from_json(data).to_html()  # in this very process: it must survive
    assert len(svgs(html)) == 2
    assert "chart not rendered" in html and "exit status" in html
