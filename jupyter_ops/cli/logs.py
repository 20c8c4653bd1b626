"""``jupyter-ops aiops logs FILE``: log templates (and signals) from the command line.

``demo(ctx)`` mines the demo incident scenario's logs into the demo report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import write_csv, write_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "logs", help="mine log templates and log anomaly signals",
        description="Group the lines of a log file into templates (variables shown as <*>) "
        "and print them by count; with timestamps, also print log signals (new templates, "
        "rate spikes, error bursts). Exit status 0, or 2 on bad input.")
    p.add_argument("file", help="log file: plain text (.gz allowed) or a CSV/Parquet/JSON "
                   "table with a message column")
    p.add_argument("--service", default=None,
                   help="only this service (tables); names the service of a text log")
    p.add_argument("--raw", action="store_true",
                   help="mine whole raw lines (no timestamp/level detection), streamed in "
                   "chunks: any file size in bounded memory")
    p.add_argument("--mask", action="append", default=None,
                   help="extra regex whose matches are variables (repeatable)")
    p.add_argument("--top", type=int, default=30, help="templates to print (default 30)")
    p.add_argument("--window", default="5min", help="window of the log signals (default 5min)")
    p.add_argument("--state", default=None,
                   help="continue from this saved state (JSON) if it exists and save the "
                   "updated state back to it")
    p.add_argument("--report", default=None,
                   help="also write a report (.html, .md or .json by suffix)")
    p.add_argument("--csv", default=None, help="write the templates table to this CSV")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    import pandas as pd

    from ..aiops.logmining import Templates, mine_templates
    from ..errors import OpsInputError

    if not os.path.isfile(args.file):
        raise OpsInputError(f"log file {args.file!r} does not exist")
    if args.top < 0:
        raise OpsInputError(f"--top must be >= 0, got {args.top}")
    if args.raw:  # whole lines, streamed in chunks: any file size in bounded memory
        from ..aiops.logmining import stream_templates

        earlier = Templates.load(args.state) if args.state and os.path.exists(args.state) \
            else None
        result = stream_templates(args.file, masks=args.mask, state=earlier)
    else:
        from ..aiops.logmining import select_logs

        source = select_logs(args.file, service=args.service)
        if args.state and os.path.exists(args.state):
            result = Templates.load(args.state).update(source)
        else:
            result = mine_templates(source, masks=args.mask)
            if args.service is None:  # the whole file, as verify's "log_file" reader reads it
                from ..report.sources import input_source, record_sources

                record_sources(result, logs=input_source(args.file, "log_file"))
    print(result.summary())
    table = result.tables()["templates"].head(args.top)
    print(_text_table(table[["template_id", "count", "template"]]))
    signals = None
    if "timestamp" in result.lines.columns and result.lines["timestamp"].notna().any():
        from ..aiops.logsignals import log_signals

        signals = log_signals(result, window=args.window)
        print(f"\n{len(signals)} log signals")
        if len(signals):
            with pd.option_context("display.width", 160, "display.max_colwidth", 90):
                print(signals[["timestamp", "service", "name", "severity",
                               "message"]].to_string(index=False))
    if args.state:
        result.save(args.state)
        print(f"wrote {args.state}", file=sys.stderr)
    if args.csv:
        write_csv(result.templates, args.csv)
    if args.report:
        from ..report import Section

        items = [result] if signals is None else [result, Section.table(signals, "Log signals")]
        write_report(args.report, "Log templates", items, "jupyter-ops aiops logs " + args.file)
    return 0


def _text_table(frame: Any) -> str:
    """Left-aligned columns, each row cut to the terminal width (the last column gives way)."""
    import shutil

    width = max(shutil.get_terminal_size((120, 24)).columns, 40)
    cols = list(frame.columns)
    rows = [[str(c) for c in cols]] + [
        [" ".join(str(v).split()) if isinstance(v, str) else f"{v:,}" if isinstance(v, int)
         else str(v) for v in r] for r in frame.itertuples(index=False)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols) - 1)]
    out = []
    for r in rows:
        line = "  ".join(v.ljust(w) for v, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        out.append(line if len(line) <= width else line[:width - 1] + "…")
    return "\n".join(out)


def demo(ctx: Any) -> None:
    """Templates and log signals of the demo incident's logs, added to the demo report."""
    from ..aiops.logmining import mine_templates
    from ..aiops.logsignals import log_signals

    result = mine_templates(ctx.incidents.logs)
    ctx.report.add(result, call=f"mine_templates(incident_scenario(seed={ctx.seed}).logs)")
    signals = log_signals(result)
    ctx.report.add(signals, title="Log signals (new templates, rate spikes, error bursts)",
                   call="log_signals(templates)")
