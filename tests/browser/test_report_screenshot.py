"""The demo report as a responder sees it in Chromium: contents, whole headers, size, print.

Screenshots (screen and print) go to test-artifacts/browser/ to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._ci import skip_or_fail

from ._lab import browser_available, chromium

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

#: the demo report before contents, grouping and scroll boxes (issue 16): 18,700 px tall
BEFORE_PX = 18_700


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    reason = browser_available()
    if reason:
        skip_or_fail(reason)
    from jupyter_ops.cli import main

    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out / "report.html"


def test_demo_report_reads_well_in_chromium(demo_report, artifacts):
    assert demo_report.stat().st_size < 1_000_000
    with chromium(viewport=(1200, 900)) as context:
        page = context.new_page()
        page.goto(demo_report.as_uri())
        page.screenshot(path=str(artifacts / "report-top.png"))
        toc = page.eval_on_selector_all(
            "nav.jops-toc li", "els => els.map(e => [e.querySelector('a').getAttribute('href'),"
            " (e.querySelector('.jops-key') || {}).textContent || ''])")
        assert len(toc) >= 10
        for href, _ in toc:  # every link lands on a section of the report
            assert page.locator(f"section{href}").count() == 1, href
        keyed = [k for _, k in toc if k]
        assert len(keyed) >= len(toc) - 2  # free-text parts may have none
        assert "7 incidents" in " ".join(keyed)

        # headers: each column header's text lays out on one line (never `severit y`)
        broken = page.evaluate("""() => Array.from(document.querySelectorAll('th')).filter(th => {
            const r = document.createRange(); r.selectNodeContents(th);
            const tops = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top)));
            return tops.size > 1; }).map(th => th.textContent)""")
        assert broken == []

        # prose shows no raw pandas values
        text = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.jops-section > p, .jops-section li, .jops-card')).map(e => e.textContent).join('\\n')""")
        assert "0 days 0" not in text
        assert not [w for w in text.split() if w.count(".") == 1 and len(w.split(".")[1]) > 8
                    and w.replace(".", "").replace("-", "").isdigit()]

        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < BEFORE_PX, height

        page.locator("a[href='#part-2']").click()
        page.wait_for_timeout(200)
        assert page.evaluate("window.scrollY") > 300
        page.screenshot(path=str(artifacts / "report-part2.png"))

        # printed: provenance folded away, scroll boxes opened, contents kept
        page.emulate_media(media="print")
        assert page.eval_on_selector("details.jops-prov", "e => getComputedStyle(e).display") == "none"
        assert page.eval_on_selector(".jops-scroll", "e => getComputedStyle(e).maxHeight") == "none"
        assert page.is_visible("nav.jops-toc")
        pdf = page.pdf(format="A4")
        (artifacts / "report.pdf").write_bytes(pdf)
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
