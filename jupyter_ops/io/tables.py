"""Read a table file (CSV, TSV, JSON, JSON Lines, Parquet) or pass a DataFrame through."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import OpsInputError

__all__ = ["read_table", "write_table", "TABLE_FORMATS", "read_json_file", "parse_time_columns"]

#: format name -> file suffixes (each also accepted with ``.gz``)
TABLE_FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "tsv": (".tsv", ".tab"),
    "json": (".json",),
    "jsonl": (".jsonl", ".ndjson"),
    "parquet": (".parquet", ".pq"),
}

_SUPPORTED = "csv, tsv, json, jsonl, parquet (optionally .gz)"
# Version branch, unavoidable: pandas 2's default float parser can be one ulp off (e.g.
# "63.166335499999995"), pandas 3 parses exactly and deprecates ``float_precision``. Asking
# pandas 2 for round-trip parsing gives the same numbers (and input hashes) on both.
_CSV_OPTS: dict[str, Any] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {})


def _csv_opts(path: Path) -> dict[str, Any]:
    """Options for ``read_csv`` of ``path``: pandas 2's C parser ends a cell at a NUL byte
    (the rest of the cell is lost), so such a file is read with the Python parser there,
    which keeps it (and parses floats exactly, as round_trip does)."""
    if not _CSV_OPTS:
        return {}
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if b"\x00" in chunk:
                return {"engine": "python"}
    return _CSV_OPTS


def table_format(path: str | os.PathLike[str]) -> str | None:
    """The table format implied by a file name (``.gz`` ignored), or None."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for fmt, suffixes in TABLE_FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    return None


def _resolve_format(path: Path, format: str | None) -> str:
    """The table format from ``format`` or else the file suffix; unknown ones are an error."""
    fmt = (format or "").lower().lstrip(".") or table_format(path)
    if fmt == "ndjson":
        fmt = "jsonl"
    if fmt not in TABLE_FORMATS:
        what = f"format {format!r}" if format else f"file type of {path.name}"
        raise OpsInputError(f"unknown {what}; supported formats: {_SUPPORTED}")
    return fmt


def _check_file(path: Path) -> None:
    if not path.exists():
        raise OpsInputError(f"file not found: {path}")
    if path.is_dir():
        raise OpsInputError(f"{path} is a directory; pass a file")


