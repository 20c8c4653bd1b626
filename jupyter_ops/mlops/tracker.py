"""Tracked runs on MLflow: :func:`track`, :func:`log_metric`, :func:`log_dataset`, run cards.

A tracked run is an ordinary MLflow run (it shows up unchanged in ``mlflow ui`` and
``mlflow.search_runs``) plus what a notebook user needs to understand and reproduce it: the
cell's source, its parameters, the environment, the git commit, dataset fingerprints, the wall
time, and a :class:`RunCard` shown under the cell.

Metric points logged through :func:`log_metric` are buffered and written with
``MlflowClient.log_batch`` (at most 1,000 per request, MLflow's limit), which is what makes a
10,000-step training loop cheap. When a remote tracking server cannot be reached the run is
recorded in a local buffer store instead (see :mod:`jupyter_ops.mlops.offline`).
"""

from __future__ import annotations

import ast
import contextlib
import getpass
import json
import math
import os
import re
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import OpsConnectionError, OpsInputError
from ..results import Result
from . import _store

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["track", "TrackedRun", "RunCard", "log_metric", "log_metrics", "log_param",
           "log_params", "log_dataset", "current_run", "start_run", "stop_run",
           "cell_params", "MAX_PARAM_LENGTH"]

#: MLflow's limit on a parameter value (mlflow.utils.validation.MAX_PARAM_VAL_LENGTH in 3.x)
MAX_PARAM_LENGTH = 6000
#: MLflow accepts at most this many metrics per log_batch request
BATCH_SIZE = 1000
#: at most this many params or tags per log_batch request (MLflow's limit)
PARAM_BATCH = 100

_STACK: list[TrackedRun] = []
#: experiments already looked up in this process: (uri, name) -> Experiment
_EXPERIMENTS: dict[tuple[str, str], Any] = {}
_KEY_RE = re.compile(r"[^0-9A-Za-z_\-. /]")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _clean_key(key: Any) -> str:
    # MLflow keys: alphanumerics, underscores, dashes, periods, spaces, slashes; <= 250 chars
    k = _KEY_RE.sub("_", str(key)).strip() or "_"
    return k[:250]


