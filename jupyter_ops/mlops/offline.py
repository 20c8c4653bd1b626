"""Nothing lost offline: the local buffer store and :func:`sync`.

When a remote tracking server cannot be reached at the start of a tracked run, the run is
recorded in a local MLflow store, the *buffer* (a SQLite file plus an artifact folder under
``$JUPYTER_OPS_BUFFER_DIR``, default ``~/.jupyter_ops/buffer``), tagged with the server it was
meant for (``jupyter_ops.target_uri``). :func:`sync` later copies every finished buffered run
to its server: parameters, every metric point with its step and timestamp, tags, artifacts,
status and start/end times, and its MLflow 3 logged models (copied as files, linked to the
synced run, so it can be registered on the server). Each copy is tagged ``jupyter_ops.buffer_run_id``; a copy is marked
complete (``jupyter_ops.sync_complete``) only after everything was written, so a sync that is
interrupted half-way is redone (the partial copy deleted) and a repeated sync never
duplicates a run.
"""

from __future__ import annotations

import os
import socket
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
BUFFER_MODEL_TAG = "jupyter_ops.buffer_model_id"
#: ``host:pid`` of the process that records a buffered run (to spot runs of dead kernels)
OWNER_TAG = "jupyter_ops.buffer_owner"
#: a key made by the client for each tracked run, the same on every copy of it
CLIENT_KEY_TAG = "jupyter_ops.client_run_key"
PARTIAL_TAG = "jupyter_ops.partial_server_run_id"


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


