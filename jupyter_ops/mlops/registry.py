"""Model registry and reproduction: :func:`register_model`, :func:`reproduce`."""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Any

from ..errors import OpsInputError
from ..results import Result
from . import _store

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["register_model", "reproduce", "ModelRegistration", "Reproduction",
           "model_card_markdown"]

DEFAULT_INTENDED_USE = (
    "Not stated. Say what the model is for, who may use it and on which data it is valid "
    "(pass --intended-use / intended_use=...).")


def _missing(e: BaseException) -> bool:
    """True for MLflow's "no such thing" answer; anything else is not ours to hide."""
    return getattr(e, "error_code", None) in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


def _text_artifact(c: Any, run_id: str, path: str) -> str | None:
    """An artifact's text, or None when the run has no such artifact.

    Only "not found" is an answer; a server that went away raises
    :class:`~jupyter_ops.errors.OpsConnectionError` and anything else propagates.
    """
    from mlflow.exceptions import MlflowException

    from ..errors import OpsConnectionError

    try:
        with tempfile.TemporaryDirectory(prefix="jops-art-") as d:
            local = c.download_artifacts(run_id, path, d)
            with open(local, encoding="utf-8") as f:
                return f.read()
    except (MlflowException, OSError) as e:
        if _store.is_connection_error(e):
            raise OpsConnectionError(f"tracking server went away while reading {path} of run "
                                     f"{run_id}") from e
        if isinstance(e, FileNotFoundError) or _missing(e):
            return None
        raise


def _datasets(c: Any, run: Any) -> list[dict[str, Any]]:
    text = _text_artifact(c, run.info.run_id, "datasets.json")
    if text:
        try:
            return list(json.loads(text))
        except ValueError:
            pass
    out = []
    for k, v in run.data.tags.items():  # fall back to the dataset.<name>.sha256 tags
        if k.startswith("dataset.") and k.endswith(".sha256"):
            name = k[len("dataset."):-len(".sha256")]
            shape = run.data.tags.get(f"dataset.{name}.shape", "")
            out.append({"name": name, "sha256": v, "shape": shape})
    return out


def _model_uri(c: Any, run: Any, model_path: str | None) -> tuple[str, str | None]:
    """``(model URI, logged model id)`` of the run's model (the last one logged)."""
    outputs = getattr(getattr(run, "outputs", None), "model_outputs", None) or []
    models = []
    from mlflow.exceptions import MlflowException

    for o in outputs:
        try:
            models.append(c.get_logged_model(o.model_id))
        except MlflowException as e:
            if not _missing(e):
                raise
            continue  # a deleted logged model: the run's other models still count
    if model_path:
        for m in models:
            if m.name == model_path or m.model_id == model_path:
                return f"models:/{m.model_id}", m.model_id
        return f"runs:/{run.info.run_id}/{model_path}", None
    if models:
        m = max(models, key=lambda m: m.creation_timestamp or 0)
        return f"models:/{m.model_id}", m.model_id
    # MLflow 2 style: a model saved under the run's artifacts
    for a in c.list_artifacts(run.info.run_id):
        if a.is_dir and any(x.path.endswith("MLmodel")
                            for x in c.list_artifacts(run.info.run_id, a.path)):
            return f"runs:/{run.info.run_id}/{a.path}", None
    raise OpsInputError(
        f"run {run.info.run_id} logged no model; train a scikit-learn model inside "
        "%%mlops_track (autolog) or call mlflow.sklearn.log_model, then register")


def model_card_markdown(run: Any, name: str, version: str | None, model_uri: str,
                        datasets: list[dict[str, Any]], environment: dict[str, Any] | None,
                        intended_use: str | None) -> str:
    """The Markdown model card: data fingerprints, params, metrics, environment, intended use."""
    info, data = run.info, run.data
    lines = [f"# Model card: {name}" + (f" v{version}" if version else ""), "",
             f"- run: `{info.run_id}` ({info.run_name or ''}), status {info.status}",
             f"- model: `{model_uri}`"]
    commit = data.tags.get("mlflow.source.git.commit")
    if commit:
        lines.append(f"- git commit: `{commit}`")
    nb = data.tags.get("jupyter_ops.notebook")
    if nb:
        lines.append(f"- notebook: `{nb}`")
    lines += ["", "## Intended use", "", intended_use or DEFAULT_INTENDED_USE, "",
              "## Data", ""]
    if datasets:
        lines += ["| name | rows x columns | sha256 |", "|---|---|---|"]
        for d in datasets:
            shape = d.get("shape") or f"{d.get('rows', '?')}x{d.get('columns', '?')}"
            lines.append(f"| {d.get('name', '')} | {shape} | `{d.get('sha256', '')}` |")
    else:
        lines.append("No data fingerprints recorded (use mlops.log_dataset or autolog).")
    lines += ["", "## Parameters", ""]
    if data.params:
        lines += ["| param | value |", "|---|---|"]
        lines += [f"| {k} | {str(v)[:200]} |" for k, v in sorted(data.params.items())]
    else:
        lines.append("None recorded.")
    lines += ["", "## Metrics", ""]
    if data.metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.6g} |" for k, v in sorted(data.metrics.items())]
    else:
        lines.append("None recorded.")
    lines += ["", "## Environment", ""]
    if environment:
        lines.append(f"- Python {environment.get('python')} on {environment.get('platform')}")
        for k, v in sorted((environment.get("packages") or {}).items()):
            lines.append(f"- {k} {v}")
    else:
        lines.append("Not recorded.")
    return "\n".join(lines) + "\n"