def _param_value(value: Any) -> tuple[str, str | None]:
    """``(text, note)``: the value as MLflow stores it, and a note when it was changed."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception as e:  # objects whose repr raises must never crash a run
        return f"<unrepresentable {type(value).__name__}>", f"repr failed: {type(e).__name__}"
    if len(text) > MAX_PARAM_LENGTH:
        note = f"truncated from {len(text):,} to {MAX_PARAM_LENGTH:,} characters"
        suffix = f" ...[{note}]"
        return text[: MAX_PARAM_LENGTH - len(suffix)] + suffix, note
    return text, None


def _is_scalar(v: Any) -> bool:
    if isinstance(v, (bool, int, float, str)):
        return True
    t = type(v).__module__
    return t == "numpy" and hasattr(v, "item") and getattr(v, "ndim", 1) == 0


def cell_params(source: str, namespace: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The cell's top-level scalar assignments, found with :mod:`ast` (nothing is evaluated).

    ``lr = 0.1``, ``name: str = "rf"``, ``n = -3`` and ``a = b`` where ``b`` is a scalar bound
    earlier in the cell or in ``namespace`` are parameters; anything computed
    (``n = len(df)``) is not. Later assignments win. Unparseable source gives ``{}``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    ns = namespace or {}
    found: dict[str, Any] = {}

    def literal(node: ast.AST) -> tuple[bool, Any]:
        if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, str)):
            return True, node.value
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
                and isinstance(node.operand, ast.Constant)
                and isinstance(node.operand.value, (int, float))
                and not isinstance(node.operand.value, bool)):
            v = node.operand.value
            return True, -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Name):
            if node.id in found:
                return True, found[node.id]
            if node.id in ns and _is_scalar(ns[node.id]):
                v = ns[node.id]
                return True, v.item() if hasattr(v, "item") else v
        return False, None

    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        ok, v = literal(value)
        for t in targets:
            if isinstance(t, ast.Name):
                if ok:
                    found[t.id] = v
                else:
                    found.pop(t.id, None)  # rebound to something computed: no longer a param
    return found


class RunCard(Result):
    """What a tracked run recorded, shown under the cell.

    Attributes
    ----------
    run_id, run_name, experiment, experiment_id, status : str
    tracking_uri : str
        Store the run is in (the buffer store when the server was unreachable).
    target_uri : str
        Store the run was meant for.
    params, metrics : dict
    duration_s : float
    buffered : bool
        True when the run waits in the offline buffer for :func:`~jupyter_ops.mlops.sync`.
    notes : list of str
    """

    kind = "run_card"

    def __init__(self, run: TrackedRun) -> None:
        super().__init__()
        self.run_id = run.run_id
        self.run_name = run.run_name
        self.experiment = run.experiment_name
        self.experiment_id = run.experiment_id
        self.status = run.status
        self.tracking_uri = run.uri
        self.target_uri = run.target_uri
        self.params = dict(run.params)
        self.metrics = dict(run.latest_metrics)
        self.metric_points = run.n_points
        self.duration_s = run.duration_s
        self.buffered = run.buffered
        self.datasets = list(run.datasets)
        self.notes = list(run.notes)
        self.error = run.error
        self.provenance = {"call": "mlops.track", "params": {
            "run_id": self.run_id, "experiment": self.experiment,
            "tracking_uri": _store.display_uri(self.tracking_uri)},
            "inputs": {d.get("name") or f"dataset{i}": d["sha256"]
                       for i, d in enumerate(self.datasets)}, "seed": None}

    @property
    def title(self) -> str:
        return f"MLflow run {self.run_name or self.run_id[:8]}"

    @property
    def open_command(self) -> str:
        """How to open the run in the MLflow UI."""
        return _store.ui_command(self.tracking_uri)

    @property
    def url_path(self) -> str:
        return f"#/experiments/{self.experiment_id}/runs/{self.run_id}"

    def summary(self) -> str:
        where = "offline buffer (run %mlops_track sync)" if self.buffered else self.experiment
        return (f"{self.status} in {self.duration_s:.2f} s; run {self.run_id} in "
                f"{where}; open: {self.open_command}")

    def figures(self) -> list[dict[str, Any]]:
        status = {"FINISHED": "ok", "FAILED": "bad", "KILLED": "bad", "RUNNING": "warn"}
        figs = [{"label": "status", "value": self.status, "status": status.get(self.status)},
                {"label": "duration s", "value": round(self.duration_s, 3)},
                {"label": "run id", "value": self.run_id[:8], "hint": self.run_id}]
        if self.buffered:
            figs.append({"label": "stored", "value": "offline buffer", "status": "warn",
                         "hint": f"server {self.target_uri} unreachable"})
        for k, v in list(self.metrics.items())[:6]:
            figs.append({"label": k, "value": v})
        return figs

    def tables(self) -> dict[str, pd.DataFrame]:
        import pandas as pd

        rows = [{"kind": "param", "name": k, "value": v if len(v) <= 80 else v[:77] + "..."}
                for k, v in self.params.items()]
        rows += [{"kind": "metric", "name": k, "value": f"{v:.6g}"}
                 for k, v in self.metrics.items()]
        rows += [{"kind": "dataset", "name": d.get("name") or "",
                  "value": f"{d['rows']}x{d['columns']} sha256 {d['sha256'][:12]}"}
                 for d in self.datasets]
        return {"recorded": pd.DataFrame(rows, columns=["kind", "name", "value"])}

    def explanations(self) -> list[tuple[str, str]]:
        if _store.is_remote(self.tracking_uri):
            where = f"open {self.tracking_uri.rstrip('/')}/{self.url_path}"
        else:
            where = f"{self.open_command}\nthen open http://127.0.0.1:5000/{self.url_path}"
        out = [("How to open this run",
                f"{where}\nor in Python: mlflow.get_run({self.run_id!r})")]
        if self.notes:
            out.append(("Notes", "\n".join(self.notes)))
        if self.error:
            out.append(("Error", self.error))
        return out


class TrackedRun:
    """An MLflow run being tracked; use :func:`track` (or ``%%mlops_track``) to make one.

    Attributes
    ----------
    run_id : str
    uri : str
        Store the run is written to.
    target_uri : str
        Store that was asked for (differs from ``uri`` when buffered offline).
    buffered : bool
    status : str
        ``RUNNING``, then ``FINISHED``, ``FAILED`` or ``KILLED``.
    """

    def __init__(self, uri: str, target_uri: str, experiment_name: str, experiment_id: str,
                 run_id: str, run_name: str | None, buffered: bool, client: Any,
                 start_ms: int) -> None:
        self.uri = uri
        self.target_uri = target_uri
        self.experiment_name = experiment_name
        self.experiment_id = experiment_id
        self.run_id = run_id
        self.run_name = run_name
        self.buffered = buffered
        self.client = client
        self.start_ms = start_ms
        self.end_ms: int | None = None
        self.status = "RUNNING"
        self.params: dict[str, str] = {}
        self.latest_metrics: dict[str, float] = {}
        self.n_points = 0
        self.datasets: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.error: str | None = None
        self.artifacts: dict[str, str] = {}  # artifact file -> text, written at the end
        self._pending: list[Any] = []
        # points already written to a remote server, kept to re-create the run offline
        self._keep_sent = _store.is_remote(uri)
        self._sent: list[Any] = []
        self.tags: dict[str, str] = {}
        self._t0 = time.perf_counter()
        self._duration: float | None = None
        self._restore: Any = None  # callables run at finish (autolog off, URI back, ...)
        self._cleanup: list[Any] = []
        self.span = False  # started by start_run(): spans cells until stop_run()

    # -- logging ------------------------------------------------------------------------
    def log_metric(self, key: str, value: Any, step: int | None = None,
                   timestamp: int | None = None) -> None:
        """Buffer one metric point (flushed in batches of 1,000)."""
        from mlflow.entities import Metric

        try:
            v = float(value)
        except (TypeError, ValueError):
            raise OpsInputError(f"metric {key!r} needs a number, got {type(value).__name__}"
                                ) from None
        k = _clean_key(key)
        self._pending.append(Metric(k, v, timestamp if timestamp is not None else _now_ms(),
                                    int(step) if step is not None else 0))
        self.latest_metrics[k] = v
        self.n_points += 1
        if len(self._pending) >= BATCH_SIZE:
            self.flush()

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Buffer several metrics at the same step and time."""
        ts = _now_ms()
        for k, v in metrics.items():
            self.log_metric(k, v, step=step, timestamp=ts)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters now (values are text; over-long values truncated with a note)."""
        from mlflow.entities import Param

        batch = []
        for key, value in params.items():
            k = _clean_key(key)
            text, note = _param_value(value)
            if note:
                self.notes.append(f"param {k}: {note}")
            if k in self.params:
                if self.params[k] != text:
                    self.notes.append(f"param {k} already logged as {self.params[k][:40]!r}; "
                                      "MLflow params are immutable, new value kept as a tag")
                    self.set_tags({f"param.{k}"[:250]: text})
                continue
            self.params[k] = text
            batch.append(Param(k, text))
        for i in range(0, len(batch), PARAM_BATCH):
            if not self._write(params=batch[i:i + PARAM_BATCH]):
                break  # moved to the buffer, which got every param from memory

    def log_param(self, key: str, value: Any) -> None:
        """Log one parameter."""
        self.log_params({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        batch = [RunTag(_clean_key(k), str(v)[:5000]) for k, v in tags.items()]
        self.tags.update({t.key: t.value for t in batch})
        for i in range(0, len(batch), PARAM_BATCH):
            if not self._write(tags=batch[i:i + PARAM_BATCH]):
                break  # moved to the buffer, which got every tag from memory

    def log_dataset(self, data: Any, name: str | None = None, context: str = "input") -> dict:
        """Record a fingerprint (sha256, shape, schema) of ``data``; returns it."""
        from .fingerprints import dataset_fingerprint

        fp = dataset_fingerprint(data, name=name or f"dataset{len(self.datasets)}")
        fp["context"] = context
        if not any(d["sha256"] == fp["sha256"] and d["name"] == fp["name"] for d in self.datasets):
            self.datasets.append(fp)
            tag = _clean_key(f"dataset.{fp['name']}")
            self.set_tags({f"{tag}.sha256": fp["sha256"],
                           f"{tag}.shape": f"{fp['rows']}x{fp['columns']}"})
        return fp

    def log_text(self, text: str, artifact_file: str) -> None:
        """Queue a text artifact (written when the run ends, in one go)."""
        self.artifacts[artifact_file] = text

    def flush(self, tags: Mapping[str, Any] | None = None) -> None:
        """Write buffered metric points (batches of at most 1,000), with ``tags`` if given.

        The tags ride along with the last batch, saving a request at the end of a run.
        """
        from mlflow.entities import RunTag

        run_tags = [RunTag(_clean_key(k), str(v)[:5000]) for k, v in (tags or {}).items()]
        while self._pending or run_tags:
            chunk = self._pending[:BATCH_SIZE]
            extra = run_tags if len(self._pending) <= BATCH_SIZE else []
            if not self._write(metrics=chunk, tags=extra):
                continue  # moved to the buffer: every point is pending again, write it there
            self.tags.update({t.key: t.value for t in extra})
            if extra:
                run_tags = []
            self._pending = self._pending[BATCH_SIZE:]
            if self._keep_sent:
                self._sent.extend(chunk)

    def _write(self, **batch: Any) -> bool:
        """``log_batch`` to the run; False when the server went away and the run was moved
        to the offline buffer instead (its records re-created there from memory)."""
        try:
            self._safe(self.client.log_batch, self.run_id, **batch)
            return True
        except OpsConnectionError as e:
            if self.buffered or not _store.is_remote(self.uri):
                raise
            self._switch_to_buffer(e)
            return False

    def _safe(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            if self._keep_sent:  # remote: fail fast instead of minutes of retries
                with _store.fast_http():
                    return fn(*args, **kwargs)
            return fn(*args, **kwargs)
        except Exception as e:
            if _store.is_connection_error(e):
                raise OpsConnectionError(
                    f"tracking server {self.uri} went away during run {self.run_id}") from e
            raise

    # -- end ----------------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return self._duration if self._duration is not None else time.perf_counter() - self._t0

    def finish(self, status: str = "FINISHED", error: str | None = None) -> RunCard:
        """Flush metrics, write artifacts, end the MLflow run with ``status``; the run card."""
        import mlflow

        if self.status != "RUNNING":
            return RunCard(self)
        self._duration = time.perf_counter() - self._t0
        self.status = status
        self.error = error
        moved = False
        with _store.quiet(), \
                _store.fast_http() if _store.is_remote(self.uri) else contextlib.nullcontext():
            self._end_left_children(status)
        try:
            try:
                with _store.quiet():
                    self._finish_records(error)
            except OpsConnectionError as e:
                if self.buffered or not _store.is_remote(self.uri):
                    raise
                _pop_fluent(self.run_id)
                self._move_to_buffer(e)
                moved = True
        finally:
            try:
                if not moved:
                    with _store.quiet():
                        active = mlflow.active_run()
                        if active is not None and active.info.run_id == self.run_id:
                            mlflow.end_run(status)
                        else:
                            self.client.set_terminated(self.run_id, status)
            finally:
                self.end_ms = _now_ms()
                for fn in reversed(self._cleanup):
                    with contextlib.suppress(Exception):
                        fn()
                self._cleanup.clear()
                if self in _STACK:
                    _STACK.remove(self)
        return RunCard(self)

    def _end_left_children(self, status: str) -> None:
        """End runs the cell started with ``mlflow.start_run()`` and left active (an interrupt
        or a missing ``end_run``) with this run's status, so none stays RUNNING in the store
        (a buffered run still RUNNING is never synced)."""
        import mlflow
        from mlflow.tracking import fluent

        try:
            stack = fluent._active_run_stack.get()
        except Exception:  # internal API moved: leave them
            return
        if not any(r.info.run_id == self.run_id for r in stack):
            return
        for _ in range(len(stack)):
            active = mlflow.active_run()
            if active is None or active.info.run_id == self.run_id:
                return
            ended = active.info.run_id
            ours = next((r for r in _STACK if r.run_id == ended and r is not self), None)
            try:
                if ours is not None:  # a tracked child: end it properly (its records too)
                    ours.finish(status, error="parent run ended first")
                    _pop_fluent(ended)
                else:
                    mlflow.end_run(status)
            except Exception:
                _pop_fluent(ended)
            self.notes.append(f"ended run {ended}, left active by the cell, as {status}")

    def _move_to_buffer(self, reason: BaseException) -> None:
        """The server went away while the run ended: finish it in the offline buffer."""
        self._switch_to_buffer(reason)
        self._finish_records(self.error)
        self.client.set_terminated(self.run_id, self.status)

    def _switch_to_buffer(self, reason: BaseException) -> None:
        """The server went away: re-create the run so far in the offline buffer, go on there.

        Params, tags and every metric point (those already sent are kept in memory for this)
        are written to a new buffered run; the incomplete run on the server stays as it was
        (its id in ``jupyter_ops.partial_server_run_id``). While the run is still going, the
        buffered run becomes MLflow's active run and the fluent API points at the buffer, so
        the rest of the cell, autolog and the user's own ``mlflow.log_*`` calls do not wait
        on the dead server.
        """
        from mlflow.entities import Param

        from . import offline

        lost = self.run_id
        _drop_fluent_from(lost)
        buri = offline.buffer_uri()
        bc = _store.client(buri)
        exp = offline.buffer_experiment(bc, self.experiment_name)
        tags = dict(self.tags)
        tags.update({offline.TARGET_TAG: self.target_uri,
                     offline.TARGET_EXP_TAG: self.experiment_name,
                     offline.OWNER_TAG: offline.owner(),
                     "jupyter_ops.partial_server_run_id": lost})
        tags.pop("mlflow.parentRunId", None)
        created = bc.create_run(exp.experiment_id, start_time=self.start_ms, tags=tags,
                                run_name=self.run_name)
        self.uri, self.client, self.run_id = buri, bc, created.info.run_id
        self.buffered, self.experiment_id = True, exp.experiment_id
        self.tags = tags
        self._keep_sent = False
        params = [Param(k, v) for k, v in self.params.items()]
        for i in range(0, len(params), PARAM_BATCH):
            bc.log_batch(self.run_id, params=params[i:i + PARAM_BATCH])
        self._pending = self._sent + self._pending
        self._sent = []
        self.notes.append(f"server {self.target_uri} went away during the run; run {lost} there "
                          "is incomplete, the full run is in the offline buffer")
        if self.status == "RUNNING":
            _cache_artifact_repo(created.info, buri)
            for undo in (_use_tracking_uri(buri), _use_experiment(exp.experiment_id)):
                if undo is not None:
                    self._cleanup.append(undo)
            _push_active(created, nested=False)
        warnings.warn(f"{reason}; the run was moved to the offline buffer "
                      f"{_store.display_uri(buri)}; push it later with %mlops_track sync "
                      "(or mlops.sync())", stacklevel=4)

    def _finish_records(self, error: str | None) -> None:
        self.flush(tags={"jupyter_ops.wall_time_s": f"{self._duration:.3f}"})
        if error:
            self.artifacts["traceback.txt"] = error
        if self.datasets:
            self.artifacts["datasets.json"] = json.dumps(self.datasets, indent=1)
        if self.notes:
            self.artifacts["notes.txt"] = "\n".join(self.notes) + "\n"
        self._write_artifacts()
        self._refresh()

    def _refresh(self) -> None:
        # the card shows what the store holds, including what autolog or mlflow.log_* added
        try:
            data = self.client.get_run(self.run_id).data
        except Exception:
            return
        params = dict(data.params)
        params.update(self.params)
        self.params = params
        metrics = dict(self.latest_metrics)  # the cell's own metrics first on the card
        metrics.update({k: v for k, v in data.metrics.items() if k not in metrics})
        self.latest_metrics = metrics

    def _write_artifacts(self) -> None:
        if not self.artifacts:
            return
        with tempfile.TemporaryDirectory(prefix="jops-run-") as d:
            for name, text in self.artifacts.items():
                path = os.path.join(d, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            self._safe(self.client.log_artifacts, self.run_id, d)

    def card(self) -> RunCard:
        """The run card as of now."""
        return RunCard(self)


# -- module-level API -----------------------------------------------------------------------
def current_run() -> TrackedRun | None:
    """The innermost tracked run that is still running, or None."""
    while _STACK and _STACK[-1].status != "RUNNING":
        _STACK.pop()
    return _STACK[-1] if _STACK else None


def _require_run(what: str) -> TrackedRun | None:
    run = current_run()
    if run is not None:
        return run
    import sys

    mlflow = sys.modules.get("mlflow")
    if mlflow is not None and mlflow.active_run() is not None:
        return None
    raise OpsInputError(f"{what} needs an active run: wrap the cell in %%mlops_track or use "
                        "`with mlops.track():`")


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log a metric point to the active run; buffered and written in batches.

    Inside a tracked run the point is kept in memory and written with ``log_batch`` (1,000
    points per request) when the buffer is full and when the run ends; each point keeps its
    step and the time it was logged. Inside a plain ``mlflow.start_run()`` it is passed on to
    ``mlflow.log_metric``.
    """
    run = _require_run("mlops.log_metric")
    if run is None:
        import mlflow

        mlflow.log_metric(key, value, step=step)
        return
    run.log_metric(key, value, step=step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log several metrics at one step (see :func:`log_metric`)."""
    run = _require_run("mlops.log_metrics")
    if run is None:
        import mlflow

        mlflow.log_metrics(dict(metrics), step=step)
        return
    run.log_metrics(metrics, step=step)


def log_param(key: str, value: Any) -> None:
    """Log a parameter to the active tracked run (over-long values truncated with a note)."""
    log_params({key: value})


def log_params(params: Mapping[str, Any]) -> None:
    """Log parameters to the active tracked run."""
    run = _require_run("mlops.log_params")
    if run is None:
        import mlflow

        mlflow.log_params({k: _param_value(v)[0] for k, v in params.items()})
        return
    run.log_params(params)


def log_dataset(data: Any, name: str | None = None, context: str = "input") -> dict[str, Any]:
    """Fingerprint a data set (sha256, shape, schema) and record it with the active run.

    Parameters
    ----------
    data : DataFrame, Series or array-like
    name : str, optional
        Label of the data set, e.g. ``"train"``.
    context : str
        What the data was used for (``input``, ``train``, ``test``...).

    Returns
    -------
    dict
        The fingerprint (see :func:`~jupyter_ops.mlops.dataset_fingerprint`). Without an active
        run it is only returned.
    """
    run = current_run()
    if run is None:
        from .fingerprints import dataset_fingerprint

        fp = dataset_fingerprint(data, name=name)
        fp["context"] = context
        return fp
    return run.log_dataset(data, name=name, context=context)


def _end_stale_runs(keep: TrackedRun | None) -> list[str]:
    """End runs left active (e.g. by an interrupted cell) so they cannot block a new one."""
    import mlflow

    ended = []
    for _ in range(50):
        active = mlflow.active_run()
        if active is None or (keep is not None and active.info.run_id == keep.run_id):
            break
        rid = active.info.run_id
        ours = next((r for r in _STACK if r.run_id == rid), None)
        try:
            if ours is not None:
                ours.finish("KILLED", error="left active; ended before a new tracked run started")
            else:
                mlflow.end_run("KILLED")
        except Exception:
            # the run belongs to a store we cannot reach any more: just forget it locally
            from mlflow.tracking import fluent

            with contextlib.suppress(Exception):
                fluent._active_run_stack.get().pop()
        ended.append(rid)
    return ended


def _tracking_uri_state() -> str | None:
    from mlflow.tracking._tracking_service import utils

    return utils._tracking_uri


def _use_tracking_uri(uri: str) -> Any:
    """Point MLflow's fluent API (``mlflow.log_*``, autolog) at ``uri``; returns the undo.

    ``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI`` into the environment and
    ``set_tracking_uri(None)`` deletes it, so a user's own ``MLFLOW_TRACKING_URI`` (typically
    the server that is down while a run is buffered) would be lost after the cell; the undo
    puts both the module state and the variable back as they were. None when nothing changed.
    """
    import mlflow

    saved_uri = _tracking_uri_state()
    if saved_uri == uri:
        return None
    saved_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)

    def undo() -> None:
        mlflow.set_tracking_uri(saved_uri)
        if saved_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env

    return undo


def _use_experiment(experiment_id: str) -> Any:
    """Make ``experiment_id`` MLflow's active experiment for the run; returns the undo.

    Runs a cell starts itself with ``mlflow.start_run(nested=True)`` then land beside their
    parent (the MLflow UI nests child runs only within one experiment) and, while the run is
    buffered, inside the buffer's experiment instead of its ``Default`` one. An experiment the
    cell chose itself with ``mlflow.set_experiment`` is kept. None when nothing changed.
    """
    from mlflow.tracking import fluent

    if not hasattr(fluent, "_active_experiment_id"):  # internal API moved: leave it
        return None
    saved = fluent._active_experiment_id
    if saved == experiment_id:
        return None
    fluent._active_experiment_id = experiment_id

    def undo() -> None:
        if fluent._active_experiment_id == experiment_id:
            fluent._active_experiment_id = saved

    return undo


def _begin(experiment: str | None, run_name: str | None, tags: Mapping[str, Any] | None,
           params: Mapping[str, Any] | None, autolog: bool, nested: bool,
           tracking_uri: str | None, source: str | None, resume: str | bool | None,
           stacklevel: int = 3, offline_reason: str | None = None) -> TrackedRun:
    import mlflow

    from . import offline

    target = _store.resolve_uri(tracking_uri)
    span = current_run()
    if not nested and span is not None and span.span:
        nested = True  # a tracked cell inside %mlops_track start ... stop is a child run
    parent = current_run() if nested else None
    if nested and parent is None and mlflow.active_run() is None:
        nested = False
    if not nested:
        ended = _end_stale_runs(keep=None)
    else:
        ended = []
    uri, buffered = target, False
    if parent is not None and parent.buffered:
        uri, buffered = parent.uri, True  # a child of a buffered run stays with its parent
    else:
        try:
            if offline_reason:
                raise OpsConnectionError(offline_reason)
            _store.probe(target)
        except OpsConnectionError as e:
            uri, buffered = offline.buffer_uri(), True
            warnings.warn(f"{e}; run recorded in the offline buffer {_store.display_uri(uri)}; "
                          "push it later with %mlops_track sync (or mlops.sync())",
                          stacklevel=stacklevel)
    retry = {"experiment": experiment, "run_name": run_name, "tags": tags, "params": params,
             "autolog": autolog, "nested": nested, "tracking_uri": tracking_uri,
             "source": source, "resume": resume, "stacklevel": stacklevel + 1}
    if not buffered and _store.is_remote(uri):
        try:
            return _open(uri, target, buffered, experiment, run_name, tags, params, autolog,
                         nested, source, resume, ended)
        except Exception as e:
            if not _store.is_connection_error(e) or getattr(e, "_jops_run_created", False):
                raise
            # the server went away between the probe and the run's creation: buffer instead
            return _begin(**retry, offline_reason=f"tracking server {target} cannot be "
                          "reached (it stopped answering)")
    return _open(uri, target, buffered, experiment, run_name, tags, params, autolog, nested,
                 source, resume, ended)


def _open(uri: str, target: str, buffered: bool, experiment: str | None,
          run_name: str | None, tags: Mapping[str, Any] | None,
          params: Mapping[str, Any] | None, autolog: bool, nested: bool, source: str | None,
          resume: str | bool | None, ended: list[str]) -> TrackedRun:
    """Find the experiment, create the run in ``uri`` and record what is known at start."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from . import offline

    c = _store.client(uri)
    exp_name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "Default"
    try:
        with _store.fast_http() if _store.is_remote(uri) else contextlib.nullcontext(), \
                _store.store_errors(uri):
            if buffered:
                exp = offline.buffer_experiment(c, exp_name)
            elif (uri, exp_name) in _EXPERIMENTS:
                exp = _EXPERIMENTS[(uri, exp_name)]
            else:
                exp = _store.find_experiment(c, exp_name, create=True)
                if exp.lifecycle_stage != "deleted":
                    _EXPERIMENTS[(uri, exp_name)] = exp
    except OpsInputError:
        raise
    except MlflowException as e:
        if _store.is_connection_error(e):
            raise OpsConnectionError(f"tracking server {uri} cannot be reached") from None
        raise OpsInputError(f"cannot use experiment {exp_name!r} in {uri}: "
                            f"{_store._first_line(e)}") from None
    if exp.lifecycle_stage == "deleted":
        raise OpsInputError(f"experiment {exp_name!r} is deleted in {uri}; restore it in the "
                            "MLflow UI or choose another name with -e")

    start_ms = _now_ms()
    notebook = None
    from .environment import git_commit, notebook_path

    notebook = notebook_path()
    commit = git_commit()
    sys_tags: dict[str, str] = {
        "mlflow.user": _user(),
        "mlflow.source.name": notebook or "ipython",
        "mlflow.source.type": "NOTEBOOK" if notebook else "LOCAL",
        "jupyter_ops.tracked": "1",
    }
    if commit:
        sys_tags["mlflow.source.git.commit"] = commit
    if notebook:
        sys_tags["jupyter_ops.notebook"] = notebook
    if buffered:
        sys_tags[offline.TARGET_TAG] = target
        sys_tags[offline.TARGET_EXP_TAG] = exp_name
        sys_tags[offline.OWNER_TAG] = offline.owner()
    if source is not None:
        import hashlib

        sys_tags["jupyter_ops.cell_sha256"] = hashlib.sha256(source.encode()).hexdigest()
    if run_name:
        sys_tags["mlflow.runName"] = run_name
    active = mlflow.active_run()
    if nested and active is not None:
        sys_tags["mlflow.parentRunId"] = active.info.run_id
    user_tags = {str(k): str(v) for k, v in (tags or {}).items()}

    resume_id = None
    if resume:
        resume_id = resume if isinstance(resume, str) else _last_run_of_cell(c, exp, sys_tags)
    # for the run's duration MLflow's fluent API (the user's own mlflow.log_* calls, autolog)
    # writes to the run's store: the buffer when the server is down, so nothing waits on it
    undo_uri = _use_tracking_uri(uri)
    try:
        with _store.fast_http() if _store.is_remote(uri) else contextlib.nullcontext():
            run = _create_or_resume(c, uri, target, exp, exp_name, run_name, buffered, nested,
                                    start_ms, resume_id, {**sys_tags, **user_tags})
    except BaseException:
        if undo_uri is not None:
            undo_uri()
        raise
    if undo_uri is not None:
        run._cleanup.append(undo_uri)
    undo_exp = _use_experiment(run.experiment_id)
    if undo_exp is not None:
        run._cleanup.append(undo_exp)
    if ended:
        run.notes.append(f"ended {len(ended)} run(s) left active before this one: "
                         f"{', '.join(ended)}")
    _STACK.append(run)
    try:
        if params:
            run.log_params(params)
        if source is not None:
            run.log_text(source, "cell.py")
        from .environment import run_environment

        run.log_text(json.dumps(run_environment(), indent=1, default=str), "environment.json")
        if autolog:
            _enable_autolog(run)
    except BaseException as e:
        with contextlib.suppress(AttributeError):
            e._jops_run_created = True  # type: ignore[attr-defined] - no retry in _begin
        run.finish("FAILED", error="".join(traceback.format_exception(e)))
        raise
    return run


