"""Tracked runs on MLflow: :func:`track`, :func:`log_metric`, :func:`log_dataset`, run cards.

A tracked run is an ordinary MLflow run (it shows up unchanged in ``mlflow ui`` and
``mlflow.search_runs``) plus what a notebook user needs to understand and reproduce it: the
cell's source, its parameters, the environment, the git commit, dataset fingerprints, the wall
time, and a :class:`RunCard` shown under the cell.

Metric points logged through :func:`log_metric` are buffered and written with
``MlflowClient.log_batch`` (at most 1,000 per request, MLflow's limit), which is what makes a
10,000-step training loop cheap. When a remote tracking server cannot be reached the run is
recorded in a local buffer store instead (see :mod:`jupyter_ops.mlops.offline`).

This module holds the public API and how a run starts; the pieces live beside it:
:mod:`._runparams` (parameter extraction), :mod:`._trackedrun` (the tracked run and the
stack of runs in progress), :mod:`._runcard` (the run card) and :mod:`._mlflowshims`
(everything that touches MLflow internals).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import traceback
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import OpsConnectionError, OpsInputError
from . import _store
from ._mlflowshims import (
    _cache_artifact_repo,
    _enable_autolog,
    _push_active,
    _use_experiment,
    _use_tracking_uri,
)
from ._runcard import RunCard
from ._runparams import (
    MAX_PARAM_LENGTH,
    _clean_key,
    _now_ms,
    _param_value,
    cell_params,
)
from ._trackedrun import _STACK, TrackedRun, _end_stale_runs, current_run

__all__ = ["track", "TrackedRun", "RunCard", "log_metric", "log_metrics", "log_param",
           "log_params", "log_dataset", "current_run", "start_run", "stop_run",
           "cell_params", "MAX_PARAM_LENGTH"]

#: experiments already looked up in this process: (uri, name) -> Experiment
_EXPERIMENTS: dict[tuple[str, str], Any] = {}


# -- module-level API -----------------------------------------------------------------------
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


def _begin(experiment: str | None, run_name: str | None, tags: Mapping[str, Any] | None,
           params: Mapping[str, Any] | None, autolog: bool, nested: bool,
           tracking_uri: str | None, source: str | None, resume: str | bool | None,
           stacklevel: int = 3, offline_reason: str | None = None) -> TrackedRun:
    import mlflow

    from . import offline
    from ._mlflowshims import quiet_mlflow_logging

    quiet_mlflow_logging()
    target = _store.resolve_uri(tracking_uri)
    if not resume and offline.CLIENT_KEY_TAG not in (tags or {}):
        # one key per run, kept when the creation is retried in the buffer: a server that
        # stored the run but died before answering leaves a copy sync can then recognise
        import uuid

        tags = {**(tags or {}), offline.CLIENT_KEY_TAG: uuid.uuid4().hex}
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
        # a resumed run keeps MLflow's start time: its duration is MLflow's too
        run = TrackedRun(uri, target, exp_name, info.experiment_id, info.run_id,
                         info.run_name, buffered, c, info.start_time or start_ms)
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
