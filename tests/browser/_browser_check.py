"""``jupyterlab.browser_check`` with Debian's Chromium driven by Python Playwright.

JupyterLab's own ``python -m jupyterlab.browser_check`` runs ``npx playwright install`` (a
browser download, impossible offline) and needs Node.js. This script keeps everything else of
it (the ``BrowserApp`` that starts JupyterLab with ``browserTest`` page config and exits non-zero
on any logged error) and plugs in a test function through the module's documented hook
``run_test(app, func)``: it loads the page in ``/usr/bin/chromium``, waits for JupyterLab to
start, fails on errors JupyterLab collected in ``#browserTest``, and checks that the
jupyter-ops plugins are activated.

Usage: ``python tests/browser/_browser_check.py [--ServerApp.* options]``
"""

from __future__ import annotations

import json
import os
import sys

from jupyterlab.browser_check import BrowserApp, run_test
from jupyterlab.labapp import LabApp

CHROMIUM = os.environ.get("JUPYTER_OPS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]


def check_in_chromium(url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.locator("#jupyter-config-data").wait_for(state="attached")
            page.wait_for_selector("#main", timeout=100000)
            el = page.wait_for_selector("#browserTest", timeout=100000, state="attached")
            page.wait_for_selector(".completed", state="attached", timeout=100000)
            errors = json.loads(el.text_content() or "[]")
            for error in errors:
                print(f"Parsed an error from text content: {error.get('message')}", error,
                      flush=True)
            if errors:
                raise RuntimeError(f"{len(errors)} error(s) in the browser")
            # the federated module was loaded and the plugin activated (its sidebar tab exists)
            if not page.evaluate("() => !!(window._JUPYTERLAB || {})['jupyter-ops']"):
                raise RuntimeError("the jupyter-ops federated extension was not loaded")
            page.locator(".jp-SideBar [data-id='jupyter-ops-sidebar']").wait_for(
                state="attached", timeout=30000)
            print(f"Browser check passed in {CHROMIUM}: jupyter-ops loaded and activated",
                  flush=True)
        finally:
            browser.close()


class ChromiumBrowserApp(BrowserApp):
    """BrowserApp whose browser step uses Chromium through Python Playwright."""

    def initialize_handlers(self) -> None:
        log = self.serverapp.log

        def check(url: str) -> None:
            # run_test awaits a thread's result with asyncio.wait, which swallows exceptions:
            # log them as errors, which makes BrowserApp exit 1
            try:
                check_in_chromium(url)
            except Exception as e:
                log.error("browser check failed: %s: %s", type(e).__name__, e)

        run_test(self.serverapp, check)
        LabApp.initialize_handlers(self)


def _jupyter_server_extension_points() -> list[dict]:
    # jupyter_server looks the app up in the package of its class: this script (__main__)
    return [{"module": __name__, "app": ChromiumBrowserApp}]


if __name__ == "__main__":
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    sys.exit(ChromiumBrowserApp.launch_instance())
