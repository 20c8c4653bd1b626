"""Start a real ``jupyter lab`` on 127.0.0.1 and drive Debian's Chromium with Playwright.

Shared by the browser tests and ``benchmarks/bench_labextension.py``. Nothing is downloaded:
Playwright (the Python package) launches ``/usr/bin/chromium``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("JUPYTER_OPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

#: plugins whose network access or pop-ups would disturb a headless test
QUIET_PLUGINS = {
    "@jupyterlab/apputils-extension:announcements": True,
}


def browser_available() -> str | None:
    """None when Playwright and Chromium are usable, else the reason they are not."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def labextension_installed() -> bool:
    from jupyter_core.paths import jupyter_path

    return any((Path(p) / "jupyter-ops" / "package.json").exists()
               for p in jupyter_path("labextensions"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LabServer:
    """A ``jupyter lab`` process with a token, its own config/runtime dirs and root dir."""

    def __init__(self, root: Path, work: Path, disabled: dict[str, bool] | None = None,
                 env: dict[str, str] | None = None, labextensions_path: list[str] | None = None,
                 server_extension: bool = True) -> None:
        self.root = root
        self.work = work
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.disabled = {**QUIET_PLUGINS, **(disabled or {})}
        self.extra_env = env or {}
        self.labextensions_path = labextensions_path
        self.server_extension = server_extension
        self.proc: subprocess.Popen[bytes] | None = None
        work.mkdir(parents=True, exist_ok=True)
        self.log_path = work / "lab.log"

    def _env(self) -> dict[str, str]:
        cfg = self.work / "config"
        (cfg / "labconfig").mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "ServerApp": {"jpserver_extensions": {"jupyter_ops": self.server_extension}}}
        if self.labextensions_path is not None:
            # exactly these prebuilt extensions (the benchmark compares with/without ours)
            config["LabApp"] = {"labextensions_path": self.labextensions_path}
        (cfg / "jupyter_server_config.json").write_text(json.dumps(config))
        (cfg / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": self.disabled}))
        env = dict(os.environ)
        env.update({
            "JUPYTER_CONFIG_DIR": str(cfg),
            "JUPYTER_RUNTIME_DIR": str(self.work / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(self.work / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.work / "workspaces"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{self.work / 'mlflow.db'}",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 90) -> None:
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               "--ServerApp.allow_root=True", f"--ServerApp.root_dir={self.root}",
               "--LabApp.expose_app_in_browser=True"]
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self._env(), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}",
                                            timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not start in {timeout}s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # the whole process group: the server and the kernels it started
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)

    def lab_url(self, path: str = "") -> str:
        tree = f"/tree/{path}" if path else ""
        return f"{self.url}/lab{tree}?token={self.token}"

    def api(self, path: str, token: bool = True) -> tuple[int, Any]:
        url = f"{self.url}{path}"
        if token:
            url += ("&" if "?" in url else "?") + f"token={self.token}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")


@contextmanager
def lab_server(root: Path, work: Path, **kwargs: Any) -> Iterator[LabServer]:
    server = LabServer(root, work, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def chromium(viewport: tuple[int, int] = (1400, 1000)) -> Iterator[Any]:
    """A fresh headless Chromium context (no video, no download)."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            yield context
        finally:
            browser.close()


KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

def wait_lab_ready(page: Any, timeout_ms: int = 60000) -> None:
    """Wait until JupyterLab has restored its layout."""
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell && "
        "document.querySelector('#jp-main-dock-panel') !== null", timeout=timeout_ms)
    page.evaluate("() => window.jupyterapp.restored")


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    """Write an .ipynb of ``(cell_type, source)`` pairs, without outputs."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for kind, src in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(src) if kind == "markdown"
                        else nbformat.v4.new_code_cell(src))
    nbformat.write(nb, str(path))
