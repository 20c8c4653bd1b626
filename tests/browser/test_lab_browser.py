"""JupyterLab with the jupyter-ops extension, as a person uses it, in Debian's Chromium.

One real ``jupyter lab`` (127.0.0.1, token) and one page for the whole module; the tests run
in order like a session: open the notebook and run it, look at the rendered result, open the
Ops sidebar, export the report from the command palette, change the report format in the
Settings Editor, check that hostile text stays text, and use the widgets. Each step saves a screenshot in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import time

import pytest

from ._lab import KERNEL_IDLE_JS, wait_lab_ready, write_notebook

HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1">'

CELLS = [
    ("markdown", "# Checkout investigation\nA browser-test notebook for the jupyter-ops extension."),
    ("code", "%load_ext jupyter_ops\n"
             "from jupyter_ops import aiops\n"
             "from jupyter_ops.datasets import incident_scenario\n"
             "scenario = incident_scenario(seed=0)"),
    ("code", "%aiops_anomalies scenario.metrics -o anomalies"),
    ("code", "# a hostile alert name and message on every checkout alert\n"
             f"hostile = {HOSTILE!r}\n"
             "alerts = scenario.alerts.copy()\n"
             "checkout = alerts['service'] == 'checkout'\n"
             "alerts['name'] = alerts['name'].where(~checkout, hostile)\n"
             "alerts['message'] = alerts['message'].where(~checkout, hostile)\n"
             "ip = get_ipython()\n"
             "if 'aiops_correlate' in ip.magics_manager.magics['line']:\n"
             "    corr = ip.run_line_magic('aiops_correlate', 'alerts --topology scenario.topology')\n"
             "else:\n"
             "    corr = aiops.correlate(alerts, topology=scenario.topology)\n"
             "corr"),
    ("code", "%%mlops_track -e browser-test -n browser-run\n"
             "alpha = 0.5\n"
             "{'accuracy': 0.91}"),
    # no renderer set up: jupyter-ops charts draw offline by themselves
    ("code", "from jupyter_ops.datasets import drift_scenario\n"
             "from jupyter_ops.widgets import DriftDashboard\n"
             "ds = drift_scenario(seed=0, n_rows=2000)\n"
             "dash = DriftDashboard(ds.reference, ds.current, columns=ds.numeric[:3])\n"
             "dash"),
    ("code", "from jupyter_ops.widgets import IncidentExplorer\n"
             "IncidentExplorer(scenario.alerts, topology=scenario.topology, logs=scenario.logs,\n"
             "                 deploys=scenario.deploys)"),
]


def shot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"))


def run_command(page, command: str, args: dict | None = None):
    return page.evaluate("([c, a]) => window.jupyterapp.commands.execute(c, a)",
                         [command, args or {}])


@pytest.fixture(scope="module")
def notebook(lab, lab_root):
    write_notebook(lab_root / "investigation.ipynb", CELLS)
    return "investigation.ipynb"


def test_open_notebook_run_and_see_result(page, lab, notebook, artifacts):
    t0 = time.perf_counter()
    page.goto(lab.lab_url(notebook))
    wait_lab_ready(page)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    page.wait_for_function(KERNEL_IDLE_JS, timeout=60000)
    print(f"lab + notebook + kernel ready in {time.perf_counter() - t0:.1f}s")
    run_command(page, "notebook:run-all-cells")
    # the anomalies result: cards, a table and a chart drawn by vega (svg)
    result = page.locator(".jp-OpsResult .jops-result[data-kind='anomalies']")
    result.wait_for(timeout=90000)
    assert result.locator(".jops-title").inner_text() == "Metric anomalies"
    cards = result.locator(".jops-card")
    assert cards.count() >= 3
    assert result.locator(".jops-card.jops-status-warn").count() >= 1
    table = result.locator(".jops-table").first
    assert table.locator("tbody tr").count() > 0
    result.locator(".jops-chart-view svg").first.wait_for(timeout=30000)
    # the last cells finished too (correlation and the tracked run)
    page.locator(".jops-result[data-kind='correlation']").wait_for(timeout=60000)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=60000)
    result.scroll_into_view_if_needed()
    shot(page, artifacts, "01-result-rendered")
    assert page.js_errors == []


def test_table_sorts_filters_and_pages(page, artifacts):
    result = page.locator(".jops-result[data-kind='anomalies']")
    # the "methods" table has one row per series (36): sort, filter, page
    section = result.locator("details.jops-table-section").nth(1)
    section.locator("summary").click()
    table = section.locator(".jops-table")
    table.wait_for()
    status = table.locator(".jops-table-status")
    assert status.inner_text().startswith("1–25 of 36")
    table.locator(".jops-next").click()
    assert status.inner_text().startswith("26–36 of 36")
    header = table.locator("th").first
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    first = table.locator("tbody tr td").first.inner_text()
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert table.locator("tbody tr td").first.inner_text() >= first
    table.locator(".jops-table-filter").fill("checkout")
    assert "(filtered from 36)" in status.inner_text()
    for cell in table.locator("tbody tr").all_inner_texts():
        assert "checkout" in cell.lower()
    section.scroll_into_view_if_needed()
    shot(page, artifacts, "02-table-filtered")


def test_hostile_alert_text_is_shown_as_text(page, artifacts):
    corr = page.locator(".jops-result[data-kind='correlation']")
    cell = corr.locator("td", has_text="<img src=x onerror=").first
    cell.wait_for()
    assert HOSTILE in cell.inner_text()
    # no element was made from it, and its handler never ran
    assert page.locator(".jp-OutputArea img").count() == 0
    assert page.evaluate("() => document.body.dataset.pwned") is None
    cell.scroll_into_view_if_needed()
    shot(page, artifacts, "03-hostile-text")


def test_sidebar_lists_results_and_runs(page, artifacts):
    page.locator(".jp-SideBar.jp-mod-left [data-id='jupyter-ops-sidebar']").click()
    sidebar = page.locator("#jupyter-ops-sidebar")
    sidebar.wait_for()
    items = sidebar.locator(".jops-sb-result")
    items.first.wait_for()
    titles = items.locator(".jops-sb-title").all_inner_texts()
    assert "Metric anomalies" in titles
    assert "Alert correlation" in titles
    # newest first: the correlation ran after the anomalies
    assert titles.index("Alert correlation") < titles.index("Metric anomalies")
    # click: the notebook scrolls to (and activates) the cell of that result
    items.filter(has_text="Metric anomalies").first.click()
    page.wait_for_function(
        "() => !!document.querySelector('.jp-Cell.jp-mod-active .jops-result[data-kind=anomalies]')")
    # the tracked run shows in the MLflow list (from the server extension)
    sidebar.locator(".jops-sb-refresh:not(.jops-sb-alerts-refresh)").click()
    sidebar.locator(".jops-sb-run", has_text="browser-run").wait_for(timeout=30000)
    shot(page, artifacts, "04-sidebar")


def test_export_report_from_palette(page, lab, lab_root, artifacts):
    report = lab_root / "investigation-report.html"
    assert not report.exists()
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click()
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    palette.wait_for()
    palette.fill("Export ops report")
    page.locator(".lm-CommandPalette-item", has_text="Export ops report").first.click()
    status = page.locator("#jupyter-ops-sidebar .jops-sb-export-status.jops-ok")
    status.wait_for(timeout=60000)
    assert "investigation-report.html" in status.inner_text()
    assert report.exists()
    html = report.read_text(encoding="utf-8")
    assert "Metric anomalies" in html
    # the sidebar's button does the same
    report.unlink()
    page.locator("#jupyter-ops-sidebar .jops-sb-export-btn").click()
    page.wait_for_function("() => !document.querySelector('.jops-sb-export-btn').disabled")
    status.wait_for(timeout=60000)
    assert report.exists()
    shot(page, artifacts, "05-exported")


def test_report_format_setting_changes_the_export(page, lab, lab_root, artifacts):
    """Settings -> Settings Editor -> jupyter-ops: report format md; the export writes .md."""
    page.locator(".lm-MenuBar-item", has_text="Settings").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Settings Editor").first.click()
    page.locator(".jp-PluginList .jp-PluginList-entry", has_text="jupyter-ops").first.click()
    select = page.locator(".jp-SettingsPanel select[id$='reportFormat']")
    select.wait_for(timeout=30000)

    def saved() -> bool:
        status, body = lab.api("/lab/api/settings/jupyter-ops:plugin")
        return status == 200 and (body.get("settings") or {}).get("reportFormat") == "md"

    # saved through the settings API (what a reload or another browser would see); a change
    # made while the form is still mounting can be dropped, so pick it again if needed
    for _attempt in range(4):
        if select.input_value() == "1":  # rjsf's option values are enum indexes
            select.select_option("html")
        select.select_option("md")
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and not saved():
            time.sleep(0.3)
        if saved():
            break
    assert saved(), "the report format was not saved by the Settings Editor"
    select.scroll_into_view_if_needed()
    shot(page, artifacts, "09-settings-report-format")
    # ... and the running extension uses it at once
    page.locator(".lm-TabBar-tab", has_text="investigation.ipynb").first.click()
    report = lab_root / "investigation-report.md"
    assert not report.exists()
    page.locator("#jupyter-ops-sidebar .jops-sb-export-btn").click()
    status_line = page.locator("#jupyter-ops-sidebar .jops-sb-export-status.jops-ok",
                               has_text="investigation-report.md")
    status_line.wait_for(timeout=60000)
    assert report.exists()
    text = report.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#") and "Metric anomalies" in text and "<html" not in text


def test_settings_schema_is_served(lab):
    status, body = lab.api("/lab/api/settings/jupyter-ops:plugin")
    assert status == 200
    props = body["schema"]["properties"]
    assert props["correlationWindow"]["default"] == "5min"
    assert props["reportFormat"]["enum"] == ["html", "md", "json"]
    assert set(props) == {"correlationWindow", "trackingUri", "reportFormat", "runsLimit"}


def test_insert_templates_and_run_them(page, artifacts):
    """The toolbar menu inserts a drift check; the palette command an incident investigation;
    both run as inserted against the real magics."""
    nb = page.locator(".jp-NotebookPanel").first
    before = nb.locator(".jp-Cell").count()
    nb.locator(".jp-OpsToolbarButton").click()
    page.locator(".jp-OpsMenu .lm-Menu-item", has_text="Insert drift check").click()
    assert nb.locator(".jp-Cell").count() == before + 1
    active = nb.locator(".jp-Cell.jp-mod-active .jp-InputArea-editor")
    assert "%mlops_drift drift.reference drift.current" in active.inner_text()
    run_command(page, "notebook:run-cell")
    nb.locator(".jops-result[data-kind='drift']").wait_for(timeout=90000)
    run_command(page, "jupyter-ops:insert-incident")
    active = nb.locator(".jp-Cell.jp-mod-active .jp-InputArea-editor")
    assert "--window 5min" in active.inner_text()
    run_command(page, "notebook:run-cell")
    page.wait_for_function(
        "() => document.querySelectorAll(\".jops-result[data-kind='correlation']\").length >= 2",
        timeout=60000)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=60000)
    nb.locator(".jops-result[data-kind='drift']").scroll_into_view_if_needed()
    shot(page, artifacts, "06-templates-run")


def test_widget_renders_and_redraws_its_chart(page, artifacts):
    """The DriftDashboard (ipywidgets): picking another column redraws the distribution chart."""
    widget = page.locator(".jp-OutputArea-output .jops-drift-dashboard").first
    widget.wait_for(timeout=60000)
    chart = widget.locator(".widget-output svg").first
    chart.wait_for(timeout=30000)
    widget.scroll_into_view_if_needed()
    before = chart.inner_html()
    select = widget.locator(".widget-dropdown select").first
    options = select.evaluate("s => Array.from(s.options).map(o => o.textContent.trim())")
    assert len(options) >= 2
    shot(page, artifacts, "07-widget-before")
    select.select_option(index=1)
    page.wait_for_function(
        """([before]) => {
             const svg = document.querySelector('.jops-drift-dashboard .widget-output svg');
             return !!svg && svg.innerHTML !== before;
           }""", arg=[before], timeout=30000)
    # the new chart is about the chosen column
    assert options[1] in widget.locator(".widget-output").first.inner_text() or \
        options[1] in widget.locator(".widget-output svg").first.inner_html()
    shot(page, artifacts, "08-widget-redrawn")


def test_incident_explorer_filters_and_redraws(page, artifacts):
    """IncidentExplorer on incident_scenario(seed=0): the severity filter shortens the incident
    list, picking an incident redraws its timeline chart, a wider window regroups."""
    ex = page.locator(".jp-OutputArea-output .jops-incident-explorer").first
    ex.wait_for(timeout=60000)
    ex.scroll_into_view_if_needed()
    incidents = ex.locator(".widget-select select option")
    chart = ex.locator(".widget-tab .widget-output svg").first
    chart.wait_for(timeout=30000)

    def options() -> list[str]:  # ipywidgets' Select shows spaces as no-break spaces
        return [t.replace("\xa0", " ") for t in incidents.all_inner_texts()]

    every = options()
    assert len(every) == 7 and "#1 HighLatencyP99 on payments" in every[0]
    assert "critical" in every[0] and any(", error," in t for t in every)
    shot(page, artifacts, "10-incident-explorer")
    window, severity = ex.locator(".widget-dropdown select").nth(0), \
        ex.locator(".widget-dropdown select").nth(1)
    listing = ex.locator(".widget-select select")

    def chosen() -> str:
        return listing.evaluate("s => s.options[s.selectedIndex].textContent").replace("\xa0", " ")

    # another incident: its timeline replaces the chart
    before = chart.inner_html()
    listing.select_option(index=2)
    page.wait_for_function(
        """([before]) => {
             const svg = document.querySelector('.jops-incident-explorer .widget-output svg');
             return !!svg && svg.innerHTML !== before;
           }""", arg=[before], timeout=30000)
    assert "PodCrashLooping on auth" in chosen()
    ex.locator(".widget-tab .jops-w td", has_text="auth").first.wait_for()  # its events
    # the severity filter drops the two error incidents and keeps the selection
    severity.select_option("critical")
    page.wait_for_function(
        "() => document.querySelectorAll('.jops-incident-explorer .widget-select option')"
        ".length === 5")
    assert all(", critical," in t for t in options())
    assert "PodCrashLooping on auth" in chosen()
    summary = ex.locator(".widget-html b").first
    before_summary = summary.inner_text()
    window.select_option("1min")
    page.wait_for_function(
        "([b]) => document.querySelector('.jops-incident-explorer .widget-html b')"
        ".textContent !== b", arg=[before_summary], timeout=30000)
    assert "9 incidents" in summary.inner_text()
    # a new correlation renumbers the incidents: the first one is shown again
    page.wait_for_function(KERNEL_IDLE_JS, timeout=30000)
    ex.locator(".widget-tab .jops-w td", has_text="payments").first.wait_for()
    chart.wait_for()
    ex.scroll_into_view_if_needed()
    shot(page, artifacts, "11-incident-explorer-filtered")


def test_dark_theme_keeps_widget_tables_readable(page, artifacts):
    """Under JupyterLab Dark the widgets' tables follow the theme (no light header band)."""
    run_command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'",
                           timeout=30000)
    th = page.locator(".jops-drift-dashboard .jops-w th").first
    th.scroll_into_view_if_needed()
    rgb = th.evaluate("e => getComputedStyle(e).backgroundColor")
    channels = [int(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    assert sum(channels) / 3 < 128, rgb
    # charts drawn in the light theme are redrawn in vega-embed's dark theme (background #333)
    page.wait_for_function(
        "() => /#333\\b|rgb\\(51, 51, 51\\)/i.test(document.querySelector("
        "'.jops-drift-dashboard .widget-output svg').outerHTML)", timeout=30000)
    shot(page, artifacts, "12-dark-theme-widgets")


def test_nothing_was_fetched_from_outside(browser_context):
    """Charts, widgets and the extension itself loaded nothing but from the local server."""
    assert browser_context.external_requests == []
