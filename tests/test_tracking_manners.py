"""Tracking manners: autolog patched once per kernel, MLflow's INFO lines quiet, one duration."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

FIT = ("from sklearn.linear_model import LinearRegression\nimport numpy as np\n"
       "m = LinearRegression().fit(np.arange(12.0).reshape(-1, 1), np.arange(12.0))\n")


def test_autolog_is_patched_once_and_off_between_tracked_cells(ip, mlflow_uri, monkeypatch):
    import mlflow.sklearn as msk
    from sklearn.linear_model import LinearRegression

    from jupyter_ops.mlops import _mlflowshims

    monkeypatch.setattr(_mlflowshims, "_AUTOLOG_CONFIG", None)  # as in a fresh kernel
    calls = []
    real = msk.autolog
    monkeypatch.setattr(msk, "autolog", lambda *a, **k: (calls.append(k), real(*a, **k))[1])
    cards = [ip.run_cell_magic("mlops_track", "", FIT) for _ in range(3)]
    assert len([c for c in calls if not c.get("disable")]) == 1  # patched by the first cell
    for card in cards:  # ... and still autologged in every cell
        assert card.params.get("fit_intercept") == "True"
        assert any(d["name"] == "fit.X" for d in card.datasets)
    client = MlflowClient(mlflow_uri)
    n_runs = len(client.search_runs([e.experiment_id for e in client.search_experiments()]))
    LinearRegression().fit(np.arange(6.0).reshape(-1, 1), np.arange(6.0))  # outside a cell
    after = len(client.search_runs([e.experiment_id for e in client.search_experiments()]))
    assert after == n_runs  # autolog is off outside tracked cells: no stray run


def test_someone_elses_autolog_call_is_respected(ip, mlflow_uri, monkeypatch):
    import mlflow.sklearn as msk

    from jupyter_ops.mlops import _mlflowshims

    ip.run_cell_magic("mlops_track", "", "x = 1\n")
    msk.autolog(disable=True, silent=True)  # the user reconfigures autolog themselves
    card = ip.run_cell_magic("mlops_track", "", FIT)  # enabled afresh, still works
    assert card.params.get("fit_intercept") == "True"
    assert _mlflowshims._AUTOLOG_CONFIG is not None


def test_run_card_duration_is_mlflows(ip, mlflow_uri):
    card = ip.run_cell_magic("mlops_track", "--no-autolog", "import time\ntime.sleep(0.05)\n")
    run = mlflow.get_run(card.run_id)
    mlflow_s = (run.info.end_time - run.info.start_time) / 1000.0
    assert card.duration_s == mlflow_s
    assert run.data.tags["jupyter_ops.wall_time_s"] == f"{mlflow_s:.3f}"
    assert card.duration_s >= 0.05
    assert mlflow.active_run() is None
    assert mlflow.last_active_run().info.run_id == card.run_id


def test_first_tracked_cell_prints_no_mlflow_info_lines(tmp_path):
    code = ("from IPython.core.interactiveshell import InteractiveShell\n"
            "ip = InteractiveShell.instance()\n"
            "ip.run_line_magic('load_ext', 'jupyter_ops')\n"
            "ip.run_cell_magic('mlops_track', '--no-autolog', 'x = 1\\n')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'fresh.db'}",
           "JUPYTER_OPS_BUFFER_DIR": str(tmp_path / "buffer")}
    env.pop("MLFLOW_LOGGING_LEVEL", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fresh.db").is_file()  # the store was created in this run...
    assert "INFO" not in out.stderr, out.stderr  # ...without "Creating initial ... tables"
    assert "Creating initial" not in out.stdout


def test_quiet_logging_leaves_a_user_level_alone(monkeypatch):
    import logging

    from jupyter_ops.mlops._mlflowshims import quiet_mlflow_logging

    logger = logging.getLogger("mlflow")
    monkeypatch.setattr(logger, "level", logging.INFO)
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "INFO")
    quiet_mlflow_logging()
    assert logger.level == logging.INFO
    monkeypatch.delenv("MLFLOW_LOGGING_LEVEL")
    quiet_mlflow_logging()
    assert logger.level == logging.WARNING
