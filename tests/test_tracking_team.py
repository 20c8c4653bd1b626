"""Team tracking: a real ``mlflow server`` on Debian's PostgreSQL, two IPython kernels tracking
cells at once, the server killed mid-run and restarted, ``%mlops_track sync``: every run,
parameter, metric point and artifact arrives exactly once.

PostgreSQL comes from the ``postgresql`` Debian package (``/usr/lib/postgresql/<v>/bin``):
``initdb`` into a temporary folder, ``pg_ctl`` on a free port on 127.0.0.1, run as the
``postgres`` system user when the tests run as root (PostgreSQL refuses to run as root; CI
runs as root). Under CI=true a missing PostgreSQL or MLflow fails instead of skipping.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from mlflow_server import MlflowServer, free_port

CI = os.environ.get("CI") == "true"
ROOT = Path(__file__).resolve().parents[1]
if not CI:
    pytest.importorskip("mlflow")
    pytest.importorskip("psycopg2")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Postgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust auth, one database ``mlflow``)."""

    def __init__(self, bindir: Path) -> None:
        self.bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="jops-pg-"))  # /tmp: reachable by postgres
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        full = [str(self.bin / cmd[0]), *cmd[1:]]
        if self.user:
            full = ["runuser", "-u", self.user, "--", *full]
        out = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                             cwd=self.dir)
        if out.returncode:
            log = (self.dir / "pg.log")
            raise RuntimeError(f"{cmd[0]} failed: {out.stderr[-2000:]}"
                               f"{log.read_text()[-2000:] if log.exists() else ''}")
        return out

    def start(self) -> Postgres:
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")
        self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "pg.log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -h 127.0.0.1 -k {self.dir} -F", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "mlflow")
        return self

    @property
    def uri(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/mlflow"

    def close(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except Exception:  # noqa: BLE001 - best effort at teardown
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class PgMlflowServer(MlflowServer):
    """Round 1's gated ``mlflow server`` (tests/mlflow_server.py) with a PostgreSQL store;
    :meth:`kill` kills the server process itself (not just the gate)."""

    def __init__(self, root: Path, backend_uri: str) -> None:
        super().__init__(root, backend_uri=backend_uri)

    def kill(self) -> None:
        """The server process dies (SIGKILL to its process group), as in a crash."""
        self.close()


@pytest.fixture(scope="module")
def postgres():
    bindir = _pg_bin()
    if bindir is None:
        if CI:
            pytest.fail("PostgreSQL binaries not found (Debian package 'postgresql'); CI needs them")
        pytest.skip("PostgreSQL not installed")
    pg = Postgres(bindir).start()
    yield pg
    pg.close()


@pytest.fixture(scope="module")
def team_server(postgres, tmp_path_factory):
    srv = PgMlflowServer(tmp_path_factory.mktemp("mlflow-team"), postgres.uri).start(timeout=180)
    yield srv
    srv.close()


# one "kernel": a real IPython shell in its own process, MLFLOW_TRACKING_URI set as a team
# member would set it, running tracked cells one after the other
KERNEL = textwrap.dedent("""
    import json, os, sys, time, warnings
    warnings.simplefilter("ignore")
    from IPython.core.interactiveshell import InteractiveShell
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_ops")
    name, n_cells, gate = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cards = []
    for i in range(n_cells):
        cell = (f"lr = {{i + 1}}\\n"
                f"who = {{name!r}}\\n"
                "from jupyter_ops import mlops\\n"
                "import time\\n"
                "for step in range(200):\\n"
                "    mlops.log_metric('loss', 1.0 / (step + 1), step=step)\\n"
                "    if step % 50 == 0:\\n"
                "        time.sleep(0.05)\\n"
                f"mlops.current_run().log_text('notes of ' + who, 'notes/{{name}}-{{i}}.txt')\\n")
        card = ip.run_cell_magic("mlops_track", f"-e team -n {{name}}-{{i}} --no-autolog", cell)
        cards.append({{"name": f"{{name}}-{{i}}", "run_id": card.run_id,
                      "buffered": bool(card.buffered), "status": card.status}})
        with open(f"{{gate}}.{{name}}.done", "w") as f:
            f.write(str(i + 1))
        # after a few cells wait for the test to restart the server, so syncing can succeed
        while i == n_cells - 1 and not os.path.exists(gate + ".back"):
            time.sleep(0.1)
    sync = ip.run_line_magic("mlops_track", "sync")
    print(json.dumps({{"cards": cards,
                      "sync": sync.runs[["run_name", "action"]].to_dict("records")}}))
""")


def _cells_done(gate: Path, name: str) -> int:
    p = Path(f"{gate}.{name}.done")
    return int(p.read_text() or 0) if p.exists() else 0


def test_two_kernels_server_killed_mid_run_everything_arrives_once(team_server, tmp_path):
    from mlflow.tracking import MlflowClient

    n_cells = 4
    gate = tmp_path / "gate"
    procs = {}
    for name in ("alice", "bob"):
        env = dict(os.environ, MLFLOW_TRACKING_URI=team_server.uri,
                   JUPYTER_OPS_BUFFER_DIR=str(tmp_path / f"buffer-{name}"),
                   PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", KERNEL.format(), name, str(n_cells), str(gate)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)

    def wait(cond, what, timeout=240):
        deadline = time.monotonic() + timeout
        while not cond():
            for n, p in procs.items():
                if p.poll() is not None and p.returncode:
                    raise AssertionError(f"kernel {n} died: {p.stderr.read()[-3000:]}")
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    # both kernels track online, then the server dies in the middle of their next cells
    wait(lambda: all(_cells_done(gate, n) >= 1 for n in procs), "one online cell each")
    team_server.kill()  # while both kernels are in their second cell
    wait(lambda: all(_cells_done(gate, n) >= 3 for n in procs), "cells during the outage")
    team_server.start(timeout=180)
    Path(f"{gate}.back").write_text("1")
    outs = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        outs[name] = json.loads(out.strip().splitlines()[-1])

    buffered = sum(c["buffered"] for o in outs.values() for c in o["cards"])
    assert buffered >= 2, "the outage buffered no run: the test did not test the outage"
    assert all(c["status"] == "FINISHED" for o in outs.values() for c in o["cards"])

    c = MlflowClient(team_server.uri)
    exp = c.get_experiment_by_name("team")
    runs = c.search_runs([exp.experiment_id], max_results=1000)
    by_name: dict[str, list] = {}
    for r in runs:
        by_name.setdefault(r.info.run_name, []).append(r)
    expected = {f"{n}-{i}" for n in procs for i in range(n_cells)}
    assert set(by_name) == expected
    complete = {}
    for name in expected:
        got = by_name[name]
        # exactly one complete copy of every run ...
        full = [r for r in got if r.info.status == "FINISHED"]
        assert len(full) == 1, f"{name}: {len(full)} finished copies ({[r.info.status for r in got]})"
        complete[name] = full[0]
        # ... and a run the crash cut short stays on the server as it was, named by the
        # complete copy (jupyter_ops.partial_server_run_id), never counted twice
        partial = {r.info.run_id for r in got if r.info.status != "FINISHED"}
        assert partial <= {full[0].data.tags.get("jupyter_ops.partial_server_run_id")}, name
    for name, run in complete.items():
        who, i = name.rsplit("-", 1)
        assert run.data.params == {"lr": str(int(i) + 1), "who": who}
        hist = c.get_metric_history(run.info.run_id, "loss")
        assert sorted(m.step for m in hist) == list(range(200)), name  # every point, once
        arts = {a.path for a in c.list_artifacts(run.info.run_id)}
        assert {"cell.py", "notes"} <= arts, (name, arts)
        notes = [a.path for a in c.list_artifacts(run.info.run_id, "notes")]
        assert notes == [f"notes/{name}.txt"]
        text = Path(c.download_artifacts(run.info.run_id, f"notes/{name}.txt",
                                         str(Path(tempfile.mkdtemp())))).read_text()
        assert text == f"notes of {who}"
    # the sync reported each buffered run once, and syncing again changes nothing
    for o in outs.values():
        synced = [s for s in o["sync"] if s["action"] == "synced"]
        assert len(synced) == sum(cd["buffered"] for cd in o["cards"])


def test_experiment_created_by_another_kernel_meanwhile_is_used(tmp_path):
    """Two team members start the same new experiment at once: the one whose create loses
    the race uses the other's experiment (seen as RESOURCE_ALREADY_EXISTS on PostgreSQL)."""
    from mlflow.tracking import MlflowClient
    from mlflow_server import fresh_store

    from jupyter_ops.mlops._store import find_experiment

    c = MlflowClient(fresh_store(tmp_path / "r.db"))
    real = c.get_experiment_by_name
    calls = []

    def late_lookup(name):  # the first lookup misses; then the other kernel creates it
        calls.append(name)
        if len(calls) == 1:
            MlflowClient(c.tracking_uri).create_experiment(name)
            return None
        return real(name)

    c.get_experiment_by_name = late_lookup
    exp = find_experiment(c, "team", create=True)
    assert exp is not None and exp.name == "team"
    assert len([e for e in c.search_experiments() if e.name == "team"]) == 1
