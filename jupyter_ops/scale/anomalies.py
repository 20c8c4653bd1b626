"""``detect_anomalies`` on Dask: services spread over workers, the single-process detector per
group, results put back in the single-process order.

The detector is independent per service (a series never reads another service's points; the
IsolationForest method fits one model per service), so a service-complete group gives the
same scores as the whole input. Each input partition is split by a stable hash of the service
name into ``groups`` pieces (rows keep their global position); each group's pieces are
concatenated in partition order (= input order) and scored by
:func:`~jupyter_ops.aiops.detect_anomalies` on one worker. Only a group's rows move to its
worker; the client receives the per-point results and merges them: ``anomalies`` by global
position, ``methods`` by (service, metric), ``episodes`` by onset with ties in (service,
metric) order, as the single-process call orders them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ._dask import as_frame, cluster_info, compute, dask, get_client

__all__ = ["detect_anomalies_dask", "spread"]

_POS = "__jupyter_ops_pos__"


def _split(df: pd.DataFrame, offset: int, groups: int, service_col: str | None,
           service: str | None, metric_col: str | None, metric: str | None) -> list[pd.DataFrame]:
    """One partition cut into ``groups`` pieces by service (global row positions kept)."""
    df = df.assign(**{_POS: np.arange(offset, offset + len(df), dtype=np.int64)})
    if service_col is None:
        return [df] + [df.iloc[:0]] * (groups - 1)
    name = df[service_col].astype(object).where(df[service_col].notna(), "").astype(str)
    keep = np.ones(len(df), dtype=bool)
    if service is not None:
        keep &= (name == service).to_numpy()
    if metric is not None and metric_col is not None:
        m = df[metric_col].astype(object).where(df[metric_col].notna(), "").astype(str)
        keep &= (m == metric).to_numpy()
    df, name = df[keep], name[keep]
    h = pd.util.hash_pandas_object(name, index=False).to_numpy() % np.uint64(groups)
    return [df[h == g] for g in range(groups)]


def _gather(pieces: list[pd.DataFrame]) -> pd.DataFrame | None:
    """A group's pieces from every partition, in partition order (= input order)."""
    part = pd.concat(pieces, ignore_index=True) if pieces else None
    return part if part is not None and len(part) else None


def _score(pieces: list[pd.DataFrame], kwargs: dict[str, Any]) -> Any:
    from ..aiops.anomaly import detect_anomalies

    part = _gather(pieces)
    if part is None:
        return None
    pos = part.pop(_POS).to_numpy()
    res = detect_anomalies(part, **kwargs)
    return pos, res.anomalies, res.episodes, res.methods, res.params


def spread(metrics: Any, task: Any, kwargs: dict[str, Any], *, client: Any, progress: bool,
           groups: int | None, service: str | None, metric: str | None
           ) -> tuple[list[Any], dict[str, Any]]:
    """Run ``task(pieces, kwargs)`` once per service group on the cluster.

    Every partition is cut into ``groups`` pieces by a stable hash of the service name
    (rows keep their global position in ``__jupyter_ops_pos__``), so each task sees whole
    services in input order. Returns the non-empty tasks' outputs and ``result.scale``.
    """
    client = get_client(client)
    ddf = as_frame(metrics, "metrics")
    cols = {c.lower(): c for c in ddf.columns}
    if "timestamp" not in cols or "value" not in cols:
        raise OpsInputError(f"metrics is missing column(s) "
                            f"{', '.join(c for c in ('timestamp', 'value') if c not in cols)}; "
                            f"found {', '.join(ddf.columns) or 'none'}. With Dask, pass a long "
                            "frame: timestamp, service, metric, value")
    info = cluster_info(client)
    if groups is None:
        groups = 2 * (info.get("workers") or 2)
    if int(groups) < 1:
        raise OpsInputError(f"groups must be >= 1, got {groups!r}")
    groups = int(groups)
    parts = ddf.to_delayed()
    lengths = compute([dask.delayed(len)(p) for p in parts], client, False)
    offsets = np.cumsum([0] + list(lengths))[:-1]
    split = [dask.delayed(_split, nout=groups)(p, int(o), groups, cols.get("service"), service,
                                               cols.get("metric"), metric)
             for p, o in zip(parts, offsets, strict=True)]
    tasks = [dask.delayed(task)([s[g] for s in split], kwargs) for g in range(groups)]
    outs = [o for o in compute(tasks, client, progress) if o is not None]
    if not outs:
        what = f"service {service!r}" if service is not None else f"metric {metric!r}" \
            if metric is not None else "the input"
        raise OpsInputError(f"no metrics for {what}")
    return outs, dict(info, engine="dask", partitions=len(parts), groups=groups)


def detect_anomalies_dask(metrics: Any, *, client: Any = None, progress: bool = False,
                          groups: int | None = None, service: str | None = None,
                          metric: str | None = None, **kwargs: Any) -> Any:
    """:func:`jupyter_ops.aiops.detect_anomalies` on a Dask DataFrame (or Parquet/CSV paths).

    ``groups``: number of service groups (tasks); default twice the cluster's workers.
    """
    from ..aiops.anomaly import AnomalyResult, _canonical
    from ..provenance import make_provenance

    outs, scale = spread(metrics, _score, kwargs, client=client, progress=progress,
                         groups=groups, service=service, metric=metric)
    pos = np.concatenate([o[0] for o in outs])
    order = np.argsort(pos, kind="stable")
    anomalies = pd.concat([o[1] for o in outs], ignore_index=True).iloc[order] \
        .reset_index(drop=True)
    episodes = pd.concat([o[2] for o in outs], ignore_index=True)
    episodes = episodes.sort_values(["service", "metric", "onset"], kind="stable")
    methods = pd.concat([o[3] for o in outs], ignore_index=True) \
        .sort_values(["service", "metric"], kind="stable").reset_index(drop=True)
    result = AnomalyResult(anomalies, episodes, methods, outs[0][4])
    result.scale = scale
    canon = _canonical(anomalies[["timestamp", "service", "metric", "value"]])
    result.provenance = make_provenance(
        "detect_anomalies", dict(outs[0][4], service=service, metric=metric),
        inputs={"metrics": canon}, seed=kwargs.get("seed", 0))
    return result
