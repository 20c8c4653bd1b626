"""``correlate`` on Dask: time slices correlated in parallel, cut only where nothing links.

A link between two alerts never spans more than the *horizon*
``H = max(window, similarity_window, flap_gap)``, except a repeat of a source while it is
still firing (before its ``resolved_at``). So the time-sorted alerts are cut only at *quiet
gaps*: a gap longer than ``H`` (the overlap every slice would otherwise need) that no alert's
``resolved_at`` spans. An incident then never crosses a cut, and each slice is correlated by
the public :func:`~jupyter_ops.aiops.correlate` on a worker. Incident ids follow the first
alert in time, so slice ``k``'s ids are offset by the incidents of the slices before it.

Two rules of ``correlate`` look beyond the horizon, and are handled so:

* flapping counts a source's fire/resolve cycles over the whole input: the sources that flap
  overall are found first (:func:`~jupyter_ops.aiops.correlation.source_flags`, cheap), and no
  cut is made inside the time span of a flapping source, so every slice sees all of its
  cycles;
* message-similarity clusters are built over all distinct texts (transitively) and drop the
  names of the services present: a slice can cluster two texts differently from the whole
  input only through texts or service names it does not contain. This only changes
  similarity links; ``result.scale["exact"]`` is True when no such rule is active
  (``similarity=None``), else the result is exact on every scenario tested (see
  ``docs/scale.md``) but not guaranteed.

The alerts must fit on the client (alerts are few next to metrics and logs); the linking work
is spread. Slices are balanced by alert count.
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
    """Positions ``i`` (in time order) where a cut between ``i-1`` and ``i`` is safe.

    ``ts``: sorted int64 ns; ``resolved``: int64 ns per alert (time order, int64 min = none);
    ``blocked``: time spans (ns) that must not be cut (flapping sources).
    """
    n = len(ts)
    if n < 2:
        return np.zeros(0, dtype=np.int64)
    reach = ts.copy()
    if resolved is not None:
        reach = np.maximum(reach, resolved)
    reach = np.maximum.accumulate(reach)  # the latest moment anything so far still links to
    ok = ts[1:] - reach[:-1] > horizon
    cut = np.flatnonzero(ok) + 1
    for lo, hi in blocked:
        inside = (ts[cut] > lo) & (ts[cut - 1] < hi)
        cut = cut[~inside]
    return cut


def _run(part: pd.DataFrame, kwargs: dict[str, Any]) -> Any:
    from ..aiops.correlation import correlate

    c = correlate(part, **kwargs)
    fp = c.alerts["fingerprint"]
    return (c.assignments.to_numpy(dtype="float64", na_value=np.nan), c.incidents, c.dedup,
            set(fp.unique().tolist()),
            set(fp[c.alerts.index.isin(part.index)].unique().tolist()))


def correlate_dask(alerts: Any, *, client: Any = None, progress: bool = False,
                   slices: int | None = None, **kwargs: Any) -> PartitionedCorrelation:
    """:func:`jupyter_ops.aiops.correlate` over time slices on a Dask cluster.

    ``alerts``: a DataFrame or a Dask DataFrame (computed to the client; see module notes).
    ``slices``: target number of time slices (default 4 per worker); fewer when the alerts
    have fewer quiet gaps. Other arguments as :func:`~jupyter_ops.aiops.correlate`.
    """
    from ..aiops._incidents import canonical_alerts, to_ns, to_timedelta
    from ..aiops.correlation import source_flags
    from . import is_dask

    client = get_client(client)
    if is_dask(alerts):
        alerts = compute(alerts, client, progress)
    if kwargs.get("topology") is not None and not isinstance(kwargs["topology"], pd.DataFrame):
        from ..aiops._incidents import canonical_topology

        kwargs["topology"] = canonical_topology(kwargs["topology"])
    df = canonical_alerts(alerts)
    win = to_timedelta(kwargs.get("window", "5min"), "window").value
    sw = kwargs.get("similarity_window")
    sim_win = to_timedelta(sw, "similarity_window").value if sw is not None else 2 * win
    fgap = to_timedelta(kwargs.get("flap_gap", "30min"), "flap_gap").value
    fres = to_timedelta(kwargs.get("flap_resolve", "10min"), "flap_resolve").value
    horizon = max(win, sim_win, fgap, fres)
    ts = to_ns(df["timestamp"])
    order = np.argsort(ts, kind="stable")
    t = ts[order]
    resolved = None
    if "resolved_at" in df.columns:
        r = pd.to_datetime(df["resolved_at"], utc=True, errors="coerce")
        resolved = r.to_numpy(dtype="datetime64[ns]").view(np.int64)[order]
    _, flap = source_flags(df, flap_count=kwargs.get("flap_count", 3),
                           flap_resolve=kwargs.get("flap_resolve", "10min"),
                           flap_gap=kwargs.get("flap_gap", "30min"))
    blocked = []
    if flap.any():
        g = pd.DataFrame({"f": df["fingerprint"].to_numpy()[flap], "t": ts[flap]})
        span = g.groupby("f", sort=False)["t"].agg(["min", "max"])
        blocked = list(zip(span["min"].tolist(), span["max"].tolist(), strict=True))
    cuts = quiet_cuts(t, resolved, horizon, blocked)
    info = cluster_info(client)
    target = slices if slices is not None else 4 * (info.get("workers") or 2)
    if int(target) < 1:
        raise OpsInputError(f"slices must be >= 1, got {slices!r}")
    chosen = _balanced(cuts, len(t), int(target))
    bounds = np.r_[0, chosen, len(t)].astype(np.int64)
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        rows = np.sort(order[lo:hi])  # input order inside the slice
        pieces.append(alerts.iloc[rows] if isinstance(alerts, pd.DataFrame) else df.iloc[rows])
    tasks = [dask.delayed(_run)(p, kwargs) for p in pieces]
    outs = compute(tasks, client, progress)
    ids = np.full(len(df), np.nan)
    incs, offset = [], 0
    sources: set[Any] = set()
    dedup = {k: 0 for k in ("alerts", "exact_duplicates", "repeats", "flapping_alerts",
                            "noise_alerts")}
    flap_src: set[Any] = set()
    rows_meta = []
    for (lo, hi), (a, inc, dd, src, _) in zip(zip(bounds[:-1], bounds[1:], strict=True), outs,
                                             strict=True):
        rows = np.sort(order[lo:hi])
        ids[rows] = np.where(np.isnan(a), np.nan, a + offset)
        inc = inc.copy()
        if len(inc):
            inc["incident_id"] = inc["incident_id"] + offset
        incs.append(inc)
        offset += len(inc)
        sources |= src
        for k in dedup:
            dedup[k] += int(dd.get(k, 0))
        rows_meta.append({"start": pd.Timestamp(t[lo], tz="UTC"),
                          "end": pd.Timestamp(t[hi - 1], tz="UTC"), "alerts": int(hi - lo),
                          "incidents": int(len(inc))})
    if flap.any():
        flap_src = set(df["fingerprint"].to_numpy()[flap].tolist())
    dedup["sources"] = len(sources)
    dedup["flapping_sources"] = len(flap_src)
    nonempty = [i for i in incs if len(i)]
    incidents = pd.concat(nonempty, ignore_index=True) if nonempty else incs[0]
    assign = pd.Series(pd.array(ids, dtype="Float64").astype("Int64"), index=df.index,
                       name="incident_id")
    result = PartitionedCorrelation(incidents, assign, dedup, pd.DataFrame(rows_meta),
                                    dict(kwargs, horizon=str(pd.Timedelta(horizon))))
    result.scale = dict(info, engine="dask", slices=len(pieces), quiet_gaps=int(len(cuts)),
                        exact=kwargs.get("similarity", 0.5) is None or len(pieces) == 1)
    return result


def _balanced(cuts: np.ndarray, n: int, k: int) -> np.ndarray:
    """At most ``k - 1`` of the safe cuts, nearest to equal alert counts."""
    if k <= 1 or not len(cuts):
        return np.zeros(0, dtype=np.int64)
    want = (np.arange(1, k) * n) // k
    idx = np.clip(np.searchsorted(cuts, want), 0, len(cuts) - 1)
    prev = np.clip(idx - 1, 0, len(cuts) - 1)
    pick = np.where(np.abs(cuts[prev] - want) <= np.abs(cuts[idx] - want), cuts[prev], cuts[idx])
    return np.unique(pick)
