"""Start real Prometheus, Alertmanager and node-exporter (Debian packages) on 127.0.0.1.

Free ports, temporary data directories, short readiness polls. A missing binary skips locally
and fails under ``CI=true`` (the CI installs the packages with apt-get).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

BINARIES = {
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "node_exporter": "prometheus-node-exporter",
    "promtool": "promtool",
}


def binary(name: str) -> str:
    exe = shutil.which(BINARIES[name]) or shutil.which(name)
    if exe is None:
        msg = (f"{BINARIES[name]} not installed (apt-get install prometheus "
               f"prometheus-alertmanager prometheus-node-exporter)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30.0,
               auth: tuple[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {_log(proc)}")
        try:
            if httpx.get(url, timeout=1.0, auth=auth).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout} s: {_log(proc)}")


def _log(proc: subprocess.Popen) -> str:
    path = getattr(proc, "log_path", None)
    return Path(path).read_text()[-2000:] if path and Path(path).exists() else ""


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    extra: dict = field(default_factory=dict)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _start(args: list[str], workdir: Path, name: str) -> subprocess.Popen:
    log = workdir / f"{name}.log"
    proc = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            cwd=workdir)
    proc.log_path = str(log)  # type: ignore[attr-defined]
    return proc


def start_node_exporter(workdir: Path) -> Server:
    port = free_port()
    proc = _start([binary("node_exporter"), f"--web.listen-address=127.0.0.1:{port}",
                   "--collector.disable-defaults", "--collector.cpu", "--collector.meminfo",
                   "--collector.loadavg"], workdir, "node_exporter")
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/metrics", proc)
    return Server(url, proc)


def start_alertmanager(workdir: Path) -> Server:
    port = free_port()
    d = workdir / "alertmanager"
    d.mkdir(parents=True, exist_ok=True)
    (d / "am.yml").write_text(
        "route:\n  receiver: blackhole\n  group_wait: 1s\n  group_interval: 1s\n"
        "receivers:\n  - name: blackhole\n")
    proc = _start([binary("alertmanager"), f"--config.file={d / 'am.yml'}",
                   f"--storage.path={d / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                   "--cluster.listen-address="], workdir, "alertmanager")
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/-/ready", proc)
    return Server(url, proc)


RULES = """groups:
  - name: jops-test
    interval: 1s
    rules:
      - alert: NodeUp
        expr: up{job="node"} == 1
        labels:
          severity: critical
          service: checkout
        annotations:
          summary: "node exporter {{ $labels.instance }} is up <b>(test)</b>"
"""


def start_prometheus(workdir: Path, targets: list[str], alertmanager: str | None = None,
                     basic_auth: tuple[str, str] | None = None, name: str = "prometheus",
                     data_dir: Path | None = None, extra_args: list[str] | None = None) -> Server:
    port = free_port()
    d = workdir / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "rules.yml").write_text(RULES)
    am = ""
    if alertmanager:
        am = ("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['"
              + alertmanager.split("://", 1)[1] + "']\n")
    scrape = ""
    if targets:
        scrape = (f"scrape_configs:\n  - job_name: node\n    static_configs:\n"
                  f"      - targets: ['{targets[0]}']\n")
        if basic_auth is None:
            scrape += (f"  - job_name: prometheus\n    static_configs:\n"
                       f"      - targets: ['127.0.0.1:{port}']\n")
    (d / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {d / 'rules.yml'}\n{am}{scrape}")
    args = [binary("prometheus"), f"--config.file={d / 'prometheus.yml'}",
            f"--storage.tsdb.path={data_dir or d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"]
    if basic_auth:
        import bcrypt

        hashed = bcrypt.hashpw(basic_auth[1].encode(), bcrypt.gensalt(rounds=4)).decode()
        (d / "web.yml").write_text(f"basic_auth_users:\n  {basic_auth[0]}: '{hashed}'\n")
        args.append(f"--web.config.file={d / 'web.yml'}")
    args += extra_args or []
    proc = _start(args, workdir, name)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/-/ready", proc, auth=basic_auth)
    return Server(url, proc)


@contextmanager
def prometheus_stack(workdir: Path) -> Iterator[dict[str, Server]]:
    """node-exporter, Alertmanager and a Prometheus scraping the one and alerting to the other.

    Yields ``{"node", "am", "prom"}``; every server started is stopped on exit, also when a
    later one fails to start.
    """
    servers: list[Server] = []
    try:
        node = start_node_exporter(workdir)
        servers.append(node)
        am = start_alertmanager(workdir)
        servers.append(am)
        prom = start_prometheus(workdir, [node.url.split("://")[1]], alertmanager=am.url)
        servers.append(prom)
        yield {"node": node, "am": am, "prom": prom}
    finally:
        for s in reversed(servers):
            s.stop()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2):
    """Poll ``predicate()`` until it returns something truthy; return it (or fail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@contextmanager
def hanging_http_server(hold: float = 60.0) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that answers ``/health`` and then holds every other request
    for ``hold`` seconds (a tracking server that hangs); yields its URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def _hang(self) -> None:
            if self.path.endswith("/health"):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")
                return
            release.wait(hold)

        do_GET = do_POST = _hang

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        release.set()
        srv.shutdown()
        srv.server_close()
