"""``jupyter-ops mlops runs|compare|sync|register|reproduce``: experiment tracking from the shell.

``demo(ctx)`` trains two tiny models on generated data inside tracked runs (store
``sqlite:///<out>/mlflow.db``) and adds their run cards and comparison to the demo report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import write_report


def register(sub: argparse._SubParsersAction) -> None:
    uri_help = "tracking URI (default: MLFLOW_TRACKING_URI or sqlite:///mlflow.db)"

    p = sub.add_parser("runs", help="list MLflow runs (newest or best first)",
                       description="List the runs of an experiment (or all) as a table.")
    p.add_argument("-e", "--experiment", default=None, help="experiment name (default: all)")
    p.add_argument("--metric", default=None, help="sort by this metric, best first "
                   "(append ' asc'/' desc' to choose)")
    p.add_argument("--top", type=int, default=None, help="keep the first N runs")
    p.add_argument("--uri", default=None, help=uri_help)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=run_runs)

    p = sub.add_parser("compare", help="compare runs side by side",
                       description="Which params differ between runs and which run is best "
                       "per metric.")
    p.add_argument("runs", nargs="+", help="run ids")
    p.add_argument("--metrics", default=None, help="comma-separated metrics")
    p.add_argument("--uri", default=None, help=uri_help)
    p.add_argument("--report", default=None, help="also write a report (.html/.md/.json)")
    p.set_defaults(func=run_compare)

    p = sub.add_parser("sync", help="push runs buffered offline to their tracking server",
                       description="Copy finished runs from the offline buffer "
                       "($JUPYTER_OPS_BUFFER_DIR, default ~/.jupyter_ops/buffer) to the server "
                       "they were meant for, without duplicates. Exit 1 when some runs still "
                       "wait for an unreachable server.")
    p.add_argument("--uri", default=None, help="only runs meant for this server")
    p.set_defaults(func=run_sync)

    p = sub.add_parser("register", help="register a run's model and write its model card")
    p.add_argument("run", help="run id")
    p.add_argument("--name", required=True, help="registered model name")
    p.add_argument("--alias", default=None, help="alias, e.g. champion")
    p.add_argument("--intended-use", default=None, help="text for the model card")
    p.add_argument("--uri", default=None, help=uri_help)
    p.set_defaults(func=run_register)

    p = sub.add_parser("reproduce", help="write a notebook that re-runs a tracked run")
    p.add_argument("run", help="run id")
    p.add_argument("--notebook", default=None, help="notebook to write (.ipynb)")
    p.add_argument("--uri", default=None, help=uri_help)
    p.set_defaults(func=run_reproduce)


def run_runs(args: argparse.Namespace) -> int:
    from ..mlops import _store
    from ..mlops.runlist import list_runs

    # same bound as the server extension: a hanging server fails in seconds, not minutes
    with _store.fast_http():
        df = list_runs(args.experiment, metric=args.metric, top=args.top, tracking_uri=args.uri)
    if args.format == "csv":
        from ..safetext import csv_safe_frame

        csv_safe_frame(df).to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(df.to_json(orient="records", date_format="iso"))
    elif df.empty:
        print("no runs")
    else:
        cols = [c for c in df.columns if not c.startswith("tags.")]
        print(df[cols].to_string(index=False, max_colwidth=40))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from ..mlops.runlist import compare_runs

    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    result = compare_runs(args.runs, metrics=metrics, tracking_uri=args.uri)
    print(result.summary())
    print(result.metrics.to_string(index=False))
    print(result.params.to_string(index=False))
    write_report(args.report, "Run comparison", [result],
                 "jupyter-ops mlops compare " + " ".join(args.runs))
    return 0


def run_sync(args: argparse.Namespace) -> int:
    from ..mlops.offline import sync

    result = sync(args.uri)
    print(result.summary())
    if not result.runs.empty:
        print(result.runs.to_string(index=False))
    waiting = result.runs["action"].astype(str).str.startswith(("server", "failed")).any() \
        if not result.runs.empty else False
    return 1 if waiting else 0


def run_register(args: argparse.Namespace) -> int:
    from ..mlops.registry import register_model

    result = register_model(args.run, args.name, alias=args.alias,
                            intended_use=args.intended_use, tracking_uri=args.uri)
    print(result.summary())
    return 0


def run_reproduce(args: argparse.Namespace) -> int:
    from ..mlops.registry import reproduce

    result = reproduce(args.run, notebook=args.notebook, tracking_uri=args.uri)
    print(result.summary())
    if args.notebook:
        print(f"wrote {args.notebook}", file=sys.stderr)
    elif result.source:
        print(result.source)
    return 0


def demo(ctx: Any) -> None:
    """Two tiny models trained in tracked runs; their cards and comparison go to the report."""
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from ..mlops import runlist, tracker
    from ..mlops._mlflowshims import quiet_mlflow_logging

    # the client below creates the store before any tracked run could quiet MLflow's INFO lines
    quiet_mlflow_logging()
    uri = f"sqlite:///{(ctx.out_dir / 'mlflow.db').resolve()}"
    # keep the demo's artifacts beside its store, not in ./mlruns of the caller's folder
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    if client.get_experiment_by_name("jupyter-ops demo") is None:
        client.create_experiment("jupyter-ops demo",
                                 artifact_location=(ctx.out_dir / "mlartifacts").resolve().as_uri())
    X, y = make_classification(n_samples=600, n_features=8, n_informative=4,
                               random_state=ctx.seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=ctx.seed)
    models = {
        "logistic": LogisticRegression(C=1.0, max_iter=200),
        "forest": RandomForestClassifier(n_estimators=30, max_depth=4, random_state=ctx.seed),
    }
    cards = []
    for name, model in models.items():
        # autolog off: the demo logs what it needs itself and stays fast
        with tracker.track(experiment="jupyter-ops demo", run_name=name, tracking_uri=uri,
                           params={"model": name, "seed": ctx.seed}, autolog=False,
                           source=f"{type(model).__name__} on make_classification") as run:
            run.log_dataset(X_tr, name="train")
            model.fit(X_tr, y_tr)
            for i, frac in enumerate(np.linspace(0.2, 1.0, 5)):
                n = max(10, int(len(X_te) * frac))
                run.log_metric("test_accuracy_curve", model.score(X_te[:n], y_te[:n]), step=i)
            run.log_metrics({"test_accuracy": float(model.score(X_te, y_te))})
        cards.append(run.card())
    for card in cards:
        ctx.report.add(card, call=f"mlops.track(run_name={card.run_name!r})")
    comparison = runlist.compare_runs([c.run_id for c in cards], tracking_uri=uri)
    ctx.report.add(comparison, call="mlops.compare_runs(...)")
