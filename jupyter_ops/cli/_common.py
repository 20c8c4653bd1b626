"""Plumbing shared by the CLI modules."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def write_report(path: str | None, title: str, items: Iterable[Any], call: str) -> Path | None:
    """Write ``items`` (results, Sections, frames) into one report at ``path`` (suffix picks
    HTML, Markdown or JSON), record ``call`` in each item's provenance and say so on stderr
    (stdout stays the command's findings). Nothing when ``path`` is empty."""
    if not path:
        return None
    from ..errors import OpsInputError
    from ..report import Report

    report = Report(title)
    for item in items:
        report.add(item, call=call)
    try:
        out = report.save(path)
    except OSError as e:
        raise OpsInputError(f"cannot write the report {path}: {e.strerror or e}") from None
    print(f"wrote {out}", file=sys.stderr)
    return out


def input_error_message(e: BaseException) -> str | None:
    """The one-line message for an error caused by the input or the environment (exit 2),
    or None for an unexpected one (a bug: exit 3).

    Bad input: :class:`~jupyter_ops.errors.OpsInputError`, an unreachable server, a file that
    cannot be read or written (missing, a folder, no permission, parent is a file, disk full),
    text that is not UTF-8, malformed JSON, input nested too deeply to parse.
    """
    import json

    from ..errors import OpsConnectionError, OpsInputError
    from ..safetext import visible

    if isinstance(e, (OpsInputError, OpsConnectionError)):
        text = str(e)
    elif isinstance(e, UnicodeDecodeError):
        text = (f"input is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                "save it as UTF-8")
    elif isinstance(e, json.JSONDecodeError):
        text = f"invalid JSON: {e}"
    elif isinstance(e, RecursionError):
        text = "input is nested too deeply to read (e.g. a JSON file with thousands of levels)"
    elif isinstance(e, OSError) and (e.filename is not None or e.strerror):
        name = f" {e.filename}" if e.filename is not None else ""
        text = f"cannot use{name}: {e.strerror or e}"
    else:
        return None
    return visible(" ".join(text.split()))


def save_traceback(e: BaseException, argv: Sequence[str]) -> str:
    """Write ``e``'s traceback (and the command line) to a new file in the temp folder; its
    path, or a note when even that fails."""
    import tempfile
    import traceback

    try:
        fd, path = tempfile.mkstemp(prefix="jupyter-ops-traceback-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write("jupyter-ops " + " ".join(map(str, argv)) + "\n\n")
            f.write("".join(traceback.format_exception(e)))
        return path
    except OSError as err:  # pragma: no cover - temp folder unusable
        return f"(not saved: {err})"


def finite_float(text: str) -> float:
    """argparse type: a finite number (``nan``/``inf`` are refused with exit 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def share(text: str) -> float:
    """argparse type: a share in (0, 1]."""
    value = finite_float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text!r}")
    return value


def write_csv(df: Any, path: str) -> None:
    """Write a table as CSV, whole or not at all, with formula-looking text cells prefixed by
    ``'`` so a spreadsheet shows them as text (see :func:`jupyter_ops.safetext.csv_cell`)."""
    from ..safetext import csv_safe_frame

    text = csv_safe_frame(df).to_csv(index=False)
    _write_text(Path(path), text)
    print(f"wrote {path}", file=sys.stderr)


def _write_text(path: Path, text: str) -> None:
    from ..atomic import write_atomic
    try:
        write_atomic(path, text)
    except OSError as e:
        from ..errors import OpsInputError

        raise OpsInputError(f"cannot write {path}: {e.strerror or e}") from None