def owner() -> str:
    """``host:pid`` of this process, the value of :data:`OWNER_TAG`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _orphaned(run: Any, by_id: dict[str, Any]) -> bool:
    """True for a RUNNING buffered run whose process is gone (a killed or restarted kernel),
    or that this process no longer tracks (a cell interrupted before the run could end).

    A run the cell opened itself (no owner tag) is judged by its tracked ancestor.
    """
    owned = run
    for _ in range(50):
        if OWNER_TAG in owned.data.tags:
            break
        owned = by_id.get(owned.data.tags.get("mlflow.parentRunId", ""))
        if owned is None:
            return False
    else:
        return False
    host, _, pid_text = owned.data.tags[OWNER_TAG].rpartition(":")
    if not host or not pid_text.isdigit() or host != socket.gethostname():
        return False  # unknown, or another machine's: leave it
    pid = int(pid_text)
    if pid == os.getpid():
        from ._trackedrun import _STACK

        return not any(r.run_id == owned.info.run_id and r.status == "RUNNING" for r in _STACK)
    if os.name != "posix":  # os.kill(pid, 0) is not a liveness test on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: the process exists
        return False
    return False


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
        metric_points, models`` (logged models copied); ``action`` is ``synced``, ``already synced``, ``server unreachable``,
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
        models = 0
        if "models" in self.runs:
            done = self.runs["action"].astype(str) == "synced"
            models = int(self.runs.loc[done, "models"].fillna(0).sum())
        with_models = f" (with {models} logged model{'s' * (models != 1)})" if models else ""
        return (f"{self._count('synced')} synced{with_models}, "
                f"{self._count('already')} already synced, "
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
    runs = _all_runs(c)
    targets = _targets(runs)
    for run in runs:
        t = run.data.tags
        if run.info.run_id not in targets:
            continue
        target, exp = targets[run.info.run_id]
        rows.append({"buffer_run_id": run.info.run_id, "run_name": run.info.run_name,
                     "experiment": exp, "target_uri": target,
                     "status": run.info.status, "synced_run_id": t.get(SYNCED_TAG),
                     "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True)})
    return pd.DataFrame(rows, columns=cols)


def _targets(runs: list[Any]) -> dict[str, tuple[str, str | None]]:
    """``run id -> (target URI, target experiment)`` for every buffered run.

    Runs a cell started itself with ``mlflow.start_run(nested=True)`` inside a buffered run
    carry no target tag: they go where their parent goes.
    """
    out: dict[str, tuple[str, str | None]] = {}
    pending = []
    for run in runs:
        t = run.data.tags
        if TARGET_TAG in t:
            out[run.info.run_id] = (t[TARGET_TAG], t.get(TARGET_EXP_TAG))
        elif t.get("mlflow.parentRunId"):
            pending.append(run)
    for _ in range(len(pending)):  # children of children: repeat until nothing changes
        left = []
        for run in pending:
            parent = run.data.tags["mlflow.parentRunId"]
            if parent in out:
                out[run.info.run_id] = out[parent]
            else:
                left.append(run)
        if len(left) == len(pending):
            break
        pending = left
    return out


def synced_run_id(run_id: str, tracking_uri: str) -> str | None:
    """The server run a buffered run was synced to on ``tracking_uri``, or None.

    Raises :class:`OpsInputError` when ``run_id`` is a buffered run meant for that server that
    has not been synced yet, so ``register_model(card.run_id)`` after an offline run says what
    to do instead of "no such run".
    """
    if not (buffer_dir() / "buffer.db").exists():
        return None
    from mlflow.exceptions import MlflowException

    try:
        run = _store.client(buffer_uri()).get_run(str(run_id).strip())
    except MlflowException:
        return None
    target = run.data.tags.get(TARGET_TAG)
    if target is None or _norm(target) != _norm(tracking_uri):
        return None
    synced = run.data.tags.get(SYNCED_TAG)
    if synced:
        return synced
    raise OpsInputError(f"run {run_id} is in the offline buffer and not synced to {target} yet; "
                        "run %mlops_track sync (or mlops.sync()) first")


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

    from ..provenance import make_provenance

    cols = ["buffer_run_id", "run_name", "experiment", "target_uri", "status", "action",
            "server_run_id", "metric_points", "models"]
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
    model_ids: dict[str, str] = {}  # buffer model id -> server model id (for model inputs)
    runs = _all_runs(buf)
    targets = _targets(runs)
    by_id = {r.info.run_id: r for r in runs}
    from ..progress import progress

    for run in progress(runs, desc="sync", unit="run", min_total=2):
        tags = run.data.tags
        target, exp_name = targets.get(run.info.run_id, (None, None))
        if not target or (only and _norm(target) != only):
            continue
        row = {"buffer_run_id": run.info.run_id, "run_name": run.info.run_name,
               "experiment": exp_name, "target_uri": target,
               "status": run.info.status, "action": None, "server_run_id": None,
               "metric_points": None, "models": None}
        rows.append(row)
        if run.info.status == "RUNNING":
            if not _orphaned(run, by_id):
                row["action"] = "still running"
                continue
            # its kernel died or the cell was interrupted past the point of ending it:
            # end it KILLED (as MLflow does for interrupted runs) so it can be synced
            buf.set_terminated(run.info.run_id, "KILLED")
            run = buf.get_run(run.info.run_id)
            row["status"] = "KILLED"
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
                action, server_id, points, n_models = _push(buf, run, target, exp_name, id_map,
                                                  model_ids)
        except Exception as e:
            if _store.is_connection_error(e):
                reachable[target] = OpsConnectionError(str(e))
                row["action"] = "server unreachable"
            else:
                row["action"] = f"failed: {_store._first_line(e)}"[:300]
            continue
        id_map[run.info.run_id] = server_id
        row.update(action=action, server_run_id=server_id, metric_points=points,
                   models=n_models)
        if tags.get(SYNCED_TAG) != server_id:
            buf.set_tag(run.info.run_id, SYNCED_TAG, server_id)
    res = SyncResult(pd.DataFrame(rows, columns=cols), str(buffer_dir()))
    res.provenance = make_provenance("mlops.sync", {"tracking_uri": tracking_uri})
    return res


def _push(buf: Any, run: Any, target: str, exp_name: str | None, id_map: dict[str, str],
          model_ids: dict[str, str]) -> tuple[str, str, int, int]:
    """Copy one buffered run to ``target``; ``(action, server run id, metric points,
    logged models)``. ``model_ids`` (buffer model id -> server model id) grows with the copies.

    The run's logged models (MLflow 3 keeps them outside the run's artifacts) are copied too,
    linked to the new run as its outputs, so a synced run can be registered on the server.
    """
    from mlflow.entities import Param, RunTag

    info, data = run.info, run.data
    srv = _store.client(target)
    exp = _store.find_experiment(srv, exp_name or "Default", create=True)
    existing = srv.search_runs([exp.experiment_id],
                               filter_string=f"tags.`{BUFFER_ID_TAG}` = '{info.run_id}'",
                               max_results=10)
    for r in existing:
        if r.data.tags.get(COMPLETE_TAG) == "1":
            copies = _logged_models(srv, r.info.experiment_id, r.info.run_id)
            model_ids.update({m.tags[BUFFER_MODEL_TAG]: m.model_id for m in copies
                              if BUFFER_MODEL_TAG in (m.tags or {})})
            return "already synced", r.info.run_id, sum(
                len(srv.get_metric_history(r.info.run_id, k)) for k in r.data.metrics), len(copies)
        # a partial copy from an interrupted sync: redo it, with the models it already got
        for m in _logged_models(srv, r.info.experiment_id, r.info.run_id):
            srv.delete_logged_model(m.model_id)
        srv.delete_run(r.info.run_id)
    tags = {k: v for k, v in data.tags.items()
            if k not in (TARGET_TAG, SYNCED_TAG, COMPLETE_TAG)}
    tags[BUFFER_ID_TAG] = info.run_id
    key = data.tags.get(CLIENT_KEY_TAG)
    if key and PARTIAL_TAG not in tags:
        # the server stored this run's creation but died before answering, so the client
        # went to the buffer without its id: name that partial copy, and end it
        for r in srv.search_runs([exp.experiment_id],
                                 filter_string=f"tags.`{CLIENT_KEY_TAG}` = '{key}'",
                                 max_results=10):
            if BUFFER_ID_TAG not in r.data.tags:
                tags[PARTIAL_TAG] = r.info.run_id
                if r.info.status == "RUNNING":
                    srv.set_terminated(r.info.run_id, "KILLED")
                break
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
    models = _logged_models(buf, info.experiment_id, info.run_id)
    model_map = {m.model_id: _copy_model(srv, m, exp.experiment_id, info.run_id, new_id)
                 for m in models}
    model_ids.update(model_map)
    full = buf.get_run(info.run_id)  # search results may leave out model inputs/outputs
    used = [buf.get_logged_model(i.model_id)
            for i in getattr(full.inputs, "model_inputs", None) or [] if i.model_id in model_ids]
    points = _metric_points(buf, run, models + used, model_ids)
    for i in range(0, len(points), 1000):
        srv.log_batch(new_id, metrics=points[i:i + 1000])
    _copy_io(srv, full, new_id, model_map, model_ids)
    with tempfile.TemporaryDirectory(prefix="jops-sync-") as d:
        if buf.list_artifacts(info.run_id):
            local = buf.download_artifacts(info.run_id, "", d)
            srv.log_artifacts(new_id, local)
    srv.set_terminated(new_id, info.status, end_time=info.end_time)
    srv.log_batch(new_id, tags=[RunTag(COMPLETE_TAG, "1")])
    return "synced", new_id, len(points), len(model_map)


def _logged_models(c: Any, experiment_id: str, run_id: str) -> list[Any]:
    """MLflow 3 logged models whose source is run ``run_id`` (oldest first)."""
    if not hasattr(c, "search_logged_models"):  # MLflow 2: models are run artifacts
        return []
    out, token = [], None
    while True:
        page = c.search_logged_models(experiment_ids=[experiment_id],
                                      filter_string=f"source_run_id='{run_id}'",
                                      max_results=100, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return sorted(out, key=lambda m: (m.creation_timestamp or 0, m.model_id))


def _copy_model(srv: Any, model: Any, experiment_id: str, buffer_run_id: str,
                new_run_id: str) -> str:
    """Re-create a buffered logged model on the server, linked to ``new_run_id``; its id.

    The model's files are copied as files (nothing is unpickled). In ``MLmodel`` the buffer's
    model id, run id and artifact location are replaced with the server's, so the copy
    describes itself correctly when loaded or registered.
    """
    from mlflow.entities import LoggedModelStatus

    tags = dict(model.tags or {})
    tags[BUFFER_MODEL_TAG] = model.model_id
    new = srv.create_logged_model(experiment_id=experiment_id, name=model.name,
                                  source_run_id=new_run_id, tags=tags,
                                  params=dict(model.params or {}) or None,
                                  model_type=model.model_type)
    # a model whose logging was interrupted (PENDING) arrives as FAILED: it may be incomplete
    ready = str(getattr(model.status, "value", model.status)) == "READY"
    with tempfile.TemporaryDirectory(prefix="jops-sync-model-") as d:
        local = _model_files(model, d)
        if local is not None:
            # the location first: it contains the model id
            swaps = {model.artifact_location.rstrip("/"): new.artifact_location.rstrip("/"),
                     model.model_id: new.model_id, buffer_run_id: new_run_id}
            for path in Path(local).rglob("MLmodel"):
                text = path.read_text(encoding="utf-8")
                for a, b in swaps.items():
                    text = text.replace(a, b)
                path.write_text(text, encoding="utf-8")
            srv.log_model_artifacts(new.model_id, local)
    srv.finalize_logged_model(new.model_id, LoggedModelStatus.READY if ready and local is not None
                              else LoggedModelStatus.FAILED)
    return new.model_id


def _metric_points(buf: Any, run: Any, models: list[Any], model_map: dict[str, str]
                   ) -> list[Any]:
    """Every metric point of the run, linked to the copied models where the buffer links them.

    ``models``: the run's own models and synced models it used as inputs (e.g. evaluated);
    ``model_map``: buffer model id -> server model id.

    The store returns run histories without the model link; a point that is also one of a
    model's metrics (same key, step, time and value; e.g. autolog's ``training_*``) gets the
    server copy's model id and data set, so the server model shows its metrics too.
    """
    from mlflow.entities import Metric

    links: dict[tuple[Any, ...], Any] = {}
    for m in models:
        for p in m.metrics or []:
            if p.run_id in (None, run.info.run_id):
                links.setdefault((p.key, p.step, p.timestamp, p.value), p)
    points = []
    for key in run.data.metrics:
        for m in buf.get_metric_history(run.info.run_id, key):
            link = links.get((m.key, m.step, m.timestamp, m.value))
            if link is not None and link.model_id in model_map:
                points.append(Metric(m.key, m.value, m.timestamp, m.step,
                                     model_id=model_map[link.model_id],
                                     dataset_name=link.dataset_name,
                                     dataset_digest=link.dataset_digest))
            else:
                points.append(Metric(m.key, m.value, m.timestamp, m.step))
    return points


def _copy_io(srv: Any, run: Any, new_id: str, model_map: dict[str, str],
             model_ids: dict[str, str]) -> None:
    """The run's outputs (its models, with their steps) and inputs (data sets, models)."""
    outputs = getattr(getattr(run, "outputs", None), "model_outputs", None) or []
    if model_map:
        from mlflow.entities import LoggedModelOutput

        steps = {o.model_id: o.step for o in outputs}
        srv.log_outputs(new_id, [LoggedModelOutput(new, steps.get(old, 0))
                                 for old, new in model_map.items()])
    inputs = getattr(run, "inputs", None)
    datasets = list(getattr(inputs, "dataset_inputs", None) or [])
    used = [i.model_id for i in getattr(inputs, "model_inputs", None) or []]
    # a model used as input is linked when it was synced (else it is not on the server)
    in_models = [model_ids[m] for m in used if m in model_ids]
    if datasets or in_models:
        from mlflow.entities import LoggedModelInput

        srv.log_inputs(new_id, datasets=datasets or None,
                       models=[LoggedModelInput(m) for m in in_models] or None)


def _model_files(model: Any, dest: str) -> str | None:
    """Download a buffered model's files into ``dest``; None when it has none.

    A model whose logging was interrupted may have no files (or no folder at all).
    """
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        repo = get_artifact_repository(model.artifact_location)
        if not repo.list_artifacts():
            return None
        return repo.download_artifacts("", dst_path=dest)
    except OSError:
        return None


def _check_dir() -> None:  # pragma: no cover - helper for error messages
    d = buffer_dir()
    if d.exists() and not d.is_dir():
        raise OpsInputError(f"{ENV_VAR} points to a file ({d}); set it to a folder")