class ModelRegistration(Result):
    """A registered model version and its model card."""

    kind = "model_registration"

    def __init__(self, name: str, version: str, alias: str | None, run_id: str,
                 model_uri: str, card: str, tracking_uri: str) -> None:
        super().__init__()
        self.name, self.version, self.alias = name, version, alias
        self.run_id, self.model_uri, self.card = run_id, model_uri, card
        self.tracking_uri = tracking_uri

    @property
    def title(self) -> str:
        return f"Registered {self.name} v{self.version}"

    def summary(self) -> str:
        alias = f" as @{self.alias}" if self.alias else ""
        return (f"model of run {self.run_id} registered{alias}; load with "
                f"mlflow.sklearn.load_model('models:/{self.name}/{self.version}')")

    def figures(self) -> list[dict[str, Any]]:
        figs = [{"label": "model", "value": self.name}, {"label": "version", "value": self.version}]
        if self.alias:
            figs.append({"label": "alias", "value": self.alias, "status": "ok"})
        return figs

    def explanations(self) -> list[tuple[str, str]]:
        return [("Model card (model_card.md in the run's artifacts)", self.card)]


def _server_run(c: Any, uri: str, run_id: str) -> Any:
    """The run ``run_id`` in ``uri``; a buffered run id is taken to its synced copy there."""
    try:
        return _store.get_run(c, run_id)
    except OpsInputError:
        from .offline import synced_run_id

        synced = synced_run_id(run_id, uri)
        if synced is None:
            raise
        return _store.get_run(c, synced)


def register_model(run_id: str, name: str, alias: str | None = None,
                   model_path: str | None = None, intended_use: str | None = None,
                   tracking_uri: str | None = None) -> ModelRegistration:
    """Register a run's model in the MLflow model registry and write its model card.

    Parameters
    ----------
    run_id : str
        A run in ``tracking_uri``; the id of a run recorded in the offline buffer works too once
        it was synced there (its server copy is registered).
    name : str
        Registered model name (created when missing; each call adds a version).
    alias : str, optional
        Alias to point at the new version, e.g. ``champion``.
    model_path : str, optional
        Logged model name (or artifact path) within the run; default the last model logged.
    intended_use : str, optional
        Text of the model card's "Intended use" section.
    tracking_uri : str, optional

    Returns
    -------
    ModelRegistration
        The card is also logged to the run as ``model_card.md`` and set as the version's
        description.
    """
    from ..provenance import make_provenance

    if not name or not str(name).strip():
        raise OpsInputError("register needs a model name: --name NAME")
    name = str(name).strip()
    uri = _store.resolve_uri(tracking_uri)
    _store.probe(uri)
    c = _store.client(uri)
    run = _server_run(c, uri, run_id)
    model_uri, model_id = _model_uri(c, run, model_path)
    from mlflow.exceptions import MlflowException

    from ._mlflowshims import quiet_mlflow_logging

    quiet_mlflow_logging()
    try:
        c.get_registered_model(name)
    except MlflowException as e:
        if not _missing(e):
            raise
        c.create_registered_model(name)
    kwargs: dict[str, Any] = {"run_id": run.info.run_id}
    if model_id:
        kwargs["model_id"] = model_id
    source = model_uri
    if model_id:
        try:
            source = c.get_logged_model(model_id).artifact_location
        except MlflowException as e:
            if not _missing(e):
                raise
            source = model_uri
    try:
        mv = c.create_model_version(name, source, **kwargs)
    except TypeError:  # MLflow 2: no model_id argument
        kwargs.pop("model_id", None)
        mv = c.create_model_version(name, source, **kwargs)
    if alias:
        c.set_registered_model_alias(name, alias, mv.version)
    env_text = _text_artifact(c, run.info.run_id, "environment.json")
    env = json.loads(env_text) if env_text else None
    card = model_card_markdown(run, name, str(mv.version), model_uri, _datasets(c, run), env,
                               intended_use)
    c.log_text(run.info.run_id, card, "model_card.md")
    try:
        c.update_model_version(name, mv.version, description=card[:5000])
    except MlflowException:  # the description is a convenience; the artifact is the record
        pass
    result = ModelRegistration(name, str(mv.version), alias, run.info.run_id, model_uri, card,
                               uri)
    result.provenance = make_provenance("mlops.register_model", {
        "run_id": run.info.run_id, "name": name, "alias": alias, "tracking_uri": uri})
    return result


