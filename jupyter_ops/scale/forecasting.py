"""``forecast`` and ``time_to_breach`` on Dask: series spread over workers.

Each series (one service x metric) is forecast from its own points only, so, as for
``detect_anomalies`` (:func:`jupyter_ops.scale.anomalies.spread`), every partition is cut
into service groups by a stable hash, a group's pieces meet on one worker in input order and
the public single-process :func:`~jupyter_ops.aiops.forecast` (or ``time_to_breach``) runs on
them. Only a group's rows move, once; the client receives the forecasts (``horizon`` steps
per series), the model table and the binned history (at most 200 bins per series), and puts
them in the single-process order: series sorted by (service, metric), steps in time order.

The input hash in ``provenance`` is a hash of the groups' input hashes (in the order of
their first series), not the single-process hash of the whole frame, which would need every
row on the client.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from .anomalies import _POS, _gather, spread

__all__ = ["forecast_dask", "time_to_breach_dask"]

_KEY = ["service", "metric"]


def _run(pieces: list[pd.DataFrame], kwargs: dict[str, Any]) -> Any:
    from ..aiops import forecasting

    part = _gather(pieces)
    if part is None:
        return None
    kw = dict(kwargs)  # the local threaded scheduler shares one dict between tasks
    call = kw.pop("__call__")
    res = getattr(forecasting, call)(part.drop(columns=_POS), **kw)
    return res.forecasts, res.models, res.history, res.breaches, \
        res.provenance["inputs"].get("metrics", ""), res.params


def _dask(call: str, metrics: Any, params: dict[str, Any], *, client: Any, progress: bool,
          groups: int | None, engine: str | None) -> Any:
    from ..aiops.anomaly import _duration
    from ..aiops.forecasting import ForecastResult, _check_level
    from ..provenance import make_provenance
    from .drift import _check_engine

    _check_engine(engine)
    _duration(params["horizon"], "horizon")  # bad arguments fail here, not once per group
    _check_level(params["level"])
    outs, scale = spread(metrics, _run, dict(params, __call__=call), client=client,
                         progress=progress, groups=groups, service=params["service"],
                         metric=params["metric"])
    outs.sort(key=lambda o: tuple(o[1][_KEY].iloc[0]))  # groups by their first series

    def cat(i: int) -> pd.DataFrame:
        frames = [o[i] for o in outs]
        return pd.concat(frames, ignore_index=True).sort_values(_KEY, kind="stable") \
            .reset_index(drop=True)

    breaches = cat(3) if outs[0][3] is not None else None
    result = ForecastResult(cat(0), cat(1), cat(2), outs[0][5], breaches=breaches)
    result.scale = scale
    digest = hashlib.sha256("".join(o[4] for o in outs).encode()).hexdigest()
    result.provenance = make_provenance(call, dict(params, groups=scale["groups"]),
                                        inputs={"metrics": digest})
    return result


def forecast_dask(metrics: Any, horizon: str = "6h", level: float = 0.8,
                  service: str | None = None, metric: str | None = None, damped: bool = True,
                  *, engine: str | None = "dask", client: Any = None, progress: bool = False,
                  groups: int | None = None) -> Any:
    """:func:`jupyter_ops.aiops.forecast` on a Dask DataFrame (or Parquet/CSV paths).

    Same arguments and result (``.forecasts``, ``.models``, ``.history``); ``client``: a
    ``distributed.Client`` or scheduler address; ``groups``: service groups (tasks), default
    twice the workers; ``progress``: a progress bar.
    """
    params = dict(horizon=str(horizon), level=level, service=service, metric=metric,
                  damped=damped)
    return _dask("forecast", metrics, params, client=client, progress=progress, groups=groups,
                 engine=engine)


def time_to_breach_dask(metrics: Any, threshold: float, horizon: str = "24h",
                        level: float = 0.8, direction: str = "auto",
                        service: str | None = None, metric: str | None = None,
                        trend_window: str = "2D", *, engine: str | None = "dask",
                        client: Any = None, progress: bool = False,
                        groups: int | None = None) -> Any:
    """:func:`jupyter_ops.aiops.time_to_breach` on a Dask DataFrame (or Parquet/CSV paths);
    arguments as :func:`forecast_dask` plus those of ``time_to_breach``."""
    params = dict(threshold=threshold, horizon=str(horizon), level=level, direction=direction,
                  service=service, metric=metric, trend_window=str(trend_window))
    return _dask("time_to_breach", metrics, params, client=client, progress=progress,
                 groups=groups, engine=engine)
