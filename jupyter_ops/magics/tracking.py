"""Experiment tracking magics: ``%%mlops_track``, ``%mlops_runs``, ``%mlops_compare``,
``%mlops_register``.

Thin front ends over :mod:`jupyter_ops.mlops` (tracker, runlist, registry, offline). Nothing
here imports mlflow, pandas or sklearn at import time.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ._base import parse, publish, split_list, user_errors

ACTIONS = ("start", "stop", "status", "sync")


def _tags(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for p in pairs or []:
        k, sep, v = p.partition("=")
        if not sep or not k.strip():
            raise UsageError(f"--tag needs KEY=VALUE, got {p!r}")
        out[k.strip()] = v.strip()
    return out


def _run_cell_code(shell: Any, cell: str) -> Any:
    """Run ``cell`` in the user namespace like IPython would; return the last expression.

    Exceptions (including KeyboardInterrupt) propagate unchanged, so the run can be ended
    FAILED/KILLED and IPython shows the usual traceback.
    """
    code = shell.transform_cell(cell)
    try:
        filename = shell.compile.cache(code, shell.execution_count, raw_code=cell)
    except TypeError:  # older IPython
        filename = shell.compile.cache(code)
    tree = shell.compile.ast_parse(code, filename=filename)
    tree = shell.transform_ast(tree)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    glob, loc = shell.user_global_ns, shell.user_ns
    exec(shell.compile(tree, filename, "exec"), glob, loc)  # noqa: S102 - the user's own cell
    if last is not None:
        return eval(shell.compile(last, filename, "eval"), glob, loc)  # noqa: S307
    return None


@magics_class
class TrackingMagics(Magics):
    @magic_arguments()
    @argument("action", nargs="?", choices=ACTIONS,
              help="line form: start/stop a run spanning cells, status, or sync the offline "
              "buffer")
    @argument("-e", "--experiment", default=None, help="experiment (created when missing)")
    @argument("-n", "--name", default=None, help="run name")
    @argument("--tag", action="append", default=None, metavar="K=V", help="run tag (repeat)")
    @argument("--params", default=None,
              help="comma-separated variables to log as params (default: the cell's top-level "
              "scalar assignments)")
    @argument("--no-autolog", action="store_true", help="no scikit-learn autologging")
    @argument("--nested", action="store_true", help="child run of the active run")
    @argument("--resume", nargs="?", const=True, default=None, metavar="RUN_ID",
              help="continue RUN_ID, or the last run of this same cell")
    @argument("--uri", default=None,
              help="tracking URI (default: MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    @argument("-o", "--output", default=None, help="store the run card in this variable")
    @line_cell_magic
    def mlops_track(self, line: str = "", cell: str | None = None) -> Any:
        """Run the cell inside an MLflow run and show a run card under it.

        Records the cell's source, its parameters (the cell's top-level scalar assignments,
        or ``--params a,b``), metrics it logs (``mlops.log_metric`` is batched) or returns as a
        dict, scikit-learn autologging, fingerprints of ``mlops.log_dataset`` frames and fit
        inputs, the environment, the git commit and the wall time. An exception ends the run
        FAILED and is re-raised; an interrupt ends it KILLED.

        Line form::

            %mlops_track start -e churn -n epoch-sweep    # run spanning several cells
            %mlops_track stop
            %mlops_track status
            %mlops_track sync                              # push offline-buffered runs

        Examples::

            %%mlops_track -e churn -n rf --tag team=risk
            n_estimators = 200
            model = RandomForestClassifier(n_estimators=n_estimators).fit(X, y)
        """
        with user_errors():
            args = parse(self.mlops_track, line)
            if cell is None:
                return self._line(args, line)
            if args.action:
                raise UsageError(f"%%mlops_track takes no action; use %mlops_track {args.action}"
                                 " on a line of its own")
            run = self._begin_cell(args, cell)
        # the cell itself runs outside user_errors(): its exceptions propagate unchanged
        return self._run_cell(run, args, line, cell)

    def _line(self, args: Any, line: str) -> Any:
        from ..mlops import offline, tracker

        action = args.action or "status"
        if action == "sync":
            result = offline.sync(args.uri)
            return publish(self.shell, result, "%mlops_track " + line, args.output)
        if action == "status":
            run = tracker.current_run()
            if run is None:
                mlflow = sys.modules.get("mlflow")
                active = mlflow.active_run() if mlflow is not None else None
                if active is not None:
                    return f"MLflow run {active.info.run_id} is active (not started by jupyter-ops)"
                return "no tracked run is active"
            return run.card()
        if action == "start":
            params = self._named_params(args.params) if args.params else None
            run = tracker.start_run(experiment=args.experiment, run_name=args.name,
                                    tags=_tags(args.tag), params=params,
                                    autolog=not args.no_autolog, tracking_uri=args.uri)
            return run.card()
        card = tracker.stop_run()
        return publish(self.shell, card, "%mlops_track " + line, args.output)

    def _named_params(self, names: str) -> dict[str, Any]:
        out = {}
        ns = self.shell.user_ns
        for n in split_list(names) or []:
            if n not in ns:
                raise UsageError(f"--params: no variable {n!r} in this notebook")
            out[n] = ns[n]
        return out

    def _begin_cell(self, args: Any, cell: str) -> Any:
        from ..mlops import tracker

        shell = self.shell
        params = None
        if not args.params:
            try:
                params = tracker.cell_params(shell.transform_cell(cell), shell.user_ns)
            except Exception:  # a cell IPython cannot transform: no default params
                params = {}
        return tracker._begin(args.experiment, args.name, _tags(args.tag), params,
                              not args.no_autolog, args.nested, args.uri, cell, args.resume)

    def _run_cell(self, run: Any, args: Any, line: str, cell: str) -> Any:
        from ..mlops import _runparams

        shell = self.shell
        try:
            value = _run_cell_code(shell, cell)
            if args.params:
                run.log_params(self._named_params(args.params))
            returned = _runparams._returned_metrics(value)
            if returned:
                run.log_metrics(returned)
        except KeyboardInterrupt as e:
            run.finish("KILLED", error=_format(e))
            raise
        except UsageError as e:
            run.finish("FAILED", error=_format(e))
            raise
        except BaseException as e:
            run.finish("FAILED", error=_format(e))
            raise
        card = run.finish("FINISHED")
        if value is not None:
            shell.displayhook(value)  # the cell's own output first, the card under it
        return publish(shell, card, "%%mlops_track " + line, args.output)

    @magic_arguments()
    @argument("-e", "--experiment", default=None, help="experiment (default: all)")
    @argument("--metric", default=None, help="sort by this metric, best first "
              "(append ' asc'/' desc' to choose)")
    @argument("--top", type=int, default=None, help="keep the first N runs")
    @argument("--uri", default=None, help="tracking URI")
    @argument("-o", "--output", default=None, help="store the DataFrame in this variable")
    @line_magic
    def mlops_runs(self, line: str = "") -> Any:
        """List runs as a DataFrame, newest first (or best first with --metric).

        Examples::

            %mlops_runs -e churn --metric accuracy --top 5 -o best
        """
        from ..mlops.runlist import list_runs

        with user_errors():
            args = parse(self.mlops_runs, line)
            df = list_runs(args.experiment, metric=args.metric, top=args.top,
                           tracking_uri=args.uri)
        return publish(self.shell, df, "%mlops_runs " + line, args.output, log=False)

    @magic_arguments()
    @argument("runs", nargs="+", help="run ids (or variables holding a run card / id list)")
    @argument("--metrics", default=None, help="comma-separated metrics to compare")
    @argument("--uri", default=None, help="tracking URI")
    @argument("-o", "--output", default=None, help="store the comparison in this variable")
    @line_magic
    def mlops_compare(self, line: str = "") -> Any:
        """Side-by-side params/metrics of runs, with a bar chart per metric and parallel
        coordinates.

        Examples::

            %mlops_compare 3f2a... 9b1c... --metrics accuracy,f1
        """
        from ..mlops.runlist import compare_runs

        with user_errors():
            args = parse(self.mlops_compare, line)
            ids = self._run_ids(args.runs)
            result = compare_runs(ids, metrics=split_list(args.metrics), tracking_uri=args.uri)
        return publish(self.shell, result, "%mlops_compare " + line, args.output)

    def _run_ids(self, names: list[str]) -> list[str]:
        ids: list[str] = []
        ns = self.shell.user_ns
        for n in names:
            obj = ns.get(n) if n.isidentifier() else None
            if obj is None:
                ids.append(n)
            elif hasattr(obj, "columns") and "run_id" in obj.columns:  # a %mlops_runs frame
                ids.extend(str(x) for x in obj["run_id"])
            elif isinstance(getattr(obj, "run_id", None), str):  # a run card
                ids.append(obj.run_id)
            elif isinstance(obj, str):
                ids.append(obj)
            elif isinstance(obj, (list, tuple)):
                ids.extend(str(x) for x in obj)
            else:
                ids.append(n)
        return ids

    @magic_arguments()
    @argument("run", help="run id (or a variable holding a run card)")
    @argument("--name", required=True, help="registered model name")
    @argument("--alias", default=None, help="alias for the new version, e.g. champion")
    @argument("--model-path", default=None, help="model name/path within the run "
              "(default: the run's logged model)")
    @argument("--intended-use", default=None, help="text for the model card")
    @argument("--uri", default=None, help="tracking URI")
    @argument("-o", "--output", default=None, help="store the result in this variable")
    @line_magic
    def mlops_register(self, line: str = "") -> Any:
        """Register a run's model in the MLflow model registry and write a model card.

        Examples::

            %mlops_register 3f2a... --name churn-model --alias champion
        """
        from ..mlops.registry import register_model

        with user_errors():
            args = parse(self.mlops_register, line)
            run_id = self._run_ids([args.run])[0]
            result = register_model(run_id, args.name, alias=args.alias,
                                    model_path=args.model_path,
                                    intended_use=args.intended_use, tracking_uri=args.uri)
        return publish(self.shell, result, "%mlops_register " + line, args.output)


def _format(e: BaseException) -> str:
    import traceback

    return "".join(traceback.format_exception(e))


MAGICS = [TrackingMagics]
