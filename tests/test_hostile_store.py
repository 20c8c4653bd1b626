"""Two processes start tracking into one fresh default store at the same moment.

Plain MLflow loses every run here (0/40) and leaves "table _alembic_tmp_metrics already
exists" behind: its Alembic migration of a new SQLite file is not locked across processes.
``_store.ensure_store`` builds the store under ``<db>.lock`` first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import sys, warnings
warnings.simplefilter("ignore")
from jupyter_ops.mlops.tracker import log_metric, track
sys.stdin.readline()  # both processes wait here, then start together
ok = 0
for i in range(int(sys.argv[2])):
    with track(experiment="race", run_name=f"{sys.argv[1]}-{i}", autolog=False):
        log_metric("m", i)
    ok += 1
print(ok)
"""


def test_two_processes_on_a_fresh_default_store_keep_all_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("MLFLOW_TRACKING_URI", None)  # the default store: sqlite:///mlflow.db in the cwd
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, name, "20"], cwd=tmp_path, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for p in procs:  # imports done in parallel; release both at once
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    assert [int(o.split()[-1]) for o, _ in outs] == [20, 20]
    assert (tmp_path / "mlflow.db").exists()

    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = c.get_experiment_by_name("race")
    runs = c.search_runs([exp.experiment_id], max_results=100)
    assert len(runs) == 40
    assert sorted(r.info.run_name for r in runs) == sorted(f"{n}-{i}" for n in "ab" for i in range(20))
    assert all(r.data.metrics["m"] == int(r.info.run_name.split("-")[1]) for r in runs)
    c.create_experiment("still-usable")  # the database is not left half-migrated


def test_ensure_store_is_a_no_op_for_other_uris_and_missing_folders(tmp_path):
    from jupyter_ops.mlops import _store

    _store.ensure_store("http://127.0.0.1:9")  # no request, no error
    _store.ensure_store(f"sqlite:///{tmp_path}/missing/mlflow.db")
    assert not (tmp_path / "missing").exists()  # never creates folders
    uri = f"sqlite:///{tmp_path}/fresh.db"
    _store.ensure_store(uri)
    assert (tmp_path / "fresh.db").exists()
    assert _store.sqlite_path(uri) in _store._READY


def test_a_store_whose_folder_takes_no_lock_file_still_opens(tmp_path, monkeypatch):
    import filelock

    from jupyter_ops.mlops import _store

    def refuse(self, *a, **k):  # what a read-only folder does to the lock file
        raise PermissionError(13, "Permission denied", self.lock_file)

    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)
    uri = f"sqlite:///{tmp_path}/shared.db"
    c = _store.client(uri)
    assert c.get_experiment("0").name == "Default"
    assert _store.sqlite_path(uri) in _store._READY
