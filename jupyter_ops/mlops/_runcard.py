"""The run card: what a tracked run recorded, shown under the cell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..results import Result
from . import _store

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._trackedrun import TrackedRun

__all__ = ["RunCard"]


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
