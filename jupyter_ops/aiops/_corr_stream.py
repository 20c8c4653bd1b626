"""Streaming alert correlation: :class:`AlertCorrelator` feeds chunks through the linking
engine and merges the linked groups."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ._corr_link import (
    _check_by,
    _decide,
    _hashable,
    _link,
    _link_args,
    _settings,
    _State,
    cap_span,
)
from ._corr_result import Correlation
from ._incidents import (
    SEVERITY_RANK,
    Graph,
    canonical_alerts,
    canonical_topology,
    to_ns,
    to_timedelta,
)


class AlertCorrelator:
    """Streaming correlation: feed alerts chunk by chunk (in time order), get one result.

    The state carried between chunks is the union of linked groups (as edges between global
    alert numbers), the explanation of each alert, flapping flags, and a *tail* of the most
    recent alerts (``horizon``, default: long enough for the window, the similarity window and
    a flapping cycle) that the next chunk can link to. Links that need an alert older than the
    horizon (a source still firing for hours) are not made, so a stream can differ slightly
    from one :func:`correlate` call over everything.

    Parameters are those of :func:`correlate`, plus ``topology`` and ``horizon``.

    Examples
    --------
    >>> ac = AlertCorrelator(topology=topo)          # doctest: +SKIP
    >>> for chunk in chunks: ac.update(chunk)        # doctest: +SKIP
    >>> corr = ac.result()                           # doctest: +SKIP
    """

    def __init__(self, window: Any = "5min", topology: Any = None, by: Any = None,
                 similarity: float | None = 0.5, hops: int = 1, min_severity: str = "error",
                 similarity_window: Any = None, flap_count: int = 3,
                 flap_resolve: Any = "10min", flap_gap: Any = "30min",
                 chunk_size: int = 20_000, horizon: Any = None,
                 max_span: Any = "4h") -> None:
        self.cfg = _settings(window, by, similarity, hops, min_severity, similarity_window,
                             flap_count, flap_resolve, flap_gap, chunk_size, max_span)
        self.topology = canonical_topology(topology)
        flap_span = max(1, flap_count) * (self.cfg["flap_resolve"] + self.cfg["flap_gap"])
        self.horizon = to_timedelta(horizon, "horizon") if horizon is not None else max(
            2 * self.cfg["win"], self.cfg["sim_win"], flap_span)
        self._frames: list[pd.DataFrame] = []
        self._n = 0
        self._edges: list[tuple[np.ndarray, np.ndarray]] = []
        self._parent: list[np.ndarray] = []
        self._reason: list[np.ndarray] = []
        self._aux: list[np.ndarray] = []
        self._dup: list[np.ndarray] = []
        self._flap = np.zeros(0, dtype=bool)
        self._tail: pd.DataFrame | None = None  # canonical rows + "_gid"
        self._last_ts: pd.Timestamp | None = None

    def update(self, alerts: Any) -> AlertCorrelator:
        """Add the next chunk of alerts (not older than the previous chunk's tail)."""
        df = canonical_alerts(alerts)
        _check_by(df, self.cfg["by"])
        if self._last_ts is not None and df["timestamp"].min() < self._last_ts - self.horizon:
            raise OpsInputError(
                f"chunks must arrive in time order: this chunk starts at "
                f"{df['timestamp'].min()}, more than the horizon ({self.horizon}) before the "
                f"last alert seen ({self._last_ts})")
        gid = np.arange(self._n, self._n + len(df), dtype=np.int64)
        self._frames.append(df)
        self._n += len(df)
        new = df.assign(_gid=gid)
        both = new if self._tail is None else pd.concat([self._tail, new], ignore_index=True)
        st = _link(both.drop(columns="_gid"), self.topology, **_link_args(self.cfg))
        g = both["_gid"].to_numpy()
        # every member joins the first member of its linked group
        first = pd.Series(g).groupby(st.raw).transform("first").to_numpy()
        self._edges.append((g, first))
        is_new = g >= gid[0] if len(gid) else np.zeros(len(g), dtype=bool)
        p = st.parent[is_new]
        self._parent.append(np.where(p >= 0, g[np.maximum(p, 0)], -1))
        self._reason.append(st.reason[is_new])
        self._aux.append(st.aux[is_new])
        self._dup.append(st.duplicate[is_new])
        self._flap = np.concatenate([self._flap, np.zeros(len(df), dtype=bool)])
        self._flap[g[st.flapping]] = True
        last = both["timestamp"].max()
        self._last_ts = last if self._last_ts is None else max(self._last_ts, last)
        self._tail = both[both["timestamp"] >= self._last_ts - self.horizon]
        return self

    def result(self) -> Correlation:
        """The correlation of everything seen so far."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        from ..provenance import make_provenance

        if not self._frames:
            raise OpsInputError("no alerts yet: call update(chunk) first")
        df = pd.concat(self._frames)
        if not df.index.is_unique:  # e.g. every chunk numbered from 0
            df = df.reset_index(drop=True)
        n = self._n
        ea = np.concatenate([a for a, _ in self._edges])
        eb = np.concatenate([b for _, b in self._edges])
        _, raw = connected_components(coo_matrix((np.ones(len(ea), np.int8), (ea, eb)),
                                                 shape=(n, n)), directed=False)
        linked = raw
        raw = cap_span(linked, to_ns(df["timestamp"]), self.cfg["max_span"])
        sev_c, sev_u = pd.factorize(df["severity"])
        sev = np.array([SEVERITY_RANK.get(str(u), 0) for u in sev_u], dtype=np.int8)[sev_c]
        f = pd.factorize(df["fingerprint"])[0].astype(np.int64)
        comp = _decide(raw, f, sev, self._flap, to_ns(df["timestamp"]),
                       SEVERITY_RANK[self.cfg["min_severity"]])
        graph = Graph(self.topology, list(pd.unique(df["service"])))
        state = _State(comp, np.concatenate(self._parent), np.concatenate(self._reason),
                       np.concatenate(self._aux), self._flap.copy(), np.concatenate(self._dup),
                       graph, np.full(n, -1, dtype=np.int64), self.cfg["by"], raw,
                       linked=None if linked is raw else linked)
        params = dict(self.cfg["params"], topology=self.topology is not None,
                      streaming=True, horizon=str(self.horizon), chunks=len(self._frames))
        result = Correlation(df, self.topology, state, params)
        topo = self.topology
        result.provenance = make_provenance(
            "AlertCorrelator", params, inputs={"alerts": _hashable(df), "topology": topo})
        return result
