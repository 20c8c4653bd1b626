"""Plain text log files -> canonical logs frame, with the timestamp format detected.

The format is chosen per file, on a sample of lines, among :data:`LOG_FORMATS` (other formats
that match a fair share of the sample are tried on the lines left without a time). Each line is
matched by one regex; timestamps are assembled from the captured fields with vectorised
arithmetic (no per-line ``strptime``).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from . import _common as c

__all__ = ["parse_log_lines", "read_log_file", "iter_text_chunks", "detect_log_format", "detect_levels",
           "LOG_FORMATS"]

_T = r"(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})"
_FRAC = r"(?:[.,](?P<f>\d{1,9}))?"
_ZONE = r"(?:\s?(?P<z>Z(?![A-Za-z0-9])|[+-]\d{2}:?\d{2}(?!\d)|UTC(?![A-Za-z0-9])))?"
_MON = r"(?P<b>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"

#: name -> (regex matching at line start, example); tried in this order, ties go to the first
LOG_FORMATS: dict[str, tuple[str, str]] = {
    "iso8601": (
        rf"\s*(?P<Y>\d{{4}})[-/](?P<m>\d{{2}})[-/](?P<d>\d{{2}})[T ]{_T}{_FRAC}{_ZONE}",
        "2015-10-18 18:01:47,978 / 2024-05-01T12:00:00.123+02:00",
    ),
    "syslog": (
        rf"\s*(?:<\d{{1,3}}>)?{_MON}\s+(?P<d>\d{{1,2}})\s+{_T}(?:\.(?P<f>\d{{1,9}}))?",
        "Jun 14 15:16:01 (year from year=)",
    ),
    "apache_error": (
        rf"\s*\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MON} (?P<d>\d{{1,2}}) {_T}"
        rf"(?:\.(?P<f>\d{{1,9}}))? (?P<Y>\d{{4}})\]",
        "[Sun Dec 04 04:47:44 2005]",
    ),
    "clf": (
        rf"(?P<pre>[^\[]{{0,200}}?)\[(?P<d>\d{{2}})/{_MON}/(?P<Y>\d{{4}}):{_T}"
        r"(?:\s(?P<z>[+-]\d{4}))?\]",
        "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700]",
    ),
    "yy/MM/dd": (
        rf"\s*(?P<yy>\d{{2}})/(?P<m>\d{{2}})/(?P<d>\d{{2}})\s{_T}{_FRAC}",
        "17/06/09 20:10:40 (Spark)",
    ),
    "yyMMdd HHmmss": (
        r"\s*(?P<yy>\d{2})(?P<m>\d{2})(?P<d>\d{2})\s(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})(?!\d)",
        "081109 203615 (HDFS)",
    ),
    "yyyyMMdd-HH:mm:ss": (
        r"\s*(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})[-T ](?P<H>\d{1,2}):(?P<M>\d{1,2}):(?P<S>\d{1,2})"
        r"(?::(?P<ms>\d{1,3})|[.,](?P<f>\d{1,9}))?(?!\d)",
        "20171223-22:15:29:606 (HealthApp)",
    ),
    "epoch": (
        r"(?P<pre>[^\s\d]\S{0,19}\s+)?(?P<E>\d{10}(?:\d{3})?(?:\.\d{1,9})?)(?![\d])",
        "1117838570 ... / - 1117838570 ... (BGL), 1717000000123 ...",
    ),
}

_COMPILED = {name: re.compile(rx, re.S) for name, (rx, _) in LOG_FORMATS.items()}
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_SAMPLE = 400

_LEVEL_WORDS = (r"FATAL|CRITICAL|CRIT|EMERG|ALERT|SEVERE|ERROR|ERR|WARNING|WARN|NOTICE|INFO|"
                r"DEBUG|TRACE|FINEST|FINER|FINE")
# first token after the timestamp: any case, optionally bracketed; single letters upper case
_LEVEL_FIRST = re.compile(
    rf"^\s*[\[(<]?(?P<lvl>(?i:{_LEVEL_WORDS})|[FEWIDTV])[\])>]?:?(?=\s|$)"
)
# else an upper-case level word among the first few tokens (Loghub HDFS: "148 INFO dfs...")
_LEVEL_NEAR = re.compile(
    rf"^\s*(?:\S+\s+){{0,8}}?[\[(<]?(?P<lvl>{_LEVEL_WORDS}|FAILURE)[\])>]?:?(?=\s|$)"
)


#: levels are looked for in this many leading characters of the text after the timestamp
_LEVEL_SPAN = 200


def _split_lines(text: str) -> list[str]:
    # split on \n only (str.splitlines also splits on form feeds and other controls found in
    # binary junk, which would shift line numbers); a trailing \r of Windows line ends goes
    lines = text.split("\n")
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _rank_formats(lines: Iterable[str]) -> list[tuple[str, int]]:
    """Formats matching any of the lines, most matches first (ties in :data:`LOG_FORMATS` order)."""
    sample = [ln for ln in lines if ln.strip()]
    counts = [(name, sum(1 for ln in sample if rx.match(ln))) for name, rx in _COMPILED.items()]
    return sorted([(k, n) for k, n in counts if n > 0], key=lambda kn: -kn[1])


def detect_log_format(lines: Iterable[str]) -> str | None:
    """Name of the :data:`LOG_FORMATS` entry matching most of the given lines (None if none)."""
    ranked = _rank_formats(lines)
    return ranked[0][0] if ranked else None


def _sample(lines: list[str]) -> list[str]:
    nonblank = [ln for ln in lines[: _SAMPLE * 4] if ln.strip()][:_SAMPLE]
    if len(lines) > _SAMPLE * 4:  # and some from the rest of the file
        step = max(1, len(lines) // _SAMPLE)
        nonblank += [ln for ln in lines[::step] if ln.strip()][:_SAMPLE]
    return nonblank


def _levels(texts: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """Level word (or None) of each text and the text without a leading level token.

    One plain loop: cheaper than three pandas regex passes (extract, extract, replace).
    """
    first, near = _LEVEL_FIRST.match, _LEVEL_NEAR.match
    levels: list[Any] = []
    rests: list[Any] = []
    for t in texts:
        if not isinstance(t, str):
            levels.append(None)
            rests.append(t)
            continue
        m = first(t, 0, _LEVEL_SPAN)
        if m is not None:
            levels.append(m.group("lvl"))
            rests.append(t[m.end():])
            continue
        m = near(t, 0, _LEVEL_SPAN)
        levels.append(m.group("lvl") if m is not None else None)
        rests.append(t)
    return levels, rests


def detect_levels(messages: pd.Series) -> pd.Series:
    """Log levels found in message text (see :func:`parse_log_lines`); else ``"unknown"``."""
    from .canonical import normalize_level

    levels, _ = _levels(messages.astype(object).tolist())
    out = normalize_level(pd.Series(levels, dtype=object))
    out.index = messages.index
    return out


def _extract(rx: re.Pattern[str], lines: list[str]) -> pd.DataFrame:
    """Named groups of ``rx.match`` per line (None where no match); a plain loop is about twice
    as fast as ``Series.str.extract`` here."""
    names = sorted(rx.groupindex, key=rx.groupindex.__getitem__)
    empty = (None,) * rx.groups
    match = rx.match
    rows = [m.groups() if (m := match(ln)) is not None else empty for ln in lines]
    return pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame(
        columns=names)


def _int(col: pd.Series, fill: int = 0) -> np.ndarray:
    """Digit strings (None where absent) to int64; the groups only ever capture digits."""
    text = col.to_numpy(dtype=object)
    text = np.where(pd.isna(text), str(fill), text)
    return text.astype("U").astype("int64")


def _assemble(ext: pd.DataFrame, year: int | None, tz: str | None) -> np.ndarray:
    """Timestamps (int64 ns since epoch, UTC; NaT as the int64 minimum) from regex groups."""
    n = len(ext)
    matched = ext["_ok"].to_numpy(dtype=bool)
    if "E" in ext.columns:
        # integer and fraction apart: float64 would blur milliseconds of a 13-digit epoch
        parts = ext["E"].fillna("0").str.partition(".")
        whole = pd.to_numeric(parts[0], errors="coerce").fillna(0).to_numpy(dtype="int64")
        is_ms = parts[0].str.len().to_numpy() >= 13
        unit = np.where(is_ms, 1_000_000, 1_000_000_000)
        frac = parts[2].str.ljust(9, "0").str[:9]
        frac_ns = pd.to_numeric(frac, errors="coerce").fillna(0).to_numpy(dtype="int64")
        out = whole * unit + frac_ns // np.where(is_ms, 1000, 1)
        out[~matched] = np.iinfo("int64").min
        return out
    if "Y" in ext.columns:
        years = _int(ext["Y"], 1970)
        if "yy" in ext.columns:
            years = np.where(ext["Y"].isna(), 2000 + _int(ext["yy"]), years)
    elif "yy" in ext.columns:
        years = 2000 + _int(ext["yy"])
    else:
        years = None
    if "m" in ext.columns:
        months = _int(ext["m"], 1)
    else:
        months = ext["b"].map(_MONTHS).fillna(1).to_numpy(dtype="int64")
    if years is None:
        # syslog has no year: year= (default this year) for the first line, +1 at each
        # wrap-around (a month more than six months before the previous line's, e.g. Dec -> Jan)
        now = datetime.now(timezone.utc)
        base = year if year is not None else now.year
        m = pd.Series(np.where(matched, months, np.nan)).ffill().bfill().to_numpy()
        wraps = np.concatenate([[0], (np.diff(m) < -6).astype("int64")]).cumsum()
        if year is None and matched.any():
            # default year: the latest line must not lie in the future (a December log read
            # in January belongs to last year)
            last = int(np.flatnonzero(matched)[-1])
            day = _int(ext["d"].iloc[[last]], 1)[0]
            last_md = (int(months[last]), int(day))
            last_year = now.year if last_md <= (now.month, now.day + 1) else now.year - 1
            base = last_year - int(wraps[last])
        years = base + wraps
    days = _int(ext["d"], 1)
    frame = pd.DataFrame({"year": years, "month": months, "day": days,
                          "hour": _int(ext["H"]), "minute": _int(ext["M"]),
                          "second": _int(ext["S"])})
    local = pd.to_datetime(frame, errors="coerce").to_numpy(dtype="datetime64[ns]")
    ns = local.astype("int64")
    valid = ~np.isnat(local) & matched
    valid &= (frame["hour"].to_numpy() < 24) & (frame["minute"].to_numpy() < 60)
    if "f" in ext.columns:
        frac = ext["f"].fillna("").str.ljust(9, "0").str[:9]
        ns = ns + pd.to_numeric(frac, errors="coerce").fillna(0).to_numpy(dtype="int64")
    if "ms" in ext.columns:
        ns = ns + _int(ext["ms"]) * 1_000_000
    offset = np.full(n, np.nan)
    if "z" in ext.columns:
        z = ext["z"]
        has = z.notna().to_numpy()
        if has.any():
            zs = z[has].str.replace(":", "", regex=False)
            is_utc = zs.isin(["Z", "UTC"]).to_numpy()
            sign = np.where(zs.str[0] == "-", -1, 1)
            hh = pd.to_numeric(zs.str[1:3], errors="coerce").fillna(0).to_numpy()
            mm = pd.to_numeric(zs.str[3:5], errors="coerce").fillna(0).to_numpy()
            offset[has] = np.where(is_utc, 0, sign * (hh * 60 + mm))
    aware = ~np.isnan(offset)
    ns = np.where(aware, ns - np.nan_to_num(offset * 60e9).astype("int64"), ns)
    naive = valid & ~aware
    if tz is not None and naive.any():
        try:
            loc = pd.Series(ns[naive].view("datetime64[ns]")).dt.tz_localize(
                tz, ambiguous="NaT", nonexistent="shift_forward"
            ).dt.tz_convert("UTC").dt.tz_localize(None)
        except Exception as exc:  # zoneinfo/pytz raise different types for an unknown zone
            raise OpsInputError(
                f"unknown time zone tz={tz!r}; use an IANA name such as 'Europe/Berlin' "
                f"or 'UTC' ({type(exc).__name__})"
            )
        conv = loc.to_numpy(dtype="datetime64[ns]")
        ns[naive] = conv.astype("int64")
        valid[np.flatnonzero(naive)[np.isnat(conv)]] = False
    ns[~valid] = np.iinfo("int64").min
    return ns


def parse_log_lines(
    lines: Iterable[str],
    service: str = "",
    *,
    year: int | None = None,
    tz: str | None = None,
    format: str | None = None,
    source: str = "log lines",
) -> pd.DataFrame:
    """Parse plain text log lines into the canonical logs frame.

    Parameters
    ----------
    lines : iterable of str or bytes
        The lines (line ends are stripped, bytes decoded as UTF-8 with replacement). Blank
        lines are skipped.
    service : str
        Service name for every row.
    year : int, optional
        Year of the first line for formats without one (syslog). The year increases at each
        wrap-around (December followed by January). Default: chosen so that the last line lies
        within the past year (the current UTC year unless that would put it in the future).
    tz : str, optional
        IANA zone of timestamps without an offset (default: taken as UTC).
    format : str, optional
        A :data:`LOG_FORMATS` name; default: detected on a sample of lines.
    source : str
        Name of the input for error messages.

    Returns
    -------
    pandas.DataFrame
        ``timestamp`` (datetime64[ns, UTC]), ``service``, ``level``, ``message`` (the line
        without its timestamp and leading level), ``line`` (1-based line number) and
        ``continuation`` (True for lines without their own timestamp, e.g. stack traces: they
        take the previous line's timestamp and level).
    """
    if isinstance(lines, (str, bytes)):
        raise OpsInputError(
            "parse_log_lines needs a list of lines; for a whole text use text.splitlines(), "
            "for a file load_logs(path)"
        )
    # lines from readlines() keep their line ends; bytes are decoded like files are
    all_lines = [
        (ln.decode("utf-8", "replace") if isinstance(ln, bytes) else str(ln)).rstrip("\r\n")
        for ln in lines
    ]
    numbers = np.array([i for i, ln in enumerate(all_lines, 1) if ln.strip()], dtype="int64")
    kept = [all_lines[i - 1] for i in numbers]
    if not kept:
        raise OpsInputError(f"the logs input is empty (0 rows): {source} has no non-blank lines")
    if format is None:
        sample = _sample(kept)
        ranked = _rank_formats(sample)
        if not ranked:
            first = c.fmt_value(kept[0], 80)
            raise OpsInputError(
                f"no known timestamp format in {source}; line {numbers[0]}: {first}. Supported: "
                + "; ".join(f"{k} ({v[1]})" for k, v in LOG_FORMATS.items())
                + ". Or load it as a table with a timestamp column; to mine templates of a "
                "log without timestamps (lines in file order) use `jupyter-ops aiops logs FILE "
                "--raw` or mine_templates(path)"
            )
        # the best format, then (for files that mix formats, e.g. concatenated logs) any other
        # that matches a fair share of the sample, tried on the lines still without a time
        floor = max(2, len(sample) // 20)
        formats = [ranked[0][0]] + [k for k, n in ranked[1:] if n >= floor]
    elif format not in LOG_FORMATS:
        raise OpsInputError(
            f"unknown log format {format!r}; choose one of {', '.join(LOG_FORMATS)}"
        )
    else:
        formats = [format]
    n = len(kept)
    missing = np.iinfo("int64").min
    ns = np.full(n, missing, dtype="int64")
    pre_arr = np.full(n, "", dtype=object)
    rest_arr = np.array(kept, dtype=object)
    todo = np.arange(n)
    for name in formats:
        if not len(todo):
            break
        rx = re.compile(LOG_FORMATS[name][0] + r"(?P<rest>.*)", re.S)
        ext = _extract(rx, [kept[i] for i in todo])
        ext["_ok"] = ext["rest"].notna()
        sub = _assemble(ext, year, tz)
        got = sub != missing
        idx = todo[got]
        ns[idx] = sub[got]
        rest_arr[idx] = ext["rest"].to_numpy(dtype=object)[got]
        if "pre" in ext.columns:
            pre_arr[idx] = ext["pre"].fillna("").to_numpy(dtype=object)[got]
        todo = todo[~got]
    has_ts = ns != missing
    if not has_ts.any():
        raise OpsInputError(
            f"no line of {source} has a valid {formats[0]} timestamp; line {numbers[0]}: "
            f"{c.fmt_value(kept[0], 80)}"
        )
    ts = pd.Series(ns.view("datetime64[ns]"))  # int64 minimum is NaT
    ts = ts.ffill().bfill().dt.tz_localize("UTC")
    from .canonical import normalize_level

    words, rests = _levels(rest_arr.tolist())
    level = normalize_level(pd.Series(words, dtype=object)).astype(object)
    # a leading level token is part of the header, not of the message
    message = [
        (p.rstrip() + " " + r.lstrip(" \t|:;,")).strip() if p else r.lstrip(" \t|:;,").rstrip()
        for p, r in zip(pre_arr.tolist(), rests, strict=True)
    ]
    message = pd.Series(message, dtype=object)
    cont = pd.Series(~has_ts)
    level = level.where(~(cont & (level == "unknown")).to_numpy())
    level = level.ffill().fillna("unknown")
    frame = pd.DataFrame({
        "timestamp": ts.astype(c.TS_DTYPE),
        "service": c.constant_text(service, n),
        "level": c.as_text(level),
        "message": c.as_text(message),
        "line": numbers,
        "continuation": cont.to_numpy(),
    })
    return frame


def read_log_file(
    path: str | os.PathLike[str],
    service: str | None = None,
    *,
    year: int | None = None,
    tz: str | None = None,
    format: str | None = None,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read a plain text log file (``.gz`` allowed) with :func:`parse_log_lines`.

    Bytes that are not valid in ``encoding`` are replaced by U+FFFD (never an error), so binary
    junk in a log does not stop the load. ``service`` defaults to the file stem
    (``HDFS_2k.log`` -> ``HDFS_2k``).
    """
    p = Path(path)
    if not p.exists():
        raise OpsInputError(f"file not found: {p}")
    if p.is_dir():
        raise OpsInputError(f"{p} is a directory; pass a log file")
    try:
        raw = gzip.decompress(p.read_bytes()) if p.name.lower().endswith(".gz") else p.read_bytes()
    except (OSError, EOFError) as exc:
        raise OpsInputError(f"cannot read {p}: {exc}")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (Windows tools)
        encoding = "utf-16"
    try:
        text = raw.decode(encoding, errors="replace")
    except LookupError:
        raise OpsInputError(f"unknown encoding {encoding!r}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_log_lines(
        _split_lines(text), service=c.path_stem(p) if service is None else service,
        year=year, tz=tz, format=format, source=p.name,
    )


def iter_text_chunks(
    path: str | os.PathLike[str],
    chunk_lines: int = 65536,
    *,
    block_bytes: int = 1 << 22,
) -> Iterator[tuple[list[str], dict[str, int], bytes]]:
    """Stream a text file (``.gz`` allowed) as chunks of at most ``chunk_lines`` lines.

    Memory is bounded by one block of bytes plus one chunk of lines (and the longest line),
    whatever the file size. Yields ``(lines, issues, raw)``: the decoded lines without their
    line ends (``\\r\\n`` and ``\\n``; a UTF-8 BOM is dropped), counts of ``undecodable_lines``
    (bytes that are not UTF-8 become U+FFFD, line by line, so one bad line does not spoil its
    neighbours) and ``crlf_line_ends``, and the raw bytes of the chunk (for a digest).

    Raises
    ------
    OpsInputError
        When the file does not exist, is a directory or cannot be read (e.g. a broken gzip).
    """
    p = Path(path)
    if not p.exists():
        raise OpsInputError(f"file not found: {p}")
    if p.is_dir():
        raise OpsInputError(f"{p} is a directory; pass a log file")
    if chunk_lines < 1:
        raise OpsInputError(f"chunk_lines must be >= 1, got {chunk_lines}")
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rb") as f:
            rest = b""
            first = True
            pending: list[bytes] = []
            while True:
                block = f.read(block_bytes)
                if first:
                    if block.startswith(b"\xef\xbb\xbf"):
                        block = block[3:]
                    first = False
                if not block:
                    if rest:
                        pending.append(rest)
                    while pending:
                        yield _decode_chunk(pending[:chunk_lines])
                        pending = pending[chunk_lines:]
                    return
                parts = (rest + block).split(b"\n")
                rest = parts.pop()
                pending.extend(parts)
                while len(pending) >= chunk_lines:
                    yield _decode_chunk(pending[:chunk_lines])
                    pending = pending[chunk_lines:]
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise OpsInputError(f"cannot read {p}: {exc}")


def _decode_chunk(raw_lines: list[bytes]) -> tuple[list[str], dict[str, int], bytes]:
    raw = b"\n".join(raw_lines)
    crlf = sum(1 for b in raw_lines if b.endswith(b"\r"))
    bad = 0
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = []
        for b in raw_lines:
            try:
                lines.append(b.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(b.decode("utf-8", errors="replace"))
                bad += 1
    if crlf:
        lines = [s[:-1] if s.endswith("\r") else s for s in lines]
    return lines, {"undecodable_lines": bad, "crlf_line_ends": crlf}, raw + b"\n"