class Reproduction(Result):
    """What is needed to re-run a tracked run: its cell source, params and environment."""

    kind = "reproduction"

    def __init__(self, run_id: str, run_name: str | None, experiment: str, source: str | None,
                 params: dict[str, str], environment: dict[str, Any] | None,
                 tags: dict[str, str]) -> None:
        super().__init__()
        self.run_id, self.run_name, self.experiment = run_id, run_name, experiment
        self.source = source
        self.params = params
        self.environment = environment or {}
        self.tags = tags
        self.path: str | None = None

    @property
    def title(self) -> str:
        return f"Reproduce run {self.run_name or self.run_id[:8]}"

    @property
    def git_commit(self) -> str | None:
        return self.tags.get("mlflow.source.git.commit") or self.environment.get("git_commit")

    @property
    def requirements(self) -> list[str]:
        """``name==version`` pins of the recorded packages."""
        return [f"{k}=={v}" for k, v in sorted((self.environment.get("packages") or {}).items())
                if k != "jupyter-ops"]

    def summary(self) -> str:
        where = f" at commit {self.git_commit[:10]}" if self.git_commit else ""
        have = "cell source" if self.source else "no cell source"
        return f"{have}, {len(self.params)} params, Python {self.environment.get('python', '?')}{where}"

    def tables(self) -> dict[str, pd.DataFrame]:
        import pandas as pd

        return {"params": pd.DataFrame(sorted(self.params.items()), columns=["param", "value"])}

    def explanations(self) -> list[tuple[str, str]]:
        out = []
        if self.source:
            out.append(("Cell source", self.source))
        if self.requirements:
            out.append(("Requirements", "\n".join(self.requirements)))
        return out

    def to_notebook(self) -> Any:
        """An nbformat v4 notebook that re-runs the cell in a new tracked run."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        env = self.environment
        intro = [f"# Reproduce run `{self.run_id}`", "",
                 f"Experiment **{self.experiment}**, run **{self.run_name or ''}**."]
        if self.git_commit:
            intro.append(f"Check out git commit `{self.git_commit}` first.")
        if env:
            intro.append(f"Recorded with Python {env.get('python')} on {env.get('platform')}.")
        cells = [nbformat.v4.new_markdown_cell("\n".join(intro))]
        if self.requirements:
            cells.append(nbformat.v4.new_code_cell(
                "# packages the run was recorded with\n# %pip install "
                + " ".join(self.requirements)))
        cells.append(nbformat.v4.new_code_cell("%load_ext jupyter_ops"))
        header = f"%%mlops_track -e {_quote(self.experiment)} -n {_quote((self.run_name or 'run') + '-repro')}"
        cells.append(nbformat.v4.new_code_cell(header + "\n" + (self.source or
                                               "# the run recorded no cell source")))
        nb.cells = cells
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        return nb

    def write_notebook(self, path: str | os.PathLike) -> str:
        """Write :meth:`to_notebook` to ``path`` (atomically); returns the path."""
        import nbformat

        from ..atomic import write_atomic

        text = nbformat.writes(self.to_notebook())
        write_atomic(str(path), text)
        self.path = str(path)
        return str(path)


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def reproduce(run_id: str, notebook: str | os.PathLike | None = None,
              tracking_uri: str | None = None) -> Reproduction:
    """What is needed to re-run a tracked run: cell source, params, environment.

    Parameters
    ----------
    run_id : str
    notebook : path, optional
        Also write a notebook that re-runs the cell in a new tracked run.
    tracking_uri : str, optional

    Returns
    -------
    Reproduction
    """
    uri = _store.resolve_uri(tracking_uri)
    _store.probe(uri)
    c = _store.client(uri)
    run = _server_run(c, uri, run_id)
    source = _text_artifact(c, run.info.run_id, "cell.py")
    env_text = _text_artifact(c, run.info.run_id, "environment.json")
    env = json.loads(env_text) if env_text else None
    exp = c.get_experiment(run.info.experiment_id)
    result = Reproduction(run.info.run_id, run.info.run_name, exp.name if exp else "Default",
                          source, dict(run.data.params), env, dict(run.data.tags))
    result.provenance = {"call": "mlops.reproduce", "params": {"run_id": run.info.run_id},
                         "inputs": {}, "seed": None}
    if notebook is not None:
        result.write_notebook(notebook)
    return result