def _create_or_resume(c: Any, uri: str, target: str, exp: Any, exp_name: str,
                      run_name: str | None, buffered: bool, nested: bool, start_ms: int,
                      resume_id: str | None, all_tags: dict[str, str]) -> TrackedRun:
    """Create the MLflow run (or resume ``resume_id``) and make it MLflow's active run."""
    import mlflow
    from mlflow.exceptions import MlflowException

    if resume_id:
        _store.get_run(c, resume_id)
        active_run = mlflow.start_run(run_id=resume_id, nested=nested)
        info = active_run.info
        run = TrackedRun(uri, target, exp_name, info.experiment_id, info.run_id,
                         info.run_name, buffered, c, start_ms)
        run.params = dict(c.get_run(resume_id).data.params)
        run.set_tags(all_tags)
    else:
        run_tags = {_clean_key(k): v[:5000] for k, v in all_tags.items()}
        try:
            created = c.create_run(exp.experiment_id, start_time=start_ms, tags=run_tags,
                                   run_name=run_name)
        except MlflowException:
            # the cached experiment may have been deleted meanwhile: look it up again
            _EXPERIMENTS.pop((uri, exp_name), None)
            exp = _store.find_experiment(c, exp_name, create=True)
            created = c.create_run(exp.experiment_id, start_time=start_ms, tags=run_tags,
                                   run_name=run_name)
        info = created.info
        _cache_artifact_repo(info, uri)
        run = TrackedRun(uri, target, exp_name, exp.experiment_id, info.run_id,
                         info.run_name, buffered, c, start_ms)
        run.tags.update(run_tags)
        _push_active(created, nested)
    return run


