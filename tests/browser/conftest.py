"""Fixtures of the browser tests: a real ``jupyter lab`` and a headless Debian Chromium page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._ci import skip_or_fail

from ._lab import browser_available, chromium, lab_server, labextension_installed

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real jupyter lab in Chromium")
    config.addinivalue_line("markers", "wheel: builds and installs the wheel in a fresh venv")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lab-root")


@pytest.fixture(scope="module")
def lab(tmp_path_factory, lab_root):
    reason = browser_available()
    if reason:
        skip_or_fail(reason)
    if not labextension_installed():
        skip_or_fail("the jupyter-ops lab extension is not installed "
                    "(pip install -e . builds it; or jupyter labextension develop --overwrite .)")
    with lab_server(lab_root, tmp_path_factory.mktemp("lab-work")) as server:
        yield server


@pytest.fixture(scope="module")
def browser_context(lab):
    with chromium() as context:
        context.set_default_timeout(30000)
        # everything must come from the local server (vega is bundled, no CDN): record and
        # block any request to another host
        context.external_requests = []  # type: ignore[attr-defined]

        def route(r):
            url = r.request.url
            if url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
                r.continue_()
            else:
                context.external_requests.append(url)  # type: ignore[attr-defined]
                r.abort()

        context.route("**/*", route)
        yield context


@pytest.fixture(scope="module")
def page(browser_context):
    p = browser_context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.js_errors = errors  # type: ignore[attr-defined]
    yield p
    p.close()
