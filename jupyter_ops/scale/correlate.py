"""``correlate`` on Dask: time slices correlated on the workers, cut only where nothing links.

A link between two alerts never spans more than the *horizon*
``H = max(window, similarity_window, flap_gap, flap_resolve)``, except a repeat of a source
while it is still firing (before its ``resolved_at``). So the time-sorted alerts are cut only
at *quiet gaps*: a gap longer than ``H`` that no earlier alert's ``resolved_at`` spans. An
incident then never crosses a cut, each slice is correlated by the public
:func:`~jupyter_ops.aiops.correlate` on a worker, and incident ids (numbered by first alert)
are offset slice by slice: the assignments equal the single-process call's.

The alerts stay on the workers. Three rounds, each sending only small things to the client:

1. every partition is loaded (the one alert loader, per row) and kept on its worker; the
   client gets its row count and 65 time quantiles, and places ``4 x slices`` time bins;
2. each partition sends (position, time, reach) of its alerts to their time bins (24 bytes
   an alert, worker to worker); a bin returns its *candidate* cuts (gaps longer than ``H``
   after its own earlier alerts), its latest reach and last time. The client keeps a
   candidate when every earlier bin's reach is ``H`` before it too: the bins' edges overlap
   by the running reach, which stitches incidents crossing a bin edge (they have no
   candidate there). At the same time, each partition sends (time, source, resolved_at) to
   source groups, which flag the flapping sources as the single process does (a source's
   cycles are all in its group) and return their time spans: no cut is made inside one;
3. the cuts balancing alert counts are chosen; each partition sends its alerts to their
   slices; a slice returns its incident table and an incident id per alert (with the
   caller's index), which the client puts in input order.

Message-similarity clusters are built over all distinct texts (transitively) and drop the
names of the services present: a slice can cluster two texts differently from the whole
input only through texts or service names it does not contain. This only changes
similarity links; ``result.scale["exact"]`` is True when no such rule is active
(``similarity=None``, or one slice), else the result is exact on every scenario tested
(see ``docs/scale.md``) but not guaranteed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ..results import Result
from ._dask import cluster_info, compute, dask, get_client

__all__ = ["correlate_dask", "PartitionedCorrelation", "quiet_cuts"]


class PartitionedCorrelation(Result):
    """What :func:`correlate_dask` found: the tables of :class:`Correlation` for the whole input.

    Attributes
    ----------
    incidents : DataFrame
        As :attr:`Correlation.incidents` (ids 1..K by first alert).
    assignments : Series
        Incident id per input alert (``Int64``, ``<NA>`` = noise), aligned with the input.
    compression : float
    dedup : dict
    slices : DataFrame
        ``start``, ``end``, ``alerts``, ``incidents`` per time slice.
    params : dict
    """

    kind = "correlation"

    def __init__(self, incidents: pd.DataFrame, assignments: pd.Series, dedup: dict[str, int],
                 slices: pd.DataFrame, params: dict[str, Any]) -> None:
        super().__init__()
        self.incidents = incidents
        self.assignments = assignments
        self.dedup = dedup
        self.slices = slices
        self.params = params
        n = len(assignments)
        self.compression = 1.0 - len(incidents) / n if n else 0.0

    @property
    def title(self) -> str:
        return "Alert correlation (time slices on Dask)"

    def summary(self) -> str:
        return (f"{self.dedup['alerts']:,} alerts -> {len(self.incidents):,} incidents "
                f"({self.compression:.0%} compression) in {len(self.slices)} time slice(s)")

    def figures(self) -> list[dict[str, Any]]:
        return [{"label": "incidents", "value": len(self.incidents)},
                {"label": "alerts", "value": self.dedup["alerts"]},
                {"label": "compression", "value": round(self.compression, 3)},
                {"label": "time slices", "value": len(self.slices)}]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"incidents": self.incidents, "slices": self.slices}


def quiet_cuts(ts: np.ndarray, resolved: np.ndarray | None, horizon: int,
               blocked: list[tuple[int, int]] = ()) -> np.ndarray:
    """Positions ``i`` (in time order) where a cut between ``i-1`` and ``i`` is safe: the
    rule :func:`correlate_dask` applies bin by bin, on one bin.

    ``ts``: sorted int64 ns; ``resolved``: int64 ns per alert (time order, int64 min = none);
    ``blocked``: time spans (ns) that must not be cut (flapping sources).
    """
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) < 2:
        return np.zeros(0, dtype=np.int64)
    reach = ts if resolved is None else np.maximum(ts, resolved)
    one = _bin_summary([(np.arange(len(ts)), ts, reach)], horizon)
    return _quiet_cuts_of_bins([one], horizon, list(blocked))[1]


# -- tasks (run on the workers) -------------------------------------------------------------
def _canon(part: pd.DataFrame) -> pd.DataFrame | None:
    """One partition's alerts through the one loader (row by row; the caller's index kept)."""
    from ..aiops._incidents import canonical_alerts

    return canonical_alerts(part) if len(part) else None


def _times(c: pd.DataFrame | None) -> np.ndarray:
    from ..aiops._incidents import to_ns

    return to_ns(c["timestamp"]) if c is not None else np.zeros(0, dtype=np.int64)


def _reach(c: pd.DataFrame, ts: np.ndarray) -> np.ndarray:
    """Until when each alert can still link: its time, or its ``resolved_at`` if later."""
    from ..aiops._corr_flags import _resolved_ns

    res = _resolved_ns(c, np.arange(len(c)))
    return ts if res is None else np.maximum(ts, res)


def _sample(c: pd.DataFrame | None) -> tuple[int, np.ndarray]:
    """Row count and 65 time quantiles of a partition (to place balanced time bins)."""
    ts = _times(c)
    q = np.quantile(ts, np.linspace(0, 1, 65)).astype(np.int64) if len(ts) else ts
    return len(ts), q


def _by_time(c: pd.DataFrame | None, offset: int, edges: np.ndarray, full: bool) -> list[Any]:
    """A partition cut at the time ``edges``; ``full``: the alerts (with their global
    positions as index, the caller's index alongside), else only time and reach."""
    k = len(edges) + 1
    if c is None:
        return [None] * k
    ts = _times(c)
    where = np.searchsorted(edges, ts, side="right")
    pos = np.arange(offset, offset + len(c), dtype=np.int64)
    out: list[Any] = []
    if full:
        framed = c.set_axis(pd.RangeIndex(offset, offset + len(c)), axis=0)
        for b in range(k):
            m = where == b
            out.append((framed[m], c.index[m]) if m.any() else None)
        return out
    reach = _reach(c, ts)
    for b in range(k):
        m = where == b
        out.append((pos[m], ts[m], reach[m]) if m.any() else None)
    return out


def _bin_summary(pieces: list[Any], horizon: int) -> Any:
    """One time bin's candidate cuts: the alerts (time order) before which no alert of the
    bin still links, with the time of the alert before them and how many alerts precede."""
    pieces = [p for p in pieces if p is not None]
    if not pieces:
        return None
    pos = np.concatenate([p[0] for p in pieces])
    ts = np.concatenate([p[1] for p in pieces])
    reach = np.concatenate([p[2] for p in pieces])
    order = np.lexsort((pos, ts))  # time order, ties in input order
    ts, reach = ts[order], reach[order]
    before = np.maximum.accumulate(reach)
    # the bin's first alert is a candidate too: earlier bins decide (on the client)
    cand = np.r_[0, np.flatnonzero(ts[1:] - before[:-1] > horizon) + 1]
    prev = np.r_[np.iinfo(np.int64).min, ts[:-1]][cand]
    return len(ts), ts[cand], prev, cand, int(before[-1]), int(ts[-1])


def _by_source(c: pd.DataFrame | None, groups: int) -> list[Any]:
    """A partition's (time, fingerprint, resolved_at) cut by a stable hash of the source."""
    if c is None:
        return [None] * groups
    cols = ["timestamp", "fingerprint"] + (["resolved_at"] if "resolved_at" in c else [])
    g = pd.util.hash_pandas_object(c["fingerprint"].astype(str), index=False).to_numpy() \
        % np.uint64(groups)
    sub = c[cols].reset_index(drop=True)
    return [sub[g == k] for k in range(groups)]


def _flapping(pieces: list[Any], flags: dict[str, Any]) -> Any:
    """Per source group: distinct sources, flapping sources and their time spans."""
    from ..aiops.correlation import source_flags

    pieces = [p for p in pieces if p is not None and len(p)]
    if not pieces:
        return 0, 0, []
    df = pd.concat(pieces, ignore_index=True)  # input order: partitions in order
    _, flap = source_flags(df, **flags)
    sources = int(df["fingerprint"].nunique())
    if not flap.any():
        return sources, 0, []
    span = pd.DataFrame({"f": df["fingerprint"].to_numpy()[flap],
                         "t": _times(df)[flap]}).groupby("f", sort=False)["t"].agg(["min", "max"])
    return sources, len(span), list(zip(span["min"].tolist(), span["max"].tolist(),
                                        strict=True))


def _run(pieces: list[Any], kwargs: dict[str, Any]) -> Any:
    """One slice correlated by the single-process ``correlate`` (alerts in input order)."""
    from ..aiops.correlation import correlate

    pieces = [p for p in pieces if p is not None]
    if not pieces:
        return None
    part = pd.concat([p[0] for p in pieces])
    index = pieces[0][1].append([p[1] for p in pieces[1:]]) if len(pieces) > 1 else pieces[0][1]
    order = np.argsort(part.index.to_numpy(), kind="stable")
    part, index = part.iloc[order], index[order]
    c = correlate(part, **kwargs)
    ts = _times(part)
    return (part.index.to_numpy(), index, c.assignments.to_numpy(dtype="float64", na_value=np.nan),
            c.incidents, c.dedup, int(ts.min()), int(ts.max()))


# -- the adapter ------------------------------------------------------------------------------
def correlate_dask(alerts: Any, *, client: Any = None, progress: bool = False,
                   slices: int | None = None, **kwargs: Any) -> PartitionedCorrelation:
    """:func:`jupyter_ops.aiops.correlate` over time slices on a Dask cluster.

    ``alerts``: a Dask DataFrame (or Parquet/CSV paths; the alerts stay on the workers), or
    anything ``correlate`` reads (loaded here, then spread). ``slices``: target number of
    time slices (default 4 per worker); fewer when the alerts have fewer quiet gaps. Other
    arguments as :func:`~jupyter_ops.aiops.correlate`.
    """
    from ..aiops._incidents import canonical_alerts, to_timedelta
    from . import is_dask
    from ._dask import _paths, as_frame

    client = get_client(client)
    info = cluster_info(client)
    workers = info.get("workers") or 2
    target = slices if slices is not None else 4 * workers
    if int(target) < 1:
        raise OpsInputError(f"slices must be >= 1, got {slices!r}")
    target = int(target)
    if kwargs.get("topology") is not None and not isinstance(kwargs["topology"], pd.DataFrame):
        from ..aiops._incidents import canonical_topology

        kwargs["topology"] = canonical_topology(kwargs["topology"])
    win = to_timedelta(kwargs.get("window", "5min"), "window").value
    sw = kwargs.get("similarity_window")
    sim_win = to_timedelta(sw, "similarity_window").value if sw is not None else 2 * win
    fgap = to_timedelta(kwargs.get("flap_gap", "30min"), "flap_gap").value
    fres = to_timedelta(kwargs.get("flap_resolve", "10min"), "flap_resolve").value
    horizon = max(win, sim_win, fgap, fres)
    flags = {"flap_count": kwargs.get("flap_count", 3),
             "flap_resolve": kwargs.get("flap_resolve", "10min"),
             "flap_gap": kwargs.get("flap_gap", "30min")}

    paths = _paths(alerts)
    if is_dask(alerts) or (paths and all(p.endswith((".parquet", ".pq")) for p in paths)):
        ddf = as_frame(alerts, "alerts")  # read and loaded partition by partition
    else:  # in this process already (or a file only the one loader reads): load, spread
        ddf = as_frame(canonical_alerts(alerts), "alerts", npartitions=2 * workers)
    canon = [dask.delayed(_canon)(p) for p in ddf.to_delayed()]
    canon = client.persist(canon) if client is not None else dask.persist(*canon)
    # 1. sizes and time quantiles per partition (small): global positions, balanced time bins
    sizes = compute([dask.delayed(_sample)(c) for c in canon], client, False)
    n = int(sum(k for k, _ in sizes))
    if n == 0:
        raise OpsInputError("the alerts are empty (0 rows in every partition)")
    offsets = np.cumsum([0] + [k for k, _ in sizes])[:-1]
    qs = np.sort(np.concatenate([q for k, q in sizes if k]))
    nbins = 4 * target
    edges = np.unique(qs[np.linspace(0, len(qs) - 1, nbins + 1).astype(int)[1:-1]])
    # 2. per time bin: candidate quiet cuts; per source group: flapping spans (both small)
    tsplit = [dask.delayed(_by_time, nout=len(edges) + 1)(c, int(o), edges, False)
              for c, o in zip(canon, offsets, strict=True)]
    bins = [dask.delayed(_bin_summary)([s[b] for s in tsplit], horizon)
            for b in range(len(edges) + 1)]
    groups = 2 * workers
    fsplit = [dask.delayed(_by_source, nout=groups)(c, groups) for c in canon]
    flap = [dask.delayed(_flapping)([s[g] for s in fsplit], flags) for g in range(groups)]
    found = compute(bins + flap, client, progress)
    bin_sums, flap_sums = found[:len(bins)], found[len(bins):]
    blocked = [span for f in flap_sums for span in f[2]]
    cut_t, cut_n = _quiet_cuts_of_bins([b for b in bin_sums if b is not None], horizon, blocked)
    chosen = _balanced(cut_n, n, target)
    cuts = cut_t[np.searchsorted(cut_n, chosen)]
    # 3. the slices' alerts to their workers, correlated there; ids and tables come back
    ssplit = [dask.delayed(_by_time, nout=len(cuts) + 1)(c, int(o), cuts, True)
              for c, o in zip(canon, offsets, strict=True)]
    tasks = [dask.delayed(_run)([s[k] for s in ssplit], kwargs) for k in range(len(cuts) + 1)]
    outs = [o for o in compute(tasks, client, progress) if o is not None]
    ids = np.full(n, np.nan)
    index_parts, pos_parts = [], []
    incs, offset, rows_meta = [], 0, []
    dedup = {k: 0 for k in ("alerts", "exact_duplicates", "repeats", "flapping_alerts",
                            "noise_alerts")}
    for pos, index, a, inc, dd_, lo, hi in outs:
        ids[pos] = np.where(np.isnan(a), np.nan, a + offset)
        pos_parts.append(pos)
        index_parts.append(index)
        inc = inc.copy()
        if len(inc):
            inc["incident_id"] = inc["incident_id"] + offset
        incs.append(inc)
        offset += len(inc)
        for k in dedup:
            dedup[k] += int(dd_.get(k, 0))
        rows_meta.append({"start": pd.Timestamp(lo, tz="UTC"), "end": pd.Timestamp(hi, tz="UTC"),
                          "alerts": len(pos), "incidents": int(len(inc))})
    dedup["sources"] = int(sum(f[0] for f in flap_sums))
    dedup["flapping_sources"] = int(sum(f[1] for f in flap_sums))
    nonempty = [i for i in incs if len(i)]
    incidents = pd.concat(nonempty, ignore_index=True) if nonempty else incs[0]
    order = np.argsort(np.concatenate(pos_parts), kind="stable")
    index = index_parts[0].append(index_parts[1:]) if len(index_parts) > 1 else index_parts[0]
    assign = pd.Series(pd.array(ids, dtype="Float64").astype("Int64"), index=index[order],
                       name="incident_id")
    result = PartitionedCorrelation(incidents, assign, dedup, pd.DataFrame(rows_meta),
                                    dict(kwargs, horizon=str(pd.Timedelta(horizon))))
    result.scale = dict(info, engine="dask", partitions=len(canon), slices=len(outs),
                        quiet_gaps=int(len(cut_t)), time_bins=len(bin_sums),
                        exact=kwargs.get("similarity", 0.5) is None or len(outs) == 1)
    return result


def _quiet_cuts_of_bins(bins: list[Any], horizon: int, blocked: list[tuple[int, int]]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The safe cuts of the whole stream from the bins' candidates (bins in time order).

    A candidate is safe when nothing before it still links: its bin's earlier alerts (checked
    in the bin) and every earlier bin (their latest reach, carried here); and when it is not
    inside the time span of a flapping source. Returns the cut times and how many alerts
    precede each cut.
    """
    cut_t, cut_n = [], []
    reach, last, seen = np.iinfo(np.int64).min, np.iinfo(np.int64).min, 0
    for count, ts, prev, cand, b_reach, b_last in bins:
        prev = prev.copy()
        if len(cand) and cand[0] == 0:
            prev[0] = last  # the alert before a bin's first: the previous bin's last
        if seen == 0:
            ok = cand > 0  # nothing before the very first alert
        else:
            ok = ts - reach > horizon
        for lo, hi in blocked:
            ok &= ~((ts > lo) & (prev < hi))
        cut_t.append(ts[ok])
        cut_n.append(cand[ok] + seen)
        reach, last, seen = max(reach, b_reach), b_last, seen + count
    if not cut_t:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(cut_t), np.concatenate(cut_n).astype(np.int64)


def _balanced(cuts: np.ndarray, n: int, k: int) -> np.ndarray:
    """At most ``k - 1`` of the safe cuts, nearest to equal alert counts."""
    if k <= 1 or not len(cuts):
        return np.zeros(0, dtype=np.int64)
    want = (np.arange(1, k) * n) // k
    idx = np.clip(np.searchsorted(cuts, want), 0, len(cuts) - 1)
    prev = np.clip(idx - 1, 0, len(cuts) - 1)
    pick = np.where(np.abs(cuts[prev] - want) <= np.abs(cuts[idx] - want), cuts[prev], cuts[idx])
    return np.unique(pick)