def _push_active(run_obj: Any, nested: bool) -> None:
    """Make ``run_obj`` MLflow's active run (so ``mlflow.log_*`` and autolog use it)."""
    import mlflow
    from mlflow.tracking import fluent

    try:
        stack = fluent._active_run_stack.get()
        stack.append(fluent.ActiveRun(run_obj))
    except Exception:  # internal API moved: fall back to resuming through the public API
        mlflow.start_run(run_id=run_obj.info.run_id, nested=nested)


def _cache_artifact_repo(info: Any, uri: str) -> None:
    """Seed MLflow's artifact-repository cache from the new run's info.

    ``MlflowClient.log_artifacts`` otherwise fetches the run again just to learn its artifact
    URI, which we already have from ``create_run``.
    """
    with contextlib.suppress(Exception):
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
        from mlflow.tracking._tracking_service import utils

        cache = utils._artifact_repos_cache
        if info.run_id not in cache and len(cache) < 1024:
            cache[info.run_id] = get_artifact_repository(info.artifact_uri, tracking_uri=uri)


def _pop_fluent(run_id: str) -> None:
    """Forget ``run_id`` as MLflow's active run without contacting its store."""
    from mlflow.tracking import fluent

    with contextlib.suppress(Exception):
        stack = fluent._active_run_stack.get()
        if stack and stack[-1].info.run_id == run_id:
            stack.pop()


