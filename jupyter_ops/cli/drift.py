"""``jupyter-ops mlops drift|quality|monitor|profile``: drift checks usable as CI gates.

Exit status: 0 nothing found, 1 a finding (dataset drift, a critical quality issue, retrain
advised), 2 bad input (also: nothing could be compared), 3 internal error (see ``cli.main``).
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import positive_float, share, write_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drift", help="compare two datasets column by column; exit 1 when the dataset drifts",
        description="Compare CUR with REF (CSV/Parquet/JSON tables, or a profile .json for REF "
        "made by 'jupyter-ops mlops profile'). Exit 1 when the dataset drifts (the share of "
        "drifted features reaches --drift-share), 0 otherwise, 2 on bad input.")
    p.add_argument("reference", help="reference table file or saved profile (.json)")
    p.add_argument("current", help="current table file")
    p.add_argument("--columns", help="comma-separated columns to test")
    p.add_argument("--target", help="label column (tested, not counted)")
    p.add_argument("--prediction", help="model output column (tested, not counted)")
    p.add_argument("--method", default="auto", help="auto, ks, wasserstein, chisquare, psi, jensenshannon")
    p.add_argument("--threshold", type=positive_float,
                   help="drift threshold for every column (a finite number > 0)")
    p.add_argument("--correction", choices=["bonferroni", "bh"])
    p.add_argument("--drift-share", type=share, default=0.5,
                   help="share of drifted features that makes the dataset drift, in (0, 1]")
    p.add_argument("--no-multivariate", action="store_true", help="skip the domain classifier")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", help="also write a report (.html, .md or .json)")
    p.set_defaults(func=run_drift)

    q = sub.add_parser("quality", help="data quality issues; exit 1 on a critical issue",
                       description="Check DATA (optionally against --reference). Exit 1 when a "
                       "critical issue is found.")
    q.add_argument("data")
    q.add_argument("--reference", help="reference table file or saved profile (.json)")
    q.add_argument("--report", help="also write a report (.html, .md or .json)")
    q.set_defaults(func=run_quality)

    m = sub.add_parser("monitor", help="model metrics per window; exit 1 when retraining is advised",
                       description="Metrics per time window of a scored table with outcomes. "
                       "Exit 1 when a retrain is advised.")
    m.add_argument("data")
    m.add_argument("--time", default="timestamp")
    m.add_argument("--y-true", default="target")
    m.add_argument("--y-pred", default="prediction")
    m.add_argument("--y-score")
    m.add_argument("--window", default="1D")
    m.add_argument("--reference", help="reference table file")
    m.add_argument("--kpi", help="comma-separated metrics deciding retraining")
    m.add_argument("--patience", type=int, default=2)
    m.add_argument("--report", help="also write a report (.html, .md or .json)")
    m.set_defaults(func=run_monitor)

    pr = sub.add_parser("profile", help="save a reference profile (JSON) for later drift checks",
                        description="Summarise DATA into a small mergeable profile (JSON).")
    pr.add_argument("data")
    pr.add_argument("out", help="profile file to write (.json)")
    pr.set_defaults(func=run_profile)


def run_drift(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..errors import OpsInputError
    from ..mlops._inputs import read_data, read_reference
    from ..mlops.driftcheck import drift

    ref = read_reference(args.reference)
    cur = read_data(args.current)
    cols = [c.strip() for c in args.columns.split(",")] if args.columns else None
    try:
        r = drift(ref, cur, columns=cols, target=args.target, prediction=args.prediction,
                  method=args.method, threshold=args.threshold, correction=args.correction,
                  drift_share=args.drift_share,
                  multivariate=False if args.no_multivariate else None, seed=args.seed)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        if isinstance(ref, pd.DataFrame) or isinstance(e, OpsInputError):
            raise
        # a profile passes the load checks but its column summaries were edited by hand
        raise OpsInputError(f"reference profile {args.reference} is damaged or was edited "
                            f"({type(e).__name__}: {e}); recompute it with 'jupyter-ops "
                            "mlops profile'") from None
    if not len(r.columns):  # nothing compared is not "no drift": a CI gate must not pass
        reasons = "; ".join(f"{s['column']}: {s['reason']}" for _, s in r.skipped.head(6).iterrows())
        raise OpsInputError(f"no column could be compared between {args.reference} and "
                            f"{args.current} ({reasons or 'no columns'}); give files with "
                            "common columns or choose them with --columns")
    from ..report.sources import input_source, record_sources

    record_sources(r, reference=input_source(args.reference, "reference"),
                   current=input_source(args.current, "data"))  # for `report verify`
    print(r.summary())
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(r.columns[["column", "kind", "test", "statistic", "p_value", "threshold", "drifted"]]
              .to_string(index=False))
    for _, s in r.skipped.iterrows():
        print(f"skipped {s['column']}: {s['reason']}")
    write_report(args.report, r.title, [r], " ".join(["jupyter-ops mlops drift", args.reference, args.current]))
    return 1 if r.dataset_drift else 0


def run_quality(args: argparse.Namespace) -> int:
    from ..mlops._inputs import read_data, read_reference
    from ..mlops.quality import check_quality

    r = check_quality(read_data(args.data),
                      reference=read_reference(args.reference) if args.reference else None)
    print(r.summary())
    for _, i in r.issues.iterrows():
        print(f"{i['severity']:8s} {i['message']}")
    write_report(args.report, r.title, [r], f"jupyter-ops mlops quality {args.data}")
    return 0 if r.ok else 1


def run_monitor(args: argparse.Namespace) -> int:
    from ..mlops._inputs import read_data
    from ..mlops.monitoring import monitor

    r = monitor(read_data(args.data), time=args.time, y_true=args.y_true, y_pred=args.y_pred,
                y_score=args.y_score, window=args.window,
                reference=read_data(args.reference) if args.reference else None,
                kpi=[k.strip() for k in args.kpi.split(",")] if args.kpi else None,
                patience=args.patience)
    print(r.summary())
    write_report(args.report, r.title, [r], f"jupyter-ops mlops monitor {args.data}")
    return 1 if r.retrain else 0


def run_profile(args: argparse.Namespace) -> int:
    from ..mlops._inputs import read_data
    from ..mlops.profiling import profile

    p = profile(read_data(args.data))
    out = p.save(args.out)
    print(f"wrote {out} ({p.n_rows:,} rows, {len(p.columns)} columns)")
    return 0


def demo(ctx: Any) -> None:
    """Drift, quality and monitoring on the demo's drift scenario."""
    from ..mlops.driftcheck import drift
    from ..mlops.monitoring import monitor
    from ..mlops.quality import check_quality

    s = ctx.drift
    ctx.report.add(
        "## Drift, data quality and model monitoring\n\nA churn model trained on four weeks "
        "of data (reference) meets two weeks of production data (current) in which some "
        f"features drift from {s.drift_start:%Y-%m-%d %H:%M} UTC. Injected: "
        + ", ".join(f"{r.column} ({r.how})" for r in s.truth.itertuples() if r.how != "none") + ".")
    ctx.report.add(drift(s.reference, s.current, columns=s.features, target="target",
                         prediction="prediction", seed=ctx.seed),
                   call="mlops.drift(reference, current, columns=features, target='target', "
                        "prediction='prediction')")
    ctx.report.add(check_quality(s.current, reference=s.reference),
                   call="mlops.check_quality(current, reference=reference)")
    ctx.report.add(monitor(s.current, y_score="score", reference=s.reference, features=s.features),
                   call="mlops.monitor(current, y_score='score', reference=reference)")
