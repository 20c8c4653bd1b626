"""Log template mining: ``mine_templates`` turns raw log lines into templates with counts.

One default configuration serves every log: generic masks (:mod:`._masking`) plus a
frequency-based grouping of the distinct masked lines (:mod:`._logparser`). See
``docs/logs.md`` for the method, its pedigree and the measured accuracy.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import OpsInputError
from ..results import Result
from ._logparser import _NAT, ParserState, match_params, render
from ._masking import WILDCARD, masks_table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["mine_templates", "stream_templates", "Templates", "render_template",
           "builtin_masks", "ParserState"]

#: lines longer than this many characters are reported (they are still mined)
LONG_LINE = 65536
#: templates seen at most this many times count as rare
RARE = 2
_STATE_KIND = "jupyter-ops/log-templates"


def mine_templates(logs: Any, masks: Any = None, *, threshold: int = 4,
                   word_threshold: int | None = None, variants: str = "wildcard",
                   state: Templates | ParserState | None = None,
                   engine: str | None = None, client: Any = None,
                   progress: bool = False) -> Templates:
    """Mine log templates: group lines that differ only in their variable parts.

    Parameters
    ----------
    logs : DataFrame, Series, list of str or path
        The canonical logs frame (``message``; ``timestamp``, ``service``, ``level`` used when
        present), a sequence of lines, or a plain text file (``.gz`` allowed). Raw text is kept
        as data: empty lines, binary garbage, very long lines and Windows line ends do not
        fail; undecodable bytes become U+FFFD and are counted in :attr:`Templates.issues`.
    masks : list of str, list of (name, regex) or dict, optional
        Extra regular expressions whose matches are variables, applied before the built-in
        masks (IPs, host:port, hex, numbers, UUIDs, paths, dates and times, sizes, URLs; see
        :func:`builtin_masks`).
    threshold : int, default 4
        A position of a group is a variable once it takes this many distinct values
        (positions with fewer values split the group instead).
    word_threshold : int, optional
        The same for a position whose values are all plain words (letters only): constant
        words such as command names or states split events up to this many values
        (default: ``threshold``).
    variants : {"prefix", "wildcard"}, default "wildcard"
        Which rare variants of an event merge with it: values that differ only in a name
        prefix (``rdd_<*>`` / ``broadcast_<*>``), or also values that all hold a variable
        where one is a bare variable (``LOCAL(<*>)`` beside ``<*>``).
    state : Templates or ParserState, optional
        Continue from an earlier result (as :meth:`Templates.update`; its settings win) or
        from a (merged) :class:`ParserState`, e.g. partitions mined apart and merged (the
        state is continued in place).
    engine, client, progress
        ``engine="dask"`` (implied by a Dask DataFrame/Bag): mine the partitions on a Dask
        cluster and merge their states (same templates; see ``docs/scale.md``).

    Returns
    -------
    Templates
        ``.templates`` (one row per template), ``.assignments`` (template id per line, in
        order), ``.parameters`` (variable values per line). Continue with
        :meth:`Templates.update`; save with :meth:`Templates.save`.

    Examples
    --------
    >>> t = mine_templates(["connected to 10.0.0.1", "connected to 10.0.0.2"])
    >>> t.templates["template"].tolist()
    ['connected to <*>']
    """
    from ..provenance import make_provenance
    from ..scale import is_dask

    if engine is not None or is_dask(logs):  # Dask: jupyter_ops.scale.logs
        from ..scale.logs import mine_templates_dask

        if state is not None:
            raise OpsInputError("state= continues a single-process result; with Dask, mine "
                                "everything in one call (partitions are merged exactly)")
        return mine_templates_dask(logs, masks, threshold=threshold,
                                   word_threshold=word_threshold, variants=variants,
                                   engine=engine, client=client, progress=progress)
    if not isinstance(threshold, (int, np.integer)) or isinstance(threshold, bool) \
            or threshold < 2:
        raise OpsInputError(f"threshold must be an integer >= 2, got {threshold!r}")
    if isinstance(state, Templates):
        return state.update(logs)
    if state is not None and not isinstance(state, ParserState):
        raise OpsInputError(f"state must be a Templates result or a ParserState, got "
                            f"{type(state).__name__}")
    batch = _read(logs)
    if isinstance(state, ParserState):
        result = Templates(state)
        result._append(batch)
        result.provenance = make_provenance(
            "mine_templates", params={"masks": state.masks, "threshold": state.threshold,
                                      "word_threshold": state.word_threshold,
                                      "variants": state.variants, "state": "given"},
            inputs={"logs": batch.digest})
        return result
    try:
        state = ParserState(masks=masks, threshold=int(threshold), word_threshold=word_threshold,
                            variants=variants)
    except ValueError as e:
        raise OpsInputError(str(e))
    result = Templates(state)
    result._append(batch)
    result.provenance = make_provenance(
        "mine_templates", params={"masks": state.masks, "threshold": int(threshold),
                                  "word_threshold": state.word_threshold,
                                  "variants": variants},
        inputs={"logs": batch.digest})
    return result


def render_template(template: str, parameters: list[str]) -> str:
    """Put parameter values back into a template: the inverse of :attr:`Templates.parameters`."""
    return render(template, list(parameters))


def builtin_masks() -> pd.DataFrame:
    """The built-in masks, in the order they are tried (name, regex, description)."""
    import pandas as pd

    return pd.DataFrame(masks_table())


class _Batch:
    """Lines read from one input, with their optional per-line columns."""

    def __init__(self, messages: list[str], ts: np.ndarray | None = None,
                 service: np.ndarray | None = None, level: np.ndarray | None = None,
                 issues: dict[str, int] | None = None, digest: str | None = None) -> None:
        self.messages = messages
        self.ts = ts
        self.service = service
        self.level = level
        self.issues = issues or {}
        self.digest = digest


class Templates(Result):
    """Templates mined from log lines (a :class:`~jupyter_ops.results.Result`).

    Attributes
    ----------
    issues : dict
        Counts of unusual input kept as data: ``empty_lines``, ``undecodable_lines``,
        ``long_lines`` (> 65,536 characters), ``crlf_line_ends``.
    """

    kind = "log_templates"

    def __init__(self, state: ParserState | None = None) -> None:
        super().__init__()
        self._state = state or ParserState()
        self._base = self._state.n_lines  # global number of the first retained line
        self._ids = np.zeros(0, dtype=np.int64)
        self._messages: list[str] = []
        self._ts: np.ndarray | None = None
        self._service: np.ndarray | None = None
        self._level: np.ndarray | None = None
        self.issues: dict[str, int] = {"empty_lines": 0, "undecodable_lines": 0,
                                       "long_lines": 0, "crlf_line_ends": 0}
        self._cache: dict[str, Any] = {}

    # -- building ---------------------------------------------------------------------------
    def _append(self, batch: _Batch) -> None:
        _skip_blank(batch)
        n_old = len(self._messages)
        n_new = len(batch.messages)
        ids = self._state.add(batch.messages, batch.ts)
        self._state.regroup()
        self._ids = np.concatenate([self._ids, ids])
        self._messages.extend(batch.messages)
        self._ts = _extend(self._ts, batch.ts, n_old, n_new, _NAT, np.int64)
        self._service = _extend(self._service, batch.service, n_old, n_new, "", object)
        self._level = _extend(self._level, batch.level, n_old, n_new, "", object)
        for k, v in batch.issues.items():
            self.issues[k] = self.issues.get(k, 0) + int(v)
        self._cache.clear()

    def update(self, more_lines: Any) -> Templates:
        """Continue mining with more lines (same input kinds as :func:`mine_templates`).

        The result equals mining all lines at once: templates may merge or split, and their
        ids follow first appearance. Returns ``self``.
        """
        batch = _read(more_lines)
        self._append(batch)
        inputs = dict(self.provenance.get("inputs", {}))
        if batch.digest:
            inputs[f"update{sum(k.startswith('update') for k in inputs) + 1}"] = batch.digest
        if self.provenance:
            self.provenance["inputs"] = inputs
        return self

    # -- tables -----------------------------------------------------------------------------
    @property
    def n_lines(self) -> int:
        """Lines mined in total (including those before a :meth:`load`)."""
        return self._state.n_lines

    @property
    def templates(self) -> pd.DataFrame:
        """One row per template, in order of first appearance.

        Columns: ``template_id``, ``template`` (``<*>`` marks a variable), ``count``,
        ``first_seen``, ``last_seen`` (UTC, NaT without timestamps), ``first_line``,
        ``last_line`` (0-based line numbers) and ``example`` (the first line seen).
        """
        if "templates" not in self._cache:
            self._cache["templates"] = self._templates_frame()
        return self._cache["templates"].copy()

    def _templates_frame(self) -> pd.DataFrame:
        import pandas as pd

        st = self._state
        n = len(st.templates)
        g = st.key_group
        count = np.bincount(g, weights=st.count, minlength=n).astype(np.int64)
        first_line = np.full(n, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(first_line, g, st.first_line)
        last_line = np.full(n, -1, np.int64)
        np.maximum.at(last_line, g, st.last_line)
        big = np.iinfo(np.int64).max
        fts = np.where(st.first_ts == _NAT, big, st.first_ts)
        first_ts = np.full(n, big, np.int64)
        np.minimum.at(first_ts, g, fts)
        first_ts[first_ts == big] = _NAT
        last_ts = np.full(n, _NAT, np.int64)
        np.maximum.at(last_ts, g, st.last_ts)
        # example: the first line of the group's earliest key
        order = np.lexsort((st.first_line, g))
        first_key = np.full(n, -1, np.int64)
        seen = np.ones(len(order), bool)
        seen[1:] = g[order][1:] != g[order][:-1]
        first_key[g[order][seen]] = order[seen]
        return pd.DataFrame({
            "template_id": [f"T{i + 1}" for i in range(n)],
            "template": list(st.templates),
            "count": count,
            "first_seen": _to_datetime(first_ts),
            "last_seen": _to_datetime(last_ts),
            "first_line": first_line,
            "last_line": last_line,
            "example": [st.example[k] if k >= 0 else "" for k in first_key.tolist()],
        })

    @property
    def assignments(self) -> pd.Series:
        """Template id of each line mined by this object, in input order."""
        import pandas as pd

        ids = np.asarray([f"T{i + 1}" for i in range(len(self._state.templates))], dtype=object)
        return pd.Series(ids[self._state.key_group[self._ids]], name="template_id",
                         index=pd.RangeIndex(self._base, self._base + len(self._ids)),
                         dtype=object)

    @property
    def parameters(self) -> pd.Series:
        """The variable values of each line (a list per line, in the template's order).

        ``render_template(template, parameters)`` reproduces the line exactly.
        """
        import pandas as pd

        if "parameters" not in self._cache:
            tpl = self._state.templates
            parts = [t.split(WILDCARD) for t in tpl]
            groups = self._state.key_group[self._ids].tolist()
            out = []
            for g, line in zip(groups, self._messages, strict=True):
                p = match_params(parts[g], line)
                out.append(p if p is not None else [line])
            self._cache["parameters"] = out
        return pd.Series(self._cache["parameters"], name="parameters", dtype=object,
                         index=pd.RangeIndex(self._base, self._base + len(self._ids)))

    @property
    def lines(self) -> pd.DataFrame:
        """The mined lines: ``line``, ``timestamp``, ``service``, ``level``, ``template_id``,
        ``message`` (timestamp/service/level only when the input had them)."""
        return self._lines_frame(None)

    def _lines_frame(self, rows: np.ndarray | None) -> pd.DataFrame:
        import pandas as pd

        sel = slice(None) if rows is None else rows
        n_tpl = len(self._state.templates)
        ids = np.asarray([f"T{i + 1}" for i in range(n_tpl)], dtype=object)
        cols: dict[str, Any] = {
            "line": np.arange(self._base, self._base + len(self._ids))[sel]}
        if self._ts is not None:
            cols["timestamp"] = _to_datetime(self._ts[sel])
        if self._service is not None:
            cols["service"] = self._service[sel]
        if self._level is not None:
            cols["level"] = self._level[sel]
        cols["template_id"] = ids[self._state.key_group[self._ids[sel]]]
        messages = self._messages if rows is None else [self._messages[i] for i in rows.tolist()]
        cols["message"] = np.asarray(messages, dtype=object)
        return pd.DataFrame(cols)

    def lines_of(self, template_id: str, limit: int | None = 200) -> pd.DataFrame:
        """The lines of one template (first ``limit``; None for all)."""
        n_tpl = len(self._state.templates)
        gi = int(template_id[1:]) - 1 if (isinstance(template_id, str)
                                          and template_id[:1] == "T"
                                          and template_id[1:].isdigit()) else -1
        if not 0 <= gi < n_tpl:
            raise OpsInputError(f"no template {template_id!r}; ids run from T1 to T{n_tpl}")
        rows = np.flatnonzero(self._state.key_group[self._ids] == gi)
        if limit is not None:
            rows = rows[:limit]
        return self._lines_frame(rows)

    # -- persistence ------------------------------------------------------------------------
    def to_json(self) -> str:
        """The miner's state as JSON (templates, counts, masks; not the per-line data)."""
        return json.dumps({"kind": _STATE_KIND, "state": self._state.to_dict(),
                           "issues": self.issues, "provenance": self.provenance},
                          ensure_ascii=True, default=str)  # lone surrogates stay valid

    @classmethod
    def from_json(cls, data: str | dict) -> Templates:
        """Restore a state saved by :meth:`to_json`; :meth:`update` continues from it.

        The restored object has the templates and counts but no lines: ``assignments``,
        ``parameters`` and ``lines`` cover the lines added after loading.
        """
        try:
            d = json.loads(data) if isinstance(data, str) else data
            if not isinstance(d, dict) or d.get("kind") != _STATE_KIND:
                raise ValueError("not a template state")
            state = ParserState.from_dict(d["state"])
        except (ValueError, KeyError, TypeError) as e:
            raise OpsInputError(f"cannot read a template state ({e}); pass the text written "
                                "by Templates.to_json() or a file written by Templates.save()")
        out = cls(state)
        out.issues.update({k: int(v) for k, v in d.get("issues", {}).items()})
        out.provenance = d.get("provenance") or {}
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_json` to ``path`` (atomically)."""
        from ..atomic import write_atomic

        p = Path(path)
        write_atomic(p, self.to_json())
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> Templates:
        """Read a state written by :meth:`save`."""
        p = Path(path)
        if not p.is_file():
            raise OpsInputError(f"template state file {str(p)!r} not found")
        return cls.from_json(p.read_text(encoding="utf-8"))

    # -- Result -----------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return "Log templates"

    def summary(self) -> str:
        t = self.templates
        rare = int((t["count"] <= RARE).sum())
        return (f"{self.n_lines:,} line{'s' * (self.n_lines != 1)} -> {len(t):,} "
                f"template{'s' * (len(t) != 1)}; {rare:,} rare (seen at most {RARE} times)")

    def figures(self) -> list[dict[str, Any]]:
        t = self.templates
        figs: list[dict[str, Any]] = [
            {"label": "lines", "value": self.n_lines},
            {"label": "templates", "value": len(t)},
            {"label": "rare templates", "value": int((t["count"] <= RARE).sum()),
             "hint": f"seen at most {RARE} times"},
        ]
        if len(t):
            top = t.sort_values("count", ascending=False).iloc[0]
            figs.append({"label": "top template share",
                         "value": f"{top['count'] / max(self.n_lines, 1):.0%}",
                         "hint": str(top["template"])[:80]})
        odd = {k: v for k, v in self.issues.items() if v}
        if odd:
            figs.append({"label": "unusual input", "status": "warn",
                         "value": sum(odd.values()),
                         "hint": ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in odd.items())})
        return figs

    def tables(self) -> dict[str, pd.DataFrame]:
        t = self.templates
        t = t.sort_values(["count", "first_line"], ascending=[False, True], kind="stable")
        t.insert(3, "share", (t["count"] / max(self.n_lines, 1)).round(4))
        cols = ["template_id", "template", "count", "share", "first_seen", "last_seen",
                "example"]
        if self._ts is None and t["first_seen"].isna().all():
            cols = ["template_id", "template", "count", "share", "first_line", "last_line",
                    "example"]
        out = t[cols].reset_index(drop=True)
        for col in ("template", "example"):  # keep displays and reports small (1 MB lines)
            out[col] = [_clip(v) for v in out[col].tolist()]
        return {"templates": out}

    def charts(self) -> dict[str, Any]:
        import altair as alt

        t = self.templates.sort_values("count", ascending=False).head(20)
        if not len(t):
            return {}
        top = t.assign(label=t["template_id"] + " " + t["template"].str.slice(0, 60))
        charts: dict[str, Any] = {
            "top_templates": alt.Chart(top[["label", "count", "template_id"]]).mark_bar().encode(
                x=alt.X("count:Q", title="lines"),
                y=alt.Y("label:N", sort="-x", title=None),
                tooltip=["template_id", "count"]).properties(height=alt.Step(14), width=360)}
        if self._ts is not None and (self._ts != _NAT).any():
            from .logsignals import auto_window, template_rates

            ts = self._ts[self._ts != _NAT]
            # at most 400 windows x 5 templates: aggregated data, never raw rows
            window = auto_window(np.timedelta64(int(ts.max() - ts.min()), "ns"), 400)
            rates = template_rates(self, window, top_n=5)
            if len(rates):
                charts["rate_over_time"] = alt.Chart(rates).mark_line().encode(
                    x=alt.X("window:T", title=None), y=alt.Y("count:Q", title="lines per window"),
                    color=alt.Color("template_id:N", title="template"),
                    tooltip=["template_id", "window:T", "count"]).properties(width=480,
                                                                              height=160)
        return charts

    def explanations(self) -> list[tuple[str, str]]:
        return [("How templates are mined", (
            "Variables are masked by generic patterns (IPs and ports, hex, numbers, UUIDs, "
            "paths, dates, sizes with their unit, URLs, any word containing a digit), keeping "
            "constant prefixes and suffixes (blk_<*>, core.<*>, <*>ms, hdfs://<*>). Distinct "
            "masked lines of the same token count are grouped by a frequency rule (after "
            f"Brain, 2023): positions with {self._state.threshold} or more distinct values, "
            "values that differ only in masked parts, or a rare variable shape beside a bare "
            "variable are variables; positions with fewer constant values split the group. "
            "Templates with the same text are one template. The same configuration is used "
            "for every log."))]


# -- input ----------------------------------------------------------------------------------
def select_logs(logs: Any, service: str | None = None, since: Any = None,
                until: Any = None) -> pd.DataFrame:
    """The lines to mine, as a logs frame: of one service and/or a time range.

    Shared by ``%aiops_logs`` and ``jupyter-ops aiops logs`` so both read and filter alike.

    Parameters
    ----------
    logs : str, os.PathLike, DataFrame, Series or list of str
        A log file (plain text, ``.gz``, or a CSV/Parquet/JSON table; loaded with
        :func:`jupyter_ops.io.load_logs`), a logs frame, or bare lines.
    service : str, optional
        Tables with a ``service`` column keep only this service's rows; a text log file (or a
        table without that column) is named ``service``.
    since, until : str or Timestamp, optional
        Keep lines at or after ``since`` and before ``until`` (UTC when no zone is given).

    Returns
    -------
    pandas.DataFrame
        The kept rows with a fresh index.
    """
    import pandas as pd

    if isinstance(logs, (str, os.PathLike)):
        from .. import io
        from ..io._common import path_stem
        from ..io.tables import table_format

        if table_format(logs) is None:  # a text log: ``service`` names it
            frame = io.load_logs(logs, service=service)
            service = None
        else:
            frame = io.read_table(logs)
            if "service" in frame.columns:  # filtered below
                frame = io.load_logs(frame)
            else:  # no service of its own: named like a text log (default: the file stem)
                frame = io.load_logs(frame, service=service if service is not None
                                     else path_stem(logs))
                service = None
    elif isinstance(logs, pd.DataFrame):
        frame = logs
    elif isinstance(logs, (pd.Series, list, tuple)):
        frame = pd.DataFrame({"message": list(logs)})
    else:
        raise OpsInputError(f"cannot mine a {type(logs).__name__}; pass a logs frame, a list "
                            "of lines or a log file")
    if service is not None:
        if "service" not in frame.columns:
            raise OpsInputError("selecting a service needs a 'service' column; the logs have "
                                f"{', '.join(map(str, frame.columns))}")
        from ..io._common import as_text

        # missing services as "" on pandas 2 and 3 alike (astype(str) keeps NaN on pandas 3,
        # and sorting NaN with strings raised TypeError instead of this message)
        services = as_text(frame["service"])
        if not (services == service).any():
            known = ", ".join(sorted(v for v in services.unique() if v)[:10])
            raise OpsInputError(f"no lines of service {service!r}; services: {known}")
        frame = frame[(services == service).to_numpy()]
    if since is not None or until is not None:
        if "timestamp" not in frame.columns:
            raise OpsInputError("since/until need timestamps; these logs have none "
                                "(load them with jupyter_ops.io.load_logs)")
        from ..io._common import to_utc  # the one timestamp parser

        ts = to_utc(frame["timestamp"], what="logs", allow_missing=True)
        keep = pd.Series(True, index=frame.index)
        if since is not None:
            keep &= ts >= _utc_time(since, "since")
        if until is not None:
            keep &= ts < _utc_time(until, "until")
        frame = frame[keep.to_numpy()]
    return frame.reset_index(drop=True)


def _utc_time(value: Any, what: str) -> Any:
    import pandas as pd

    from ..io._common import to_utc  # the one timestamp parser

    if isinstance(value, str):
        value = value.strip().strip("'\"")
    try:
        t = to_utc(pd.Series([value]), column=what, what="arguments").iloc[0]
    except (OpsInputError, ValueError, TypeError):
        t = pd.NaT
    if t is pd.NaT:
        raise OpsInputError(f"{what} {value!r} is not a time; use e.g. '2026-01-05 12:00'")
    return t


def _read(logs: Any) -> _Batch:
    import pandas as pd

    if isinstance(logs, (str, os.PathLike)):
        return _read_path(logs)
    if isinstance(logs, pd.DataFrame):
        return _read_frame(logs)
    if isinstance(logs, pd.Series):
        return _read_lines(logs.tolist())
    if isinstance(logs, (bytes, bytearray)):
        raise OpsInputError("logs are bytes; pass a path, a list of lines or a logs frame "
                            "(decode the bytes and split them into lines first)")
    if isinstance(logs, (list, tuple)) or hasattr(logs, "__iter__"):
        return _read_lines(list(logs))
    raise OpsInputError(f"cannot mine templates from a {type(logs).__name__}; pass a logs "
                        "frame (column 'message'), a list of lines or a path to a log file")


def _read_path(path: str | os.PathLike) -> _Batch:
    from ..io.textlog import iter_text_chunks

    p = Path(path)
    if not p.is_file():
        raise OpsInputError(f"log file {str(p)!r} not found; pass an existing path, a list of "
                            "lines or a logs frame")
    h = hashlib.sha256()
    lines: list[str] = []
    issues = {"undecodable_lines": 0, "crlf_line_ends": 0}
    for chunk, info, raw in iter_text_chunks(p):
        h.update(raw)
        lines.extend(chunk)
        for k, v in info.items():
            issues[k] += v
    batch = _read_lines(lines, digest=h.hexdigest())
    for k, v in issues.items():
        batch.issues[k] += v
    return batch


def stream_templates(path: str | os.PathLike, masks: Any = None, *, threshold: int = 4,
                     word_threshold: int | None = None, variants: str = "wildcard",
                     chunk_lines: int = 65536, state: Templates | None = None) -> Templates:
    """Mine a (``.gz``) log file of any size in bounded memory: templates and counts only.

    The file is read in chunks of ``chunk_lines`` lines straight into the incremental miner
    (:class:`ParserState`); no line is kept, so memory grows with the number of distinct
    masked lines, not with the file. The result has the same templates, ids and counts as
    :func:`mine_templates` on the whole file, but no per-line data (``assignments``,
    ``parameters`` and ``lines`` are empty), like a state restored with
    :meth:`Templates.load`. Pass ``state`` to continue an earlier result (it is updated and
    returned). Blank lines are skipped and counted in ``issues``.

    Parameters
    ----------
    path : str or os.PathLike
        A plain text or ``.gz`` log file; whole lines are mined (no timestamp detection).
    masks, threshold, word_threshold, variants
        As :func:`mine_templates`.
    chunk_lines : int, default 65536
        Lines decoded and mined at a time (bounds the memory held for lines).
    state : Templates, optional
        An earlier result to continue (e.g. from :meth:`Templates.load`).

    Returns
    -------
    Templates
        Templates and counts of the whole file, without per-line data.

    Raises
    ------
    OpsInputError
        When the file is missing or unreadable, or a setting is invalid.
    """
    from ..io.textlog import iter_text_chunks
    from ..provenance import make_provenance

    if state is None:
        try:
            st0 = ParserState(masks=masks, threshold=int(threshold),
                              word_threshold=word_threshold, variants=variants)
        except ValueError as e:
            raise OpsInputError(str(e))
        result = Templates(st0)
    else:
        result = state
    st = result._state
    h = hashlib.sha256()
    from ..progress import progress

    for chunk, info, raw in progress(iter_text_chunks(path, chunk_lines), desc="mining",
                                     unit="chunk"):
        h.update(raw)
        batch = _read_lines(chunk, digest="-")
        for k, v in info.items():
            batch.issues[k] += v
        _skip_blank(batch)
        st.add(batch.messages)
        for k, v in batch.issues.items():
            result.issues[k] = result.issues.get(k, 0) + int(v)
    st.regroup()
    result._base = st.n_lines
    result._cache.clear()
    if state is None:
        result.provenance = make_provenance(
            "stream_templates", params={"masks": st.masks, "threshold": st.threshold,
                                        "word_threshold": st.word_threshold,
                                        "variants": st.variants},
            inputs={"logs": h.hexdigest()})
    return result


def _read_lines(items: list[Any], digest: str | None = None) -> _Batch:
    bad = 0
    if items and set(map(type, items)) != {str}:  # C-level check; the loop only if needed
        fixed = []
        for x in items:
            if isinstance(x, str):
                fixed.append(x)
            elif isinstance(x, (bytes, bytearray)):
                try:
                    fixed.append(bytes(x).decode("utf-8"))
                except UnicodeDecodeError:
                    fixed.append(bytes(x).decode("utf-8", errors="replace"))
                    bad += 1
            elif x is None or (isinstance(x, float) and x != x):
                fixed.append("")
            else:
                try:
                    missing = bool(x != x)  # pandas NA / NaT
                except (TypeError, ValueError):
                    missing = False
                fixed.append("" if missing else str(x))
        items = fixed
    if digest is None:
        from ..safetext import escape_surrogates

        h = hashlib.sha256()
        for start in range(0, len(items), 65536):
            chunk = items[start:start + 65536]
            try:
                h.update(("\n".join(chunk) + "\n").encode("utf-8"))
            except UnicodeEncodeError:
                # lone surrogates (e.g. from surrogateescape decoding) cannot be stored or
                # serialised: write them as their visible escape (\ud800), dropping nothing
                for j, x in enumerate(chunk):
                    try:
                        x.encode("utf-8")
                    except UnicodeEncodeError:
                        items[start + j] = escape_surrogates(x)
                        bad += 1
                h.update(("\n".join(items[start:start + 65536]) + "\n").encode("utf-8"))
        digest = h.hexdigest()
    # empty lines are counted from their (blank) keys after mining; long ones only if any
    longest = max(map(len, items), default=0)
    issues = {"empty_lines": 0, "undecodable_lines": bad,
              "long_lines": sum(1 for x in items if len(x) > LONG_LINE)
              if longest > LONG_LINE else 0,
              "crlf_line_ends": 0}
    return _Batch(items, issues=issues, digest=digest)


def _read_frame(frame: pd.DataFrame) -> _Batch:

    if "message" not in frame.columns:
        raise OpsInputError(
            "logs frame has no 'message' column (columns: "
            f"{', '.join(map(str, frame.columns)) or 'none'}); rename the text column to "
            "'message' or load the logs with jupyter_ops.io.load_logs")
    batch = _read_lines(frame["message"].tolist())
    n = len(frame)
    if "timestamp" in frame.columns:
        from ..io._common import to_utc  # the one timestamp parser (epoch numbers as load_logs)

        ts = to_utc(frame["timestamp"], what="logs frame", allow_missing=True)
        batch.ts = ts.dt.tz_localize(None).to_numpy().astype("datetime64[ns]").view(np.int64)
    for col in ("service", "level"):
        if col in frame.columns:
            values = frame[col].astype(object)
            values = values.where(values.notna(), "").astype(str)
            setattr(batch, col, values.to_numpy(dtype=object) if n else
                    np.zeros(0, dtype=object))
    return batch


def _skip_blank(batch: _Batch) -> None:
    """Drop empty and whitespace-only lines (counted in ``issues['empty_lines']``): a blank
    line is no event, and an empty template would only be noise."""
    msgs = batch.messages
    if "" not in msgs and not any(map(str.isspace, msgs)):  # C-level scans: the usual case
        return
    blank = [i for i, m in enumerate(msgs) if not m or m.isspace()]
    batch.issues["empty_lines"] = batch.issues.get("empty_lines", 0) + len(blank)
    if not blank:
        return
    keep = np.ones(len(msgs), bool)
    keep[blank] = False
    batch.messages = [m for m, k in zip(msgs, keep.tolist(), strict=True) if k]
    for col in ("ts", "service", "level"):
        arr = getattr(batch, col)
        if arr is not None:
            setattr(batch, col, np.asarray(arr)[keep])


def _clip(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _extend(old: np.ndarray | None, new: np.ndarray | None, n_old: int, n_new: int,
            fill: Any, dtype: Any) -> np.ndarray | None:
    if old is None and new is None:
        return None
    if old is None:
        old = np.full(n_old, fill, dtype=dtype)
    if new is None:
        new = np.full(n_new, fill, dtype=dtype)
    return np.concatenate([old, np.asarray(new, dtype=dtype)])


def _to_datetime(ns: np.ndarray) -> pd.Series:
    import pandas as pd

    return pd.Series(pd.to_datetime(np.asarray(ns, dtype=np.int64).view("datetime64[ns]"),
                                    utc=True))
