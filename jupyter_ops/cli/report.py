"""``jupyter-ops report``: rebuild HTML or Markdown from a report's JSON, or verify it.

- ``jupyter-ops report SOURCE.json OUTPUT.html|.md|.json`` re-renders a saved report.
- ``jupyter-ops report verify REPORT.json [--html diff.html] [--inputs DIR]`` re-runs every
  section's recorded call and compares (exit 0 all same, 1 something differs, 2 an input is
  missing or changed, or the report cannot be read).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import OpsInputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="re-render a saved report JSON, or verify it by re-running it",
        description="jupyter-ops report SOURCE.json OUTPUT: rebuild a report from its JSON (the "
        "archival form) as .html, .md or .json.  jupyter-ops report verify REPORT.json: re-run "
        "each section's recorded call on its inputs and compare; exit 0 all same, 1 something "
        "differs, 2 an input is missing or changed.")
    p.add_argument("source", help="a report .json, or the word 'verify'")
    p.add_argument("output", nargs="?",
                   help="file to write (.html, .md or .json); with verify: the report .json")
    p.add_argument("--html", metavar="DIFF.html",
                   help="verify: also write the outcomes and differences side by side as HTML")
    p.add_argument("--inputs", metavar="DIR",
                   help="verify: look for input files in DIR (by name) first, e.g. after a move")
    p.add_argument("--rtol", type=float, default=None,
                   help="verify: relative tolerance for numbers (default 1e-6)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.source == "verify":
        return _verify(args)
    if args.output is None:
        raise OpsInputError("give the file to write: jupyter-ops report SOURCE.json OUTPUT.html")
    if args.html or args.inputs:
        raise OpsInputError("--html and --inputs go with 'jupyter-ops report verify REPORT.json'")
    from ..report import Report

    report = Report.from_json(args.source)
    path = writable(args.output)
    _write(lambda: report.save(path), path)
    print(f"wrote {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from ..report.verify import RTOL, verification_html, verify_report

    if args.output is None:
        raise OpsInputError("give the report: jupyter-ops report verify REPORT.json")
    html_path = writable(args.html) if args.html else None  # fail before any work
    if args.inputs and not Path(args.inputs).is_dir():
        raise OpsInputError(f"--inputs {args.inputs}: no such folder")
    result = verify_report(args.output, inputs_dir=args.inputs,
                           rtol=args.rtol if args.rtol is not None else RTOL)
    if result.versions:
        print("versions changed since the report: " + ", ".join(
            f"{name} {then} -> {now}" for name, then, now in result.versions))
    for check in result.checks:
        print(check.line())
    print(f"{result.summary()}")
    if html_path is not None:
        from ..report import write_atomic

        _write(lambda: write_atomic(html_path, verification_html(result)), html_path)
        print(f"wrote {html_path}")
    return result.exit_code


def writable(path: str | os.PathLike) -> Path:
    """``path`` if a file can be written there; a one-line error otherwise (nothing written)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OpsInputError(f"{path} is a folder; give a file name")
    if not parent.exists():
        raise OpsInputError(f"folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise OpsInputError(f"{parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise OpsInputError(f"folder {parent} is read-only; choose another output folder")
    return path


def _write(write, path: Path) -> None:
    try:
        write()
    except OSError as e:  # e.g. read-only file system, disk full: the atomic write left nothing
        raise OpsInputError(f"cannot write {path}: {e.strerror or e}") from None