def _drop_fluent_from(run_id: str) -> None:
    """Forget ``run_id`` and the runs started above it as MLflow's active runs, without
    contacting their store (a server that went away: those runs cannot be ended there)."""
    from mlflow.tracking import fluent

    with contextlib.suppress(Exception):
        stack = fluent._active_run_stack.get()
        ids = [r.info.run_id for r in stack]
        if run_id in ids:
            del stack[ids.index(run_id):]


def _last_run_of_cell(c: Any, exp: Any, sys_tags: Mapping[str, str]) -> str | None:
    sha = sys_tags.get("jupyter_ops.cell_sha256")
    if not sha:
        return None
    runs = c.search_runs([exp.experiment_id],
                         filter_string=f"tags.`jupyter_ops.cell_sha256` = '{sha}'",
                         max_results=1, order_by=["attributes.start_time DESC"])
    return runs[0].info.run_id if runs else None


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _enable_autolog(run: TrackedRun) -> None:
    """scikit-learn autologging for this run only; fit inputs are fingerprinted.

    Dataset logging of autolog itself is off (it copies and digests every input and is slow);
    instead the ``X``/``y`` that autolog extracts from each top-level ``fit`` call are
    fingerprinted with :func:`dataset_fingerprint` and recorded like ``log_dataset``.
    """
    try:
        import mlflow.sklearn as msk
    except Exception as e:  # sklearn missing: tracking still works
        run.notes.append(f"sklearn autolog unavailable: {type(e).__name__}")
        return
    _install_fit_recorder()
    _skip_requirement_inference(run)
    # autolog's post-training metrics call sklearn with a renamed argument (sklearn 1.9):
    # the resulting FutureWarning is about MLflow's code, not the user's
    warnings.filterwarnings("ignore", message=r"`y_pred` was renamed to `y_proba`",
                            category=FutureWarning)
    msk.autolog(log_input_examples=False, log_model_signatures=True, log_models=True,
                log_datasets=False, silent=True, log_post_training_metrics=True)
    run._cleanup.append(lambda: msk.autolog(disable=True, silent=True))


