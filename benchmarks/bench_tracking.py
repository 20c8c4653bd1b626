"""Experiment tracking speed: ``%%mlops_track`` against plain MLflow, in the same run.

1. Overhead of ``%%mlops_track --no-autolog`` on a trivial cell against the same records
   (run with the same tags, the cell's params, ``cell.py`` + ``environment.json`` artifacts,
   the wall-time tag, end status) written by hand with ``MlflowClient``; median of 50 each,
   same SQLite store. Target: at most 1.25x.
2. A trivial ``%%mlops_track`` cell *with* scikit-learn autolog (the default) against a
   hand-written MLflow run with autolog already on: ``mlflow.sklearn.autolog()`` once, then
   per cell ``with mlflow.start_run(): log_param, log_text(cell), set_tags``; median of 50
   each, interleaved, same store. Target: at most 1.5x (issue 10: autolog is patched once
   per kernel, not in every cell).
3. 10,000 metric points from a training loop: ``mlops.log_metric`` inside a tracked run
   (batched, 1,000 per request) against 10,000 ``mlflow.log_metric`` calls inside
   ``mlflow.start_run()``, both on MLflow's default SQLite store; every point is counted back.
   Target: at least 30x faster.

    python benchmarks/bench_tracking.py [--reps 50] [--points 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

CELL = "learning_rate = 0.1\nn_layers = 3\nx = learning_rate * n_layers\n"


def by_hand(client, exp_id: str, env_json: str) -> None:
    """What a careful user writes with the MLflow client for the same records."""
    import hashlib

    from mlflow.entities import Param, RunTag

    t0 = time.perf_counter()
    run = client.create_run(exp_id, tags={
        "mlflow.user": "bench", "mlflow.source.name": "ipython", "mlflow.source.type": "LOCAL",
        "jupyter_ops.tracked": "1",
        "jupyter_ops.cell_sha256": hashlib.sha256(CELL.encode()).hexdigest()})
    rid = run.info.run_id
    client.log_batch(rid, params=[Param("learning_rate", "0.1"), Param("n_layers", "3")])
    ns: dict = {}
    exec(CELL, ns)  # noqa: S102 - the benchmark's own trivial cell
    with tempfile.TemporaryDirectory() as d:
        Path(d, "cell.py").write_text(CELL)
        Path(d, "environment.json").write_text(env_json)
        client.log_batch(rid, tags=[RunTag("jupyter_ops.wall_time_s",
                                           f"{time.perf_counter() - t0:.3f}")])
        client.log_artifacts(rid, d)
    client.set_terminated(rid, "FINISHED")


def overhead(reps: int, work: Path) -> tuple[float, float]:
    import mlflow
    from IPython.core.interactiveshell import InteractiveShell
    from mlflow.tracking import MlflowClient

    from jupyter_ops.mlops.environment import run_environment

    uri = f"sqlite:///{work / 'overhead.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_ops")
    client = MlflowClient(uri)
    exp_id = client.create_experiment("bench-hand")
    env_json = json.dumps(run_environment(), indent=1, default=str)
    # warm up both paths (imports, first-time store setup)
    for _ in range(3):
        ip.run_cell_magic("mlops_track", "-e bench-magic --no-autolog", CELL)
        by_hand(client, exp_id, env_json)
    magic, hand = [], []
    for _ in range(reps):  # interleaved so drift in machine load hits both equally
        t = time.perf_counter()
        ip.run_cell_magic("mlops_track", "-e bench-magic --no-autolog", CELL)
        magic.append(time.perf_counter() - t)
        t = time.perf_counter()
        by_hand(client, exp_id, env_json)
        hand.append(time.perf_counter() - t)
    return statistics.median(magic), statistics.median(hand)


def by_hand_autolog(exp_id: str) -> None:
    """The hand-written peer with autolog already on: a param, the cell text, a few tags."""
    import hashlib

    import mlflow

    with mlflow.start_run(experiment_id=exp_id):
        mlflow.log_param("learning_rate", 0.1)
        ns: dict = {}
        exec(CELL, ns)  # noqa: S102 - the benchmark's own trivial cell
        mlflow.log_text(CELL, "cell.py")
        mlflow.set_tags({"jupyter_ops.tracked": "1",
                         "jupyter_ops.cell_sha256": hashlib.sha256(CELL.encode()).hexdigest()})


def overhead_autolog(reps: int, work: Path) -> tuple[float, float]:
    import mlflow
    from IPython.core.interactiveshell import InteractiveShell
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{work / 'autolog.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_ops")
    exp_id = MlflowClient(uri).create_experiment("bench-hand-autolog")
    magic, hand = [], []
    for _ in range(3):  # warm up (first patching, store setup) on both sides
        ip.run_cell_magic("mlops_track", "-e bench-magic-autolog", CELL)
        by_hand_autolog(exp_id)
    # The peer's autolog is "already on" and costs it nothing per cell: autolog acts on
    # fit() only, and the trivial cell fits nothing, so the peer needs no autolog() call in
    # the loop. (Calling mlflow.sklearn.autolog() between our cells would replace the
    # configuration our runs switch on and off, forcing a re-patch each cell: not what a
    # notebook does.)
    for _ in range(reps):  # interleaved so drift in machine load hits both equally
        t = time.perf_counter()
        ip.run_cell_magic("mlops_track", "-e bench-magic-autolog", CELL)
        magic.append(time.perf_counter() - t)
        t = time.perf_counter()
        by_hand_autolog(exp_id)
        hand.append(time.perf_counter() - t)
    return statistics.median(magic), statistics.median(hand)


def metric_points(n: int, work: Path) -> tuple[float, float, int, int]:
    import mlflow
    from mlflow.tracking import MlflowClient

    from jupyter_ops import mlops

    old = os.getcwd()
    os.chdir(work)  # MLflow's default store: ./mlflow.db
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    mlflow.set_tracking_uri(None)
    try:
        with mlops.track(experiment="bench-metrics", autolog=False):  # store setup, warm-up
            mlops.log_metric("warm", 0.0)
        t = time.perf_counter()
        with mlops.track(experiment="bench-metrics", autolog=False) as run:
            for i in range(n):
                mlops.log_metric("loss", 1.0 / (i + 1), step=i)
        ours = time.perf_counter() - t
        t = time.perf_counter()
        with mlflow.start_run(experiment_id=run.experiment_id) as plain:
            for i in range(n):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        theirs = time.perf_counter() - t
        c = MlflowClient()
        n_ours = len(c.get_metric_history(run.run_id, "loss"))
        n_theirs = len(c.get_metric_history(plain.info.run_id, "loss"))
    finally:
        os.chdir(old)
    return ours, theirs, n_ours, n_theirs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--points", type=int, default=10_000)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jops-bench-tracking-") as d:
        work = Path(d)
        os.environ["JUPYTER_OPS_BUFFER_DIR"] = str(work / "buffer")
        m, h = overhead(args.reps, work)
        ma, ha = overhead_autolog(args.reps, work)
        ours, theirs, n_ours, n_theirs = metric_points(args.points, work)
    rows = [
        (f"%%mlops_track trivial cell (median of {args.reps})", m, "MlflowClient by hand", h,
         m / h, "<= 1.25x", m / h <= 1.25),
        (f"%%mlops_track + autolog (median of {args.reps})", ma, "start_run+param+text+tags",
         ha, ma / ha, "<= 1.5x", ma / ha <= 1.5),
        (f"{args.points:,} points via mlops.log_metric", ours,
         f"{args.points:,} x mlflow.log_metric", theirs, theirs / ours, ">= 30x faster",
         theirs / ours >= 30 and n_ours == n_theirs == args.points),
    ]
    print(f"{'ours':48s} {'s':>8s}  {'peer':32s} {'s':>8s}  {'ratio':>7s}  target")
    for name, a, peer, b, ratio, target, ok in rows:
        print(f"{name:48s} {a:8.4f}  {peer:32s} {b:8.4f}  {ratio:6.2f}x  {target} "
              f"{'ok' if ok else 'MISSED'}")
    print(f"metric points stored: ours {n_ours:,}, plain MLflow {n_theirs:,} "
          f"(of {args.points:,})")
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
