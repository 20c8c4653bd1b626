"""``jupyter-ops aiops correlate|rca|timeline|remediate|metrics``: incident investigation from
the command line, with the magics' options and defaults.

``demo(ctx)`` adds correlation, root causes, a timeline and ops metrics of the demo's incident
scenario to ``jupyter-ops demo``'s report.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import write_csv, write_report


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("alerts", help="alerts file (CSV, JSON, JSON Lines, Parquet, Alertmanager)")
    p.add_argument("--topology", "-T", default=None, help="service graph file (caller, callee)")
    p.add_argument("--window", "-w", default="5min", help="longest gap between linked alerts")
    p.add_argument("--by", default=None, help="label keys that link alerts, comma separated")
    p.add_argument("--hops", type=int, default=1, help="how many calls apart services may be")
    p.add_argument("--similarity", type=float, default=0.5,
                   help="message-similarity threshold (token Jaccard); 0 turns it off")
    p.add_argument("--min-severity", default="error",
                   help="lone alert sources below this severity are noise")
    p.add_argument("--max-span", default="4h",
                   help="longest incident; longer linked groups are cut ('none': no cap)")
    p.add_argument("--columns", default=None,
                   help="rename your alert columns, e.g. time=timestamp,svc=service")
    p.add_argument("--report", default=None,
                   help="also write a report (.html, .md or .json) with the results")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("correlate", help="group alerts into incidents",
                       description="Group alerts into incidents (dedup, topology, time, labels, "
                       "message similarity) and print the incidents.")
    _common(p)
    p.add_argument("--assignments", default=None,
                   help="write each alert's incident id to this CSV file")
    p.set_defaults(func=run_correlate)

    p = sub.add_parser("rca", help="rank root-cause candidates of each incident",
                       description="Correlate the alerts, then rank the root-cause candidates "
                       "of each incident with the evidence.")
    _common(p)
    p.add_argument("--metrics", "-m", default=None, help="metrics file (each candidate is scanned for a change)")
    p.add_argument("--deploys", "-d", default=None, help="change events file")
    p.add_argument("--top", type=int, default=5, help="candidates per incident (as %%aiops_rca)")
    p.add_argument("--incident", "-i", type=int, default=None,
                   help="rank only this incident (as %%aiops_rca --incident)")
    p.add_argument("--rca-hops", type=int, default=None,
                   help="candidates down to this many calls below the alerted services "
                   "(default: all)")
    p.set_defaults(func=run_rca)

    p = sub.add_parser("timeline", help="what happened in what order in one incident",
                       description="Correlate the alerts, then order one incident's alerts, "
                       "logs, anomalies and changes per service.")
    _common(p)
    p.add_argument("--incident", "-i", type=int, required=True, help="incident id")
    p.add_argument("--logs", "-l", default=None, help="logs file")
    p.add_argument("--deploys", "-d", default=None, help="change events file")
    p.add_argument("--margin", default="15min", help="time shown before and after")
    p.set_defaults(func=run_timeline)

    p = sub.add_parser("remediate", help="suggest runbook steps for one incident (dry run)",
                       description="Correlate the alerts, then match one incident against "
                       "runbooks. Nothing is executed.")
    _common(p)
    p.add_argument("--incident", "-i", type=int, required=True, help="incident id")
    p.add_argument("--runbooks", "-r", required=True, help="runbook file (YAML or JSON)")
    p.add_argument("--root-cause", default=None, help="the most likely root-cause service")
    p.set_defaults(func=run_remediate)

    p = sub.add_parser("metrics", help="MTTA, MTTR, noise and alert fatigue",
                       description="Correlate the alerts, then report MTTD/MTTA/MTTR, the "
                       "false-positive rate and alert fatigue.")
    _common(p)
    p.set_defaults(func=run_metrics)


def _correlate(args: argparse.Namespace) -> Any:
    from ..aiops.correlation import correlate
    from ..io import load_alerts, load_topology

    alerts = load_alerts(args.alerts, columns=args.columns or None)
    topo = load_topology(args.topology) if args.topology else None
    by = [b.strip() for b in args.by.split(",")] if args.by else None
    span = None if str(args.max_span).lower() in ("none", "off", "0") else args.max_span
    corr = correlate(alerts, window=args.window, topology=topo, by=by, hops=args.hops,
                     similarity=args.similarity or None, min_severity=args.min_severity,
                     max_span=span)
    if not args.columns:  # the files as the loaders read them: `report verify` can re-run it
        from ..report.sources import input_source, record_sources

        found = {"alerts": input_source(args.alerts, "alerts")}
        if args.topology:
            found["topology"] = input_source(args.topology, "topology")
        record_sources(corr, **found)
    return alerts, corr


def _report(args: argparse.Namespace, results: list[Any], command: str) -> None:
    # the call is rebuilt from the parsed arguments: sys.argv is not the command line when
    # main() is called from Python (tests, notebooks)
    call = [f"jupyter-ops aiops {command}", args.alerts]
    for opt in ("topology", "window", "by", "hops", "similarity", "min_severity", "max_span",
                "columns", "metrics", "deploys", "top", "incident", "logs", "runbooks"):
        value = getattr(args, opt, None)
        if value is not None:
            call.append(f"--{opt.replace('_', '-')} {value}")
    write_report(args.report, f"jupyter-ops aiops {command}", results, " ".join(call))


def run_correlate(args: argparse.Namespace) -> int:
    import pandas as pd

    _, corr = _correlate(args)
    print(corr.summary())
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(corr.tables()["incidents"].head(30).to_string(index=False))
    if args.assignments:
        write_csv(corr.assignments.to_frame().rename_axis("alert").reset_index(), args.assignments)
    _report(args, [corr], "correlate")
    return 0


def run_rca(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..aiops.rootcause import RootCauses
    from ..io import load_metrics, read_table

    _, corr = _correlate(args)
    metrics = load_metrics(args.metrics) if args.metrics else None
    # read as a table here (as verify's "table" reader does): the ranker parses its times
    deploys = read_table(args.deploys) if args.deploys else None
    res = RootCauses.rank(corr, metrics=metrics, deploys=deploys, top=args.top,
                          hops=args.rca_hops,
                          incidents=None if args.incident is None else [args.incident])
    if "alerts" in (corr.provenance.get("sources") or {}):  # for `report verify`
        from ..report.sources import input_source, record_sources, result_source

        found = {"correlation": result_source(corr)}
        if args.metrics:
            found["metrics"] = input_source(args.metrics, "metrics")
        if args.deploys:
            found["deploys"] = input_source(args.deploys, "table")
        record_sources(res, **found)
    print(res.summary())
    with pd.option_context("display.width", 200, "display.max_colwidth", 120):
        print(res.ranking[["incident_id", "rank", "service", "score", "evidence"]].head(60)
               .to_string(index=False))
    _report(args, [corr, res], "rca")
    return 0


def run_timeline(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..aiops.timelines import timeline
    from ..io import load_logs

    _, corr = _correlate(args)
    logs = load_logs(args.logs) if args.logs else None
    tl = timeline(corr, incident_id=args.incident, logs=logs, deploys=args.deploys,
                  margin=args.margin)
    print(tl.summary())
    with pd.option_context("display.width", 200, "display.max_colwidth", 100):
        for table in tl.tables().values():
            print(table.head(80).to_string(index=False))
    _report(args, [corr, tl], "timeline")
    return 0


def run_remediate(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..aiops.remediation import suggest_remediation

    _, corr = _correlate(args)
    rem = suggest_remediation(corr, args.runbooks, root_cause=args.root_cause,
                              incident_id=args.incident)
    print(rem.summary())
    with pd.option_context("display.width", 200, "display.max_colwidth", 100):
        print(rem.steps.to_string(index=False))
    _report(args, [corr, rem], "remediate")
    return 0


def run_metrics(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..aiops.opsmetrics import ops_metrics

    alerts, corr = _correlate(args)
    om = ops_metrics(corr.alerts, corr)
    print(om.summary())
    with pd.option_context("display.width", 160):
        print(om.metrics.to_string(index=False))
    _report(args, [corr, om], "metrics")
    return 0


def demo(ctx: Any) -> None:
    """Correlation, root causes, the biggest incident's timeline and ops metrics."""
    from ..aiops.correlation import correlate
    from ..aiops.opsmetrics import ops_metrics
    from ..aiops.rootcause import RootCauses
    from ..aiops.timelines import timeline

    s = ctx.incidents
    corr = correlate(s.alerts, topology=s.topology)
    ctx.report.add(corr, call="correlate(scenario.alerts, topology=scenario.topology)")
    ctx.report.add(RootCauses.rank(corr, metrics=s.metrics, deploys=s.deploys, top=3), call="rank_root_causes(corr, metrics=scenario.metrics, "
                   "deploys=scenario.deploys)")
    if len(corr.incidents):
        biggest = int(corr.incidents.sort_values("alerts", ascending=False)["incident_id"]
                      .iloc[0])
        tl = timeline(corr.incident(biggest), logs=s.logs, deploys=s.deploys)
        ctx.report.add(tl, call=f"timeline(corr.incident({biggest}), logs=scenario.logs, "
                       "deploys=scenario.deploys)")
    # numbered as the correlation above, so the report has one incident numbering
    ctx.report.add(ops_metrics(s.alerts, s.truth, numbering=corr),
                   call="ops_metrics(scenario.alerts, scenario.truth, numbering=corr)")