_RECORDER_INSTALLED = False


def _skip_requirement_inference(run: TrackedRun) -> None:
    """Use the sklearn flavor's default requirements instead of MLflow's inference.

    MLflow infers a logged model's pip requirements by loading it in a subprocess (~2 s per
    ``fit`` here). For scikit-learn models the flavor's defaults (scikit-learn and the
    serializer, pinned to the installed versions) are what that inference finds, and
    ``environment.json`` records the full environment anyway. Set
    ``JUPYTER_OPS_INFER_REQUIREMENTS=1`` to keep MLflow's inference.
    """
    if os.environ.get("JUPYTER_OPS_INFER_REQUIREMENTS") == "1":
        return
    import mlflow.models as mm

    original = mm.infer_pip_requirements

    def defaults(model_uri: Any, flavor: Any, fallback: Any = None, *a: Any, **k: Any) -> Any:
        if flavor == "sklearn" and fallback is not None:
            return list(fallback)
        return original(model_uri, flavor, fallback, *a, **k)

    mm.infer_pip_requirements = defaults
    run._cleanup.append(lambda: setattr(mm, "infer_pip_requirements", original))


def _install_fit_recorder() -> None:
    """Wrap the helper autolog uses to pull ``X``/``y`` out of ``fit`` arguments.

    ``mlflow.sklearn.autolog()`` imports ``_get_X_y_and_sample_weight`` from
    ``mlflow.sklearn.utils`` each time it is enabled, so wrapping it there (once, before
    enabling) lets every top-level autologged ``fit`` report its inputs to the current tracked
    run. Outside a tracked run the wrapper only passes through.
    """
    global _RECORDER_INSTALLED
    if _RECORDER_INSTALLED:
        return
    try:
        from mlflow.sklearn import utils as msu
    except Exception:  # pragma: no cover
        return
    original = getattr(msu, "_get_X_y_and_sample_weight", None)
    if original is None:  # pragma: no cover - mlflow internals changed: no fit fingerprints
        return

    def recording(fit_func: Any, fit_args: Any, fit_kwargs: Any) -> Any:
        out = original(fit_func, fit_args, fit_kwargs)
        run = current_run()
        if run is not None:
            with contextlib.suppress(Exception):
                if out[0] is not None:
                    run.log_dataset(out[0], name="fit.X", context="train")
                if out[1] is not None:
                    run.log_dataset(out[1], name="fit.y", context="train")
        return out

    msu._get_X_y_and_sample_weight = recording
    _RECORDER_INSTALLED = True