def read_json_file(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file (``.gz`` allowed) into Python objects; errors name the file and line."""
    p = Path(path)
    _check_file(p)
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8-sig", errors="replace") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # JSON Lines saved as .json (common for log exports)
            try:
                return _jsonl_records(p)
            except OpsInputError:
                pass
        raise OpsInputError(
            f"{p.name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )
    except RecursionError:
        raise OpsInputError(f"{p.name} is nested too deeply to be a table (JSON arrays or "
                            "objects inside each other thousands of levels deep)") from None
    except (OSError, EOFError) as exc:
        raise OpsInputError(f"cannot read {p}: {exc}")


def records_frame(data: Any, name: str = "JSON") -> pd.DataFrame:
    """A DataFrame from a JSON array of records, or an object holding one list of records."""
    if isinstance(data, dict):
        lists = [k for k, v in data.items() if isinstance(v, list)]
        if len(lists) == 1:
            data = data[lists[0]]
        elif "data" in data and isinstance(data["data"], (list, dict)):
            return records_frame(data["data"], name)
        elif data and all(not isinstance(v, (dict, list)) for v in data.values()):
            data = [data]
        else:
            raise OpsInputError(
                f"{name} is an object with keys {', '.join(map(str, list(data)[:10]))}; expected "
                f"an array of records or an object with exactly one list of records"
            )
    if not isinstance(data, list):
        raise OpsInputError(f"{name} holds a {type(data).__name__}; expected an array of records")
    if data and not all(isinstance(r, dict) for r in data):
        kinds = sorted({type(r).__name__ for r in data if not isinstance(r, dict)})
        raise OpsInputError(
            f"{name} is an array of {', '.join(kinds)}; expected an array of objects (records)"
        )
    return pd.DataFrame.from_records(data) if data else pd.DataFrame()


def read_table(source: Any, format: str | None = None) -> pd.DataFrame:
    """Read a table from a file, or copy a DataFrame.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        A CSV, TSV, JSON (array of records, or an object with one list of records), JSON Lines
        or Parquet file; ``.gz`` compression is recognised. A DataFrame is returned as a copy.
    format : {"csv", "tsv", "json", "jsonl", "parquet"}, optional
        Overrides the format implied by the file suffix.

    Returns
    -------
    pandas.DataFrame
        The table with a default RangeIndex, rows in file order.

    Raises
    ------
    OpsInputError
        File not found, unknown format (the message lists the supported ones), or a file that
        cannot be parsed as its format.
    """
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if not isinstance(source, (str, os.PathLike)):
        raise OpsInputError(
            f"expected a file path or a pandas DataFrame, got {type(source).__name__}"
        )
    path = Path(source)
    fmt = _resolve_format(path, format)
    _check_file(path)
    try:
        opts = _csv_opts(path) if fmt in ("csv", "tsv") else {}
        if fmt == "csv":
            frame = pd.read_csv(path, encoding_errors="replace", **opts)
            if frame.shape[1] == 1:  # one column: maybe ';' or '|' separated (European Excel)
                head = str(frame.columns[0])
                for sep in (";", "|", "\t"):
                    if sep in head:
                        frame = pd.read_csv(path, sep=sep, encoding_errors="replace", **opts)
                        break
        elif fmt == "tsv":
            frame = pd.read_csv(path, sep="\t", encoding_errors="replace", **opts)
        elif fmt == "jsonl":
            frame = _read_jsonl(path)
        elif fmt == "json":
            frame = records_frame(read_json_file(path), path.name)
        else:
            frame = pd.read_parquet(path)
    except OpsInputError:
        raise
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except ImportError as exc:
        raise OpsInputError(f"reading {fmt} needs an optional package: {exc}")
    except (ValueError, OSError, pd.errors.ParserError, UnicodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OpsInputError(f"cannot read {path.name} as {fmt}: {first}")
    return frame.reset_index(drop=True)


_ISO_DATE = r"^\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}|\s*$)"


def parse_time_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Time columns of a free-form table as ``datetime64[ns, UTC]`` (a new frame).

    For tables without a fixed schema (the drift, quality and monitoring inputs): datetime
    columns of any unit or zone, and text columns whose first 50 present values all start with
    an ISO 8601 date (``2024-05-01``, ``2024-05-01T10:00...``), go through :func:`to_utc`
    (missing values allowed). A text column that then fails to parse stays text. Other columns
    are unchanged. A CSV has no types, so without this a timestamp column read from a file
    would be tested as a category while the same column in a DataFrame is left out as a time.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        A shallow copy with the time columns converted (the input is not changed).
    """
    from . import _common as c

    out = frame.copy(deep=False)
    for i, col in enumerate(frame.columns):
        s = frame.iloc[:, i]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            if s.dtype != c.TS_DTYPE:
                out.isetitem(i, c.to_utc(s, str(col), "table", allow_missing=True))
            continue
        if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
            continue
        head = s.dropna().head(50)
        if not len(head) or not all(isinstance(v, str) for v in head):
            continue
        if not head.str.match(_ISO_DATE).all():
            continue
        try:
            out.isetitem(i, c.to_utc(s, str(col), "table", allow_missing=True))
        except OpsInputError:
            pass  # looked like dates at the top, is not: stays text
    return out


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = _jsonl_records(path)
    return pd.DataFrame.from_records(records) if records else pd.DataFrame()


def _jsonl_records(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    records = []
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise OpsInputError(f"{path.name} line {lineno} is not valid JSON: {exc.msg}")
            except RecursionError:
                raise OpsInputError(f"{path.name} line {lineno} is nested too deeply") from None
            if not isinstance(rec, dict):
                raise OpsInputError(
                    f"{path.name} line {lineno} is a JSON {type(rec).__name__}; "
                    f"JSON Lines must hold one object per line"
                )
            records.append(rec)
    return records


def _json_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Dict/list cells (e.g. alert labels) as JSON text: CSV and Parquet cannot hold them as is."""
    out = frame
    for col in frame.columns:
        s = frame[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (dict, list))).any():
            text = s.map(lambda v: json.dumps(v, sort_keys=True, default=str)
                         if isinstance(v, (dict, list)) else v)
            out = out.assign(**{col: text}) if isinstance(col, str) else out
    return out


def _text_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as ISO text with all nanoseconds (``to_json``/``to_csv`` would round to
    microseconds); missing times stay missing."""
    out = frame
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype) and isinstance(col, str):
            text = s.astype(str).astype(object).where(s.notna().to_numpy(), None)
            out = out.assign(**{col: text})
    return out


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str],
                format: str | None = None) -> Path:
    """Write a (canonical) frame so that :func:`read_table` and the loaders read it back as is.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or os.PathLike
        Target file; the format comes from the suffix as in :func:`read_table` (``.gz`` allowed
        for the text formats).
    format : str, optional
        Overrides the suffix.

    Returns
    -------
    pathlib.Path
        The written file. The file is written next to its target and renamed into place, so a
        failed write never leaves half a file.

    Notes
    -----
    Timestamps are written as ISO 8601 text with all nanoseconds and the offset
    (``2024-05-01 10:00:00.123456789+00:00``) in the text formats, natively in Parquet; dict and
    list cells (alert
    ``labels``) as JSON text in CSV, TSV and Parquet, as JSON objects in JSON and JSON Lines.
    """
    import tempfile

    if not isinstance(frame, pd.DataFrame):
        raise OpsInputError(f"write_table needs a DataFrame, got {type(frame).__name__}")
    target = Path(path)
    fmt = _resolve_format(target, format)
    if not target.parent.exists():
        raise OpsInputError(f"directory not found: {target.parent}")
    gz = target.name.lower().endswith(".gz")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt in ("csv", "tsv"):
            _json_cells(_text_times(frame)).to_csv(
                tmp, index=False, sep="," if fmt == "csv" else "\t",
                compression="gzip" if gz else None,
            )
        elif fmt in ("json", "jsonl"):
            _text_times(frame).to_json(tmp, orient="records", lines=fmt == "jsonl",
                                       compression="gzip" if gz else None,
                                       default_handler=str)
        else:
            _json_cells(frame).to_parquet(tmp, index=False)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
