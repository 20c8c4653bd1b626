"""The tracked run: buffered metric points, params, tags, artifacts, ending and the move
to the offline buffer when a tracking server goes away; the stack of runs in progress."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import OpsConnectionError, OpsInputError
from . import _store
from ._mlflowshims import (
    _cache_artifact_repo,
    _drop_fluent_from,
    _end_fluent_run,
    _pop_fluent,
    _push_active,
    _use_experiment,
    _use_tracking_uri,
)
from ._runcard import RunCard
from ._runparams import BATCH_SIZE, PARAM_BATCH, _clean_key, _now_ms, _param_value

__all__ = ["TrackedRun", "current_run"]

#: tracked runs in progress, innermost last
_STACK: list[TrackedRun] = []


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
        """Seconds from the run's MLflow start time to its end (so far, while running)."""
        if self._duration is not None:
            return self._duration
        return max(_now_ms() - self.start_ms, 0) / 1000.0

    def finish(self, status: str = "FINISHED", error: str | None = None) -> RunCard:
        """Flush metrics, write artifacts, end the MLflow run with ``status``; the run card."""
        import mlflow

        if self.status != "RUNNING":
            return RunCard(self)
        # the one end time: MLflow's end_time, the wall-time tag and the card's duration
        # are all end_ms - start_ms (see docs/tracking.md, "Duration")
        self.end_ms = max(_now_ms(), self.start_ms)
        self._duration = (self.end_ms - self.start_ms) / 1000.0
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
                        if not _end_fluent_run(self.client, self.run_id, status, self.end_ms):
                            active = mlflow.active_run()
                            if active is not None and active.info.run_id == self.run_id:
                                mlflow.end_run(status)  # MLflow internals moved
                            else:
                                self.client.set_terminated(self.run_id, status,
                                                           end_time=self.end_ms)
            finally:
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
        self.client.set_terminated(self.run_id, self.status, end_time=self.end_ms)

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


def current_run() -> TrackedRun | None:
    """The innermost tracked run that is still running, or None."""
    while _STACK and _STACK[-1].status != "RUNNING":
        _STACK.pop()
    return _STACK[-1] if _STACK else None


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
