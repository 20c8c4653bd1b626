"""Scale-out adapters: the core's calls on Dask (``pip install jupyter-ops[dask]``).

The public core functions (``drift``, ``profile``, ``check_quality``, ``mine_templates``,
``detect_anomalies``, ``correlate``) hand a Dask DataFrame, or any input with ``engine="dask"``, to the adapters in
this package. Each adapter runs the single-process algorithm per partition (or per group of
series / time slice), sends only partial states between workers and merges them; the result
equals the single-process call (see ``docs/scale.md``). ``forecast`` and ``time_to_breach``
on Dask are :func:`jupyter_ops.scale.forecast` / :func:`jupyter_ops.scale.time_to_breach`.

This module must stay cheap to import: nothing here imports Dask (``is_dask`` looks at the
type's module name only), so the core can ask "is this a Dask object?" for free.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_dask", "is_summary", "forecast", "time_to_breach"]


def is_dask(obj: Any) -> bool:
    """True for a Dask collection (DataFrame, Series, Bag), without importing Dask."""
    mod = type(obj).__module__ or ""
    return mod == "dask" or mod.startswith(("dask.", "dask_expr"))


def is_summary(obj: Any) -> bool:
    """True for a merged partition summary (:class:`jupyter_ops.scale.summary.FrameSummary`)."""
    return type(obj).__name__ == "FrameSummary" and hasattr(obj, "stats_by_col")


def forecast(metrics: Any, horizon: str = "6h", level: float = 0.8, service: str | None = None,
             metric: str | None = None, damped: bool = True, *, client: Any = None,
             progress: bool = False, groups: int | None = None) -> Any:
    """:func:`jupyter_ops.aiops.forecast` with the series spread over a Dask cluster
    (:func:`jupyter_ops.scale.forecasting.forecast_dask`; same result)."""
    from .forecasting import forecast_dask

    return forecast_dask(metrics, horizon, level, service, metric, damped, client=client,
                         progress=progress, groups=groups)


def time_to_breach(metrics: Any, threshold: float, horizon: str = "24h", level: float = 0.8,
                   direction: str = "auto", service: str | None = None,
                   metric: str | None = None, trend_window: str = "2D", *, client: Any = None,
                   progress: bool = False, groups: int | None = None) -> Any:
    """:func:`jupyter_ops.aiops.time_to_breach` with the series spread over a Dask cluster
    (:func:`jupyter_ops.scale.forecasting.time_to_breach_dask`; same result)."""
    from .forecasting import time_to_breach_dask

    return time_to_breach_dask(metrics, threshold, horizon, level, direction, service, metric,
                               trend_window, client=client, progress=progress, groups=groups)
