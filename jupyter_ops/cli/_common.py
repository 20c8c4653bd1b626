"""Plumbing shared by the CLI modules."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_report(path: str | None, title: str, items: Iterable[Any], call: str) -> Path | None:
    """Write ``items`` (results, Sections, frames) into one report at ``path`` (suffix picks
    HTML, Markdown or JSON), record ``call`` in each item's provenance and say so on stderr
    (stdout stays the command's findings). Nothing when ``path`` is empty."""
    if not path:
        return None
    from ..report import Report

    report = Report(title)
    for item in items:
        report.add(item, call=call)
    out = report.save(path)
    print(f"wrote {out}", file=sys.stderr)
    return out
