"""A real ``mlflow server`` on 127.0.0.1 for the tracking tests (start, kill, restart).

The backend store and the artifacts live in a temporary folder; the port is free at start
and kept across restarts, so runs buffered while the server is down can be synced to it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

_TEMPLATE: Path | None = None


def template_db() -> Path:
    """An empty MLflow SQLite store, created once per test process.

    Creating a store runs MLflow's schema migrations (several seconds here); copying this
    file is instant, so every test can still get a store of its own.
    """
    global _TEMPLATE
    if _TEMPLATE is None or not _TEMPLATE.exists():
        from mlflow.tracking import MlflowClient

        d = Path(tempfile.mkdtemp(prefix="jops-mlflow-template-"))
        cwd = os.getcwd()
        os.chdir(d)  # the Default experiment's artifact folder is made relative to the cwd
        try:
            MlflowClient(f"sqlite:///{d / 'template.db'}").search_experiments()
        finally:
            os.chdir(cwd)
        _TEMPLATE = d / "template.db"
    return _TEMPLATE


def fresh_store(path: Path) -> str:
    """Copy the template store to ``path`` (a .db file); its ``sqlite:///`` URI."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_db(), path)
    return f"sqlite:///{path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """``mlflow server`` in its own process group; :meth:`stop` kills the whole group."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> MlflowServer:
        if not (self.root / "s.db").exists():
            fresh_store(self.root / "s.db")
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{self.root / 's.db'}",
               "--artifacts-destination", str(self.root / "art"), "--serve-artifacts"]
        self.log = open(self.root / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.root, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: see {self.root / 'server.log'}")
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"mlflow server did not start in {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=5)
                except ProcessLookupError:
                    pass
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        # wait until the port is really closed so the client sees "connection refused"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.2)
