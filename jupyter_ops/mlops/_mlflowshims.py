"""Shims over MLflow internals the tracker relies on, in one place.

Each touches a private MLflow API (``fluent._active_run_stack``,
``fluent._active_experiment_id``, ``_tracking_service.utils``, the artifact-repository
cache, ``mlflow.sklearn.utils._get_X_y_and_sample_weight``,
``mlflow.models.infer_pip_requirements``) and degrades to the public API or to doing
nothing when that internal has moved, so an MLflow upgrade costs a feature, not a run.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ._trackedrun import TrackedRun

__all__: list[str] = []


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


#: the config dict MLflow keeps for sklearn autolog after our own ``autolog()`` call
_AUTOLOG_CONFIG: dict | None = None
_AUTOLOG_KWARGS = {"log_input_examples": False, "log_model_signatures": True,
                   "log_models": True, "log_datasets": False, "silent": True,
                   "log_post_training_metrics": True}


def _enable_autolog(run: TrackedRun) -> None:
    """scikit-learn autologging for this run only; fit inputs are fingerprinted.

    Dataset logging of autolog itself is off (it copies and digests every input and is slow);
    instead the ``X``/``y`` that autolog extracts from each top-level ``fit`` call are
    fingerprinted with :func:`dataset_fingerprint` and recorded like ``log_dataset``.

    Patched once per kernel: ``mlflow.sklearn.autolog()`` re-patches every estimator class on
    each call (most of a trivial tracked cell's time), so the first tracked run enables it and
    later runs only switch MLflow's ``disable`` flag of that configuration back off; after
    the run the flag is switched on again, which makes the patched methods call straight
    through (no run is created for fits outside tracked cells). If anyone else called
    ``autolog()`` in between (the configuration object changed), it is enabled afresh.
    """
    try:
        import mlflow.sklearn as msk
    except Exception as e:  # sklearn missing: tracking still works
        run.notes.append(f"sklearn autolog unavailable: {type(e).__name__}")
        return
    global _AUTOLOG_CONFIG
    _install_fit_recorder()
    _skip_requirement_inference(run)
    # autolog's post-training metrics call sklearn with a renamed argument (sklearn 1.9):
    # the resulting FutureWarning is about MLflow's code, not the user's
    warnings.filterwarnings("ignore", message=r"`y_pred` was renamed to `y_proba`",
                            category=FutureWarning)
    configs = _autolog_configs()
    if configs is not None and _AUTOLOG_CONFIG is not None \
            and configs.get("sklearn") is _AUTOLOG_CONFIG:
        _AUTOLOG_CONFIG["disable"] = False  # patches still in place: just switch them on
    else:
        msk.autolog(**_AUTOLOG_KWARGS)
        _AUTOLOG_CONFIG = configs.get("sklearn") if configs is not None else None
    run._cleanup.append(_pause_autolog)


def _autolog_configs() -> dict | None:
    """MLflow's registry of autolog configurations (None when that internal moved)."""
    try:
        from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS
    except Exception:
        return None
    return AUTOLOGGING_INTEGRATIONS if isinstance(AUTOLOGGING_INTEGRATIONS, dict) else None


def _pause_autolog() -> None:
    """After a tracked run: autolog off, its patches kept for the next run."""
    global _AUTOLOG_CONFIG
    configs = _autolog_configs()
    if configs is not None and _AUTOLOG_CONFIG is not None \
            and configs.get("sklearn") is _AUTOLOG_CONFIG:
        _AUTOLOG_CONFIG["disable"] = True
        return
    import mlflow.sklearn as msk

    _AUTOLOG_CONFIG = None
    msk.autolog(disable=True, silent=True)


def _end_fluent_run(client: Any, run_id: str, status: str, end_ms: int) -> bool:
    """End ``run_id`` as MLflow's active run with ``end_ms`` as its end time.

    What ``mlflow.end_run`` does (pop the active run, remember it as the last active run,
    stop its system-metrics monitor, ``set_terminated``) but with an explicit end time, so
    the run card's duration and MLflow's ``end_time - start_time`` are the same number.
    False when ``run_id`` is not the active run (nothing done).
    """
    from mlflow.tracking import fluent

    try:
        stack = fluent._active_run_stack.get()
    except Exception:  # internal API moved
        return False
    if not stack or stack[-1].info.run_id != run_id:
        return False
    stack.pop()
    with contextlib.suppress(Exception):
        from mlflow.environment_variables import MLFLOW_RUN_ID

        MLFLOW_RUN_ID.unset()
    last = getattr(fluent, "_last_active_run_id", None)
    if hasattr(last, "set"):
        last.set(run_id)
    else:
        fluent._last_active_run_id = run_id
    monitors = getattr(fluent, "run_id_to_system_metrics_monitor", {})
    if run_id in monitors:
        with contextlib.suppress(Exception):
            monitors.pop(run_id).finish()
    client.set_terminated(run_id, status, end_time=end_ms)
    return True


def quiet_mlflow_logging() -> None:
    """MLflow's INFO lines ("Creating initial MLflow database tables...") and artifact
    progress bars off; warnings stay.

    MLflow configures its ``mlflow`` logger with its own stderr handler at INFO, which shows
    as a red block under the first tracked cell. The level is raised to WARNING once, unless
    the user chose one with ``MLFLOW_LOGGING_LEVEL``. Alembic's migration INFO lines go too.
    """
    import logging

    # MLflow draws a tqdm bar for every artifact download/upload once tqdm is installed
    # (jupyter-ops' own bars need it): noise under every card; a user's choice is kept
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if os.environ.get("MLFLOW_LOGGING_LEVEL"):
        return
    # importing mlflow (re)configures its logger at INFO, so it must come first; every caller
    # is about to use mlflow anyway
    import mlflow  # noqa: F401

    for name in ("mlflow", "alembic"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


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
        from ._trackedrun import current_run  # not at the top: _trackedrun imports this module

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
