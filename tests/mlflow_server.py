"""A real ``mlflow server`` on 127.0.0.1 for the tracking tests (start, outage, restart).

The backend store and the artifacts live in a temporary folder. Clients talk to the server
through a small TCP gate on a fixed port: :meth:`MlflowServer.stop` closes the gate (new
connections are refused, open ones are cut, exactly what a client sees when the server dies)
and :meth:`MlflowServer.start` opens it again in milliseconds, while the ``mlflow server``
process (20-30 s to start on a busy 2-core machine) keeps running until :meth:`close`. Runs
buffered while the gate is closed can be synced to the same URI afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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


class _Gate:
    """TCP forwarder ``127.0.0.1:port`` -> ``127.0.0.1:backend``; :meth:`close` is an outage."""

    def __init__(self, port: int, backend: int) -> None:
        self.backend = backend
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.open = True
        self.sock = socket.create_server(("127.0.0.1", port))  # SO_REUSEADDR on POSIX
        self.sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.backend), timeout=10)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self.lock:
                self.conns.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self.lock:
            self.conns.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def close(self) -> None:
        self.open = False
        self.sock.close()
        self.thread.join(timeout=5)
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            self._drop(s)


class MlflowServer:
    """``mlflow server`` in its own process group behind a :class:`_Gate`.

    :meth:`stop` is an outage (the gate closes), :meth:`start` ends it; :meth:`close` kills
    the whole process group.
    """

    def __init__(self, root: Path, port: int | None = None,
                 backend_uri: str | None = None) -> None:
        """``backend_uri`` None: a fresh SQLite store in ``root`` (created at first start)."""
        self.backend_uri = backend_uri
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.backend_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.gate: _Gate | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> MlflowServer:
        if self.proc is None or self.proc.poll() is not None:
            self._launch(timeout)
        if self.gate is None:
            self.gate = _Gate(self.port, self.backend_port)
        return self

    def _launch(self, timeout: float) -> None:
        backend = self.backend_uri
        if backend is None:
            if not (self.root / "s.db").exists():
                fresh_store(self.root / "s.db")
            backend = f"sqlite:///{self.root / 's.db'}"
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
               "--port", str(self.backend_port), "--workers", "1",
               "--backend-store-uri", backend,
               "--artifacts-destination", str(self.root / "art"), "--serve-artifacts"]
        self.log = open(self.root / "server.log", "ab")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.root, env=env, start_new_session=True)
        url = f"http://127.0.0.1:{self.backend_port}/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.root / "server.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"mlflow server exited: {tail}")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.close()
        raise RuntimeError(f"mlflow server did not start in {timeout} s")

    def stop(self) -> None:
        """An outage: connections to :attr:`uri` are refused until :meth:`start`."""
        if self.gate is not None:
            self.gate.close()
            self.gate = None
        # wait until the port is really closed so the client sees "connection refused"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the gate and kill the server process group."""
        self.stop()
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=3)
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