def _returned_metrics(value: Any) -> dict[str, float]:
    """Metrics from a cell's last expression: a mapping (or Series) of names to numbers."""
    items: Any = None
    if isinstance(value, Mapping):
        items = value.items()
    elif type(value).__name__ == "Series" and hasattr(value, "items"):
        items = value.items()
    if items is None:
        return {}
    out = {}
    for k, v in items:
        if isinstance(v, bool) or not isinstance(k, str):
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[k] = f
    return out


@contextlib.contextmanager
def track(experiment: str | None = None, run_name: str | None = None,
          tags: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
          autolog: bool = True, nested: bool = False, tracking_uri: str | None = None,
          source: str | None = None, resume: str | bool | None = None) -> Iterator[TrackedRun]:
    """Run a block of code inside a tracked MLflow run.

    Parameters
    ----------
    experiment : str, optional
        Experiment name, created when missing (default ``MLFLOW_EXPERIMENT_NAME`` or
        ``Default``).
    run_name : str, optional
    tags : mapping, optional
    params : mapping, optional
        Parameters logged at the start (values stored as text; longer than 6,000 characters
        truncated with a note; objects whose ``repr`` fails stored as a placeholder).
    autolog : bool
        scikit-learn autologging (model, params, training metrics, signature) for this run.
    nested : bool
        Start a child of the active run instead of ending runs left active.
    tracking_uri : str, optional
        Store; default ``MLFLOW_TRACKING_URI`` or MLflow's default (``sqlite:///mlflow.db``).
    source : str, optional
        Code of the block, stored as the ``cell.py`` artifact.
    resume : str or bool, optional
        A run id to continue, or True for the last run of the same ``source``.

    Yields
    ------
    TrackedRun
        ``run.card()`` / the run card after the block: ``run.finish()`` returns it.

    Notes
    -----
    An exception ends the run as ``FAILED`` (traceback in ``traceback.txt``) and propagates
    unchanged; ``KeyboardInterrupt`` ends it as ``KILLED``.
    """
    run = _begin(experiment, run_name, tags, params, autolog, nested, tracking_uri, source,
                 resume, stacklevel=4)
    try:
        yield run
    except KeyboardInterrupt as e:
        run.finish("KILLED", error="".join(traceback.format_exception(e)))
        raise
    except BaseException as e:
        run.finish("FAILED", error="".join(traceback.format_exception(e)))
        raise
    else:
        run.finish("FINISHED")


def start_run(experiment: str | None = None, run_name: str | None = None,
              tags: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
              autolog: bool = True, tracking_uri: str | None = None) -> TrackedRun:
    """Start a tracked run that spans cells; end it with :func:`stop_run`."""
    run = _begin(experiment, run_name, tags, params, autolog, False, tracking_uri, None, None)
    run.span = True
    return run


def stop_run(status: str = "FINISHED") -> RunCard:
    """End the innermost tracked run (started by :func:`start_run`); returns its card."""
    run = current_run()
    if run is None:
        raise OpsInputError("no tracked run is active; start one with %mlops_track start")
    return run.finish(status)
