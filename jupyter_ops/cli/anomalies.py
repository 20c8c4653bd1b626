"""``jupyter-ops aiops anomalies|forecast METRICS``: anomalies, forecasts, time to breach.

``demo(ctx)`` runs the detector on the demo incident scenario's metrics.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import write_csv, write_report

_METHODS = ("auto", "robust", "seasonal", "iforest")


def _span(text: str) -> str | int:
    """``--window``: a number of points or a duration (validated by the core)."""
    return int(text) if text.strip().isdigit() else text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "anomalies", help="find anomalous episodes in metric series",
        description="Detect anomalies in a metrics file (CSV/Parquet/JSON with timestamp, "
        "service, metric, value; service and metric optional). Prints the episodes; exit "
        "status 0 when none were found, 1 when there are anomalies, 2 on bad input.")
    p.add_argument("metrics", help="metrics file")
    p.add_argument("--method", choices=_METHODS, default="auto",
                   help="detector (default auto: seasonal or robust per series)")
    p.add_argument("--service", default=None, help="only this service")
    p.add_argument("--metric", default=None, help="only this metric")
    p.add_argument("--window", type=_span, default=None,
                   help="baseline history: a duration such as 1D or 12h (default 1D), or a "
                   "number of points")
    p.add_argument("--threshold", type=float, default=None,
                   help="score threshold: an anomaly likelihood in (0, 1) (default 0.999999)")
    p.add_argument("--seed", type=int, default=0, help="seed of the IsolationForest")
    p.add_argument("--report", default=None,
                   help="also write a report (.html, .md or .json by suffix)")
    p.add_argument("--csv", default=None, help="write the per-point scores to this CSV")
    p.set_defaults(func=run)

    f = sub.add_parser(
        "forecast", help="forecast metric series; with --threshold, time to breach",
        description="Forecast each series of a metrics file with prediction intervals. With "
        "--threshold, also say when each series crosses it. Exit status 0 when no breach is "
        "predicted within the horizon, 1 when one is (or a series is already beyond the "
        "line), 2 on bad input.")
    f.add_argument("metrics", help="metrics file")
    f.add_argument("--horizon", default="6h", help="how far ahead, a duration (default 6h)")
    f.add_argument("--threshold", type=float, default=None,
                   help="the line whose crossing is a breach (e.g. 90)")
    f.add_argument("--direction", choices=("auto", "up", "down"), default="auto",
                   help="crossing direction (default auto: towards the line)")
    f.add_argument("--level", type=float, default=0.8, help="interval coverage (default 0.8)")
    f.add_argument("--service", default=None, help="only this service")
    f.add_argument("--metric", default=None, help="only this metric")
    f.add_argument("--report", default=None,
                   help="also write a report (.html, .md or .json by suffix)")
    f.add_argument("--csv", default=None, help="write the forecasts to this CSV")
    f.set_defaults(func=run_forecast)


def run_forecast(args: argparse.Namespace) -> int:
    import os

    from ..aiops.forecasting import forecast, time_to_breach
    from ..errors import OpsInputError

    if not os.path.exists(args.metrics):
        raise OpsInputError(f"metrics file {args.metrics!r} does not exist")
    common = dict(horizon=args.horizon, level=args.level, service=args.service,
                  metric=args.metric)
    if args.threshold is None:
        result = forecast(args.metrics, **common)
    else:
        result = time_to_breach(args.metrics, threshold=args.threshold,
                                direction=args.direction, **common)
    print(result.summary())
    if result.breaches is not None:
        for line in result.breaches["explanation"]:
            print(line)
    else:
        print(result.models[["service", "metric", "model", "season", "last_value"]]
              .to_string(index=False))
    if args.csv:
        write_csv(result.forecasts, args.csv)
    write_report(args.report, result.title, [result],
                 "jupyter-ops aiops forecast " + args.metrics)
    return 1 if len(result.breaching) else 0


def run(args: argparse.Namespace) -> int:
    import os

    from ..aiops.anomaly import detect_anomalies
    from ..errors import OpsInputError

    if not os.path.exists(args.metrics):
        raise OpsInputError(f"metrics file {args.metrics!r} does not exist")
    opts = {k: v for k, v in (("window", args.window), ("threshold", args.threshold))
            if v is not None}
    result = detect_anomalies(args.metrics, method=args.method, seed=args.seed,
                              service=args.service, metric=args.metric, **opts)
    if not len(result.anomalies):  # header-only file: nothing was checked, not "all clear"
        raise OpsInputError(f"{args.metrics} has no data points; nothing to check")
    from ..report.sources import input_source, record_sources

    record_sources(result, metrics=input_source(args.metrics, "metrics"))  # for report verify
    print(result.summary())
    if len(result.episodes):
        print(result.episodes.to_string(index=False))
    if args.csv:
        write_csv(result.anomalies, args.csv)
    write_report(args.report, "Metric anomalies", [result],
                 "jupyter-ops aiops anomalies " + args.metrics)
    return 1 if len(result.episodes) else 0


def demo(ctx: Any) -> None:
    """Anomalies in the demo incident's metrics, added to the demo report."""
    from ..aiops.anomaly import detect_anomalies

    result = detect_anomalies(ctx.incidents.metrics, seed=ctx.seed)
    ctx.report.add(result, call="detect_anomalies(incident_scenario(seed="
                   f"{ctx.seed}).metrics)")
