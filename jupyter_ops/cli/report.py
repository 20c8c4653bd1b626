"""``jupyter-ops report``: rebuild HTML or Markdown from a report's JSON."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="re-render a saved report JSON as HTML, Markdown or JSON",
                       description="Rebuild a report from its JSON (the archival form).")
    p.add_argument("source", help="a report .json written by %%ops_report or Report.save")
    p.add_argument("output", help="file to write (.html, .md or .json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report import Report

    path = Report.from_json(args.source).save(args.output)
    print(f"wrote {path}")
    return 0
