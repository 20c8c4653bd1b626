"""Alert correlation: which alerts belong to the same incident, and why.

``correlate(alerts, window="5min", topology=None, by=None)`` links alerts with explainable
rules and takes the connected groups as incidents:

1. **fingerprint** -- a repeat of the same alert source (same ``fingerprint``) while it is still
   firing (before its ``resolved_at``, or within ``window``) is the same problem; an exact
   duplicate (same fingerprint and time) is counted in ``.dedup``;
2. **topology + time** -- an alert joins the most recent alert on the same service or on a
   service within ``hops`` calls (either direction) of it, if that alert is at most ``window``
   older. Alerts on unrelated services in the same minute stay apart. Without a topology (or
   for services missing from it) time alone links (the previous alert within ``window``);
3. **shared labels** (``by=["team"]``) -- the most recent alert with the same label value
   within ``window``;
4. **message similarity** -- the most recent alert on a neighbouring service whose name and
   message are similar (token Jaccard >= ``similarity``) within ``similarity_window`` (default
   twice ``window``), which bridges short lulls inside one incident. Messages are compared as
   templates: words holding a digit (``1345ms``, ``redis-0``'s ``0``, ids, hex) are masked
   first, vectorised (one RE2 replace over the Arrow buffer), so a million alerts with
   distinct numbers make a handful of distinct texts for the tokeniser.

**No endless chains.** Links are local, so a steady stream of alerts would chain into one
group without end. A linked group lasting longer than ``max_span`` (default 4 hours, far above
the longest incident of the generated scenarios, 38 minutes) is cut into consecutive pieces of
``max_span``; :meth:`Correlation.explain` names the cut.

Links are collected vectorised (sort by time, ``searchsorted`` for "last alert on service Y
before this one" with the queries in runs of one (service, neighbour) pair, a union of the
links with :func:`scipy.sparse.csgraph.connected_components`); the queries run in chunks of
``chunk_size`` alerts so memory stays bounded (figures: ``benchmarks/bench_incidents.py`` and
docs/incidents.md); explanations are built on demand (:meth:`Correlation.explain`).

Noise: flapping alert sources (fire, resolve within ``flap_resolve``, fire again within
``flap_gap``, at least ``flap_count`` times) are left out of linking and marked noise; a group
made of one alert source (one fingerprint) whose highest severity is below ``min_severity``
(default ``error``) is noise too. Everything else is an incident.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._corr_flags import source_flags
from ._corr_link import _check_by, _hashable, _link, _link_args, _settings
from ._corr_result import Correlation, Incident
from ._corr_stream import AlertCorrelator
from ._incidents import canonical_alerts, canonical_topology

__all__ = ["correlate", "Correlation", "Incident", "AlertCorrelator", "source_flags"]


def correlate(
    alerts: Any,
    window: str | pd.Timedelta = "5min",
    topology: Any = None,
    by: str | list[str] | None = None,
    similarity: float | None = 0.5,
    hops: int = 1,
    min_severity: str = "error",
    similarity_window: str | pd.Timedelta | None = None,
    flap_count: int = 3,
    flap_resolve: str | pd.Timedelta = "10min",
    flap_gap: str | pd.Timedelta = "30min",
    chunk_size: int = 20_000,
    max_span: str | pd.Timedelta | None = "4h",
    engine: str | None = None,
    client: Any = None,
    progress: bool = False,
) -> Correlation:
    """Group alerts into incidents (see the module docstring for the rules).

    Parameters
    ----------
    alerts : DataFrame or path
        Canonical alerts (``timestamp``, ``service`` required; ``name``, ``severity``,
        ``message``, ``fingerprint``, ``labels``, ``resolved_at`` used when present).
    window : str or Timedelta
        Longest gap between two linked alerts.
    topology : DataFrame or path, optional
        ``caller``, ``callee`` edges; cycles are fine. Without it, time alone links.
    by : str or list of str, optional
        Label keys (columns, or keys of the ``labels`` dicts) whose shared values link alerts.
    similarity : float or None
        Token-Jaccard threshold of the message-similarity link (None: off).
    hops : int
        How many calls apart two services may be and still link (1 = direct neighbours).
    min_severity : str
        Groups of a single alert source below this severity are noise.
    similarity_window : str, optional
        Longest gap of a similarity link (default ``2 * window``).
    flap_count, flap_resolve, flap_gap
        Flapping detection (needs ``resolved_at``); ``flap_count=0`` turns it off.
    max_span : str, Timedelta or None
        Longest incident: a linked group lasting longer is cut into consecutive pieces of
        ``max_span`` (links are local, so a steady stream would otherwise chain into one
        incident without end; :meth:`Correlation.explain` says where a cut was made). None:
        no cap.
    chunk_size : int
        Alerts per vectorised batch (bounds memory; batches whose temporaries stay in the CPU
        cache are faster than big ones: 20,000 is ~15% faster than 200,000 at 1M alerts).
    engine, client, progress
        ``engine="dask"`` (implied by a Dask DataFrame): correlate time slices cut at quiet
        gaps on a Dask cluster (see ``docs/scale.md``; returns a ``PartitionedCorrelation``).

    Returns
    -------
    Correlation
        ``.incidents``, ``.assignments``, ``.compression``, ``.dedup``, ``.explain(id)``.

    Examples
    --------
    >>> from jupyter_ops.datasets import incident_scenario
    >>> s = incident_scenario(seed=0)
    >>> c = correlate(s.alerts, topology=s.topology)
    >>> len(c.incidents) >= 5
    True
    """
    from ..provenance import make_provenance
    from ..scale import is_dask

    if engine is not None or is_dask(alerts):  # Dask: jupyter_ops.scale.correlate
        from ..scale.correlate import correlate_dask

        return correlate_dask(alerts, client=client, progress=progress, window=window,
                              topology=topology, by=by, similarity=similarity, hops=hops,
                              min_severity=min_severity, similarity_window=similarity_window,
                              flap_count=flap_count, flap_resolve=flap_resolve,
                              flap_gap=flap_gap, chunk_size=chunk_size, max_span=max_span)
    cfg = _settings(window, by, similarity, hops, min_severity, similarity_window, flap_count,
                    flap_resolve, flap_gap, chunk_size, max_span)
    df = canonical_alerts(alerts)
    topo = canonical_topology(topology)
    _check_by(df, cfg["by"])
    state = _link(df, topo, **_link_args(cfg))
    params = dict(cfg["params"], topology=topo is not None)
    result = Correlation(df, topo, state, params)
    # hashed now, not on first read: provenance must describe the input as it was at call time
    result.provenance = make_provenance(
        "correlate", params, inputs={"alerts": _hashable(df, state.codes), "topology": topo})
    return result
