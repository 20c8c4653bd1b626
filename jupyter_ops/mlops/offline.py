"""Nothing lost offline: the local buffer store and :func:`sync`.

When a remote tracking server cannot be reached at the start of a tracked run, the run is
recorded in a local MLflow store, the *buffer* (a SQLite file plus an artifact folder under
``$JUPYTER_OPS_BUFFER_DIR``, default ``~/.jupyter_ops/buffer``), tagged with the server it was
meant for (``jupyter_ops.target_uri``). :func:`sync` later copies every finished buffered run
to its server: parameters, every metric point with its step and timestamp, tags, artifacts,
status and start/end times. Each copy is tagged ``jupyter_ops.buffer_run_id``; a copy is marked
complete (``jupyter_ops.sync_complete``) only after everything was written, so a sync that is
interrupted half-way is redone (the partial copy deleted) and a repeated sync never
duplicates a run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import OpsConnectionError, OpsInputError
from ..results import Result
from . import _store

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["sync", "buffer_dir", "buffer_uri", "buffered_runs", "SyncResult"]

ENV_VAR = "JUPYTER_OPS_BUFFER_DIR"
TARGET_TAG = "jupyter_ops.target_uri"
TARGET_EXP_TAG = "jupyter_ops.target_experiment"
BUFFER_ID_TAG = "jupyter_ops.buffer_run_id"
COMPLETE_TAG = "jupyter_ops.sync_complete"
SYNCED_TAG = "jupyter_ops.synced_run_id"


def buffer_dir() -> Path:
    """Folder of the offline buffer.

    ``$JUPYTER_OPS_BUFFER_DIR``, else ``$JUPYTER_OPS_HOME/buffer``, else
    ``~/.jupyter_ops/buffer`` (per user, so one sync finds runs from every notebook folder).
    """
    d = os.environ.get(ENV_VAR)
    if not d:
        home = os.environ.get("JUPYTER_OPS_HOME") or os.path.join(os.path.expanduser("~"),
                                                                  ".jupyter_ops")
        d = os.path.join(home, "buffer")
    return Path(d).resolve()


def buffer_uri() -> str:
    """Tracking URI of the buffer store (created on first use)."""
    d = buffer_dir()
    d.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{d / 'buffer.db'}"


def buffer_experiment(c: Any, name: str) -> Any:
    """The buffer's experiment for runs of experiment ``name``, artifacts inside the buffer.

    The buffer never uses its ``Default`` experiment (whose artifacts MLflow would put under
    the working directory); runs for ``Default`` go to ``Default (buffered)``.
    """
    bname = f"{name} (buffered)" if name == "Default" else name
    exp = c.get_experiment_by_name(bname)
    if exp is None:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in bname)[:80]
        loc = (buffer_dir() / "artifacts" / safe).as_uri()
        exp = c.get_experiment(c.create_experiment(bname, artifact_location=loc))
    return exp


class SyncResult(Result):
    """What :func:`sync` did with each buffered run.

    Attributes
    ----------
    runs : pandas.DataFrame
        ``buffer_run_id, run_name, experiment, target_uri, status, action, server_run_id,
        metric_points``; ``action`` is ``synced``, ``already synced``, ``server unreachable``,
        ``still running`` or ``failed: ...``.
    """

    kind = "mlflow_sync"

    def __init__(self, runs: pd.DataFrame, buffer: str) -> None:
        super().__init__()
        self.runs = runs
        self.buffer = buffer

    @property
    def title(self) -> str:
        return "Offline buffer sync"

    def _count(self, action: str) -> int:
        if self.runs.empty:
            return 0
        return int(self.runs["action"].astype(str).str.startswith(action).sum())

    def summary(self) -> str:
        if self.runs.empty:
            return f"nothing buffered in {self.buffer}"
        return (f"{self._count('synced')} synced, {self._count('already')} already synced, "
                f"{self._count('server unreachable')} waiting for their server, "
                f"{self._count('failed')} failed")

    def figures(self) -> list[dict[str, Any]]:
        waiting = self._count("server unreachable") + self._count("failed")
        return [{"label": "synced", "value": self._count("synced"), "status": "ok"},
                {"label": "already synced", "value": self._count("already")},
                {"label": "waiting", "value": waiting, "status": "warn" if waiting else "ok"}]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"runs": self.runs}


def buffered_runs() -> pd.DataFrame:
    """Runs in the offline buffer with the server they are meant for and whether synced."""
    import pandas as pd

    cols = ["buffer_run_id", "run_name", "experiment", "target_uri", "status", "synced_run_id",
            "start_time"]
    path = buffer_dir() / "buffer.db"
    if not path.exists():
        return pd.DataFrame(columns=cols)
    c = _store.client(buffer_uri())
    rows = []
    for run in _all_runs(c):
        t = run.data.tags
        if TARGET_TAG not in t:
            continue
        rows.append({"buffer_run_id": run.info.run_id, "run_name": run.info.run_name,
                     "experiment": t.get(TARGET_EXP_TAG), "target_uri": t[TARGET_TAG],
                     "status": run.info.status, "synced_run_id": t.get(SYNCED_TAG),
                     "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True)})
    return pd.DataFrame(rows, columns=cols)


def _all_runs(c: Any) -> list[Any]:
    exps = [e.experiment_id for e in c.search_experiments(max_results=1000)]
    if not exps:
        return []
    out, token = [], None
    while True:
        page = c.search_runs(exps, max_results=1000, order_by=["attributes.start_time ASC"],
                             page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def _norm(uri: str) -> str:
    return uri.strip().rstrip("/")


def sync(tracking_uri: str | None = None) -> SyncResult:
    """Push finished runs from the offline buffer to their tracking server.

    Parameters
    ----------
    tracking_uri : str, optional
        Only sync runs meant for this server (default: every buffered run, each to the
        server it was meant for).

    Returns
    -------
    SyncResult
        One row per buffered run and what happened to it. Runs whose server still cannot be
        reached stay in the buffer for the next sync.
    """
    import pandas as pd

    from ..report.provenance import make_provenance

    cols = ["buffer_run_id", "run_name", "experiment", "target_uri", "status", "action",
            "server_run_id", "metric_points"]
    path = buffer_dir() / "buffer.db"
    if not path.exists():
        res = SyncResult(pd.DataFrame(columns=cols), str(buffer_dir()))
        res.provenance = make_provenance("mlops.sync", {"tracking_uri": tracking_uri})
        return res
    only = _norm(tracking_uri) if tracking_uri else None
    if only:
        _store.check_uri(only)
    buf = _store.client(buffer_uri())
    rows = []
    reachable: dict[str, OpsConnectionError | None] = {}
    id_map: dict[str, str] = {}  # buffer run id -> server run id (for parent links)
    for run in _all_runs(buf):
        tags = run.data.tags
        target = tags.get(TARGET_TAG)
        if not target or (only and _norm(target) != only):
            continue
        row = {"buffer_run_id": run.info.run_id, "run_name": run.info.run_name,
               "experiment": tags.get(TARGET_EXP_TAG), "target_uri": target,
               "status": run.info.status, "action": None, "server_run_id": None,
               "metric_points": None}
        rows.append(row)
        if run.info.status == "RUNNING":
            row["action"] = "still running"
            continue
        if target not in reachable:
            try:
                _store.probe(target)
                reachable[target] = None
            except OpsConnectionError as e:
                reachable[target] = e
        if reachable[target] is not None:
            row["action"] = "server unreachable"
            continue
        try:
            with _store.fast_http():
                action, server_id, points = _push(buf, run, target, id_map)
        except Exception as e:
            if _store.is_connection_error(e):
                reachable[target] = OpsConnectionError(str(e))
                row["action"] = "server unreachable"
            else:
                row["action"] = f"failed: {_store._first_line(e)}"[:300]
            continue
        id_map[run.info.run_id] = server_id
        row.update(action=action, server_run_id=server_id, metric_points=points)
        if tags.get(SYNCED_TAG) != server_id:
            buf.set_tag(run.info.run_id, SYNCED_TAG, server_id)
    res = SyncResult(pd.DataFrame(rows, columns=cols), str(buffer_dir()))
    res.provenance = make_provenance("mlops.sync", {"tracking_uri": tracking_uri})
    return res


def _push(buf: Any, run: Any, target: str, id_map: dict[str, str]) -> tuple[str, str, int]:
    """Copy one buffered run to ``target``; ``(action, server run id, metric points)``."""
    from mlflow.entities import Metric, Param, RunTag

    info, data = run.info, run.data
    srv = _store.client(target)
    exp_name = data.tags.get(TARGET_EXP_TAG) or "Default"
    exp = _store.find_experiment(srv, exp_name, create=True)
    existing = srv.search_runs([exp.experiment_id],
                               filter_string=f"tags.`{BUFFER_ID_TAG}` = '{info.run_id}'",
                               max_results=10)
    for r in existing:
        if r.data.tags.get(COMPLETE_TAG) == "1":
            return "already synced", r.info.run_id, sum(
                len(srv.get_metric_history(r.info.run_id, k)) for k in r.data.metrics)
        srv.delete_run(r.info.run_id)  # a partial copy from an interrupted sync: redo it
    tags = {k: v for k, v in data.tags.items()
            if k not in (TARGET_TAG, SYNCED_TAG, COMPLETE_TAG)}
    tags[BUFFER_ID_TAG] = info.run_id
    parent = tags.get("mlflow.parentRunId")
    if parent:
        if parent in id_map:
            tags["mlflow.parentRunId"] = id_map[parent]
        else:
            tags.pop("mlflow.parentRunId")
    created = srv.create_run(exp.experiment_id, start_time=info.start_time, tags=tags,
                             run_name=info.run_name)
    new_id = created.info.run_id
    params = [Param(k, v) for k, v in data.params.items()]
    for i in range(0, len(params), 100):
        srv.log_batch(new_id, params=params[i:i + 100])
    points = []
    for key in data.metrics:
        for m in buf.get_metric_history(info.run_id, key):
            points.append(Metric(m.key, m.value, m.timestamp, m.step))
    for i in range(0, len(points), 1000):
        srv.log_batch(new_id, metrics=points[i:i + 1000])
    with tempfile.TemporaryDirectory(prefix="jops-sync-") as d:
        if buf.list_artifacts(info.run_id):
            local = buf.download_artifacts(info.run_id, "", d)
            srv.log_artifacts(new_id, local)
    srv.set_terminated(new_id, info.status, end_time=info.end_time)
    srv.log_batch(new_id, tags=[RunTag(COMPLETE_TAG, "1")])
    return "synced", new_id, len(points)


def _check_dir() -> None:  # pragma: no cover - helper for error messages
    d = buffer_dir()
    if d.exists() and not d.is_dir():
        raise OpsInputError(f"{ENV_VAR} points to a file ({d}); set it to a folder")
