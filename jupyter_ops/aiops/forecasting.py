"""Metric forecasts and time to breach: ``forecast`` and ``time_to_breach``.

Per series (one ``service`` x ``metric``, each independent of the others):

1. **regularise** -- samples are put on the series' own median sampling interval (duplicate
   timestamps averaged, gaps interpolated linearly, non-finite values dropped);
2. **season** -- a daily or weekly season is used when the history holds at least two of them
   and the autocorrelation at that lag is >= :data:`SEASON_ACF`;
3. **model** -- statsmodels' ETS (additive error, additive damped trend) on the series, or
   on its seasonally adjusted part through STL (``STLForecast``) when a season was found. Point
   forecasts and prediction intervals come from the fitted model;
4. **breach** (``time_to_breach``) -- the first forecast step whose point forecast crosses the
   threshold is the expected breach; the steps where the interval's near and far bound cross
   give the interval of the breach time; the chance of a breach is the largest per-step
   probability of being beyond the threshold (Gaussian, from the interval width).

statsmodels is imported on first use only (``%load_ext jupyter_ops`` does not pay for it).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from ..errors import OpsInputError
from ..results import Result
from .anomaly import _duration, _fraction  # the one parser of durations and fractions

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = ["forecast", "time_to_breach", "ForecastResult"]

#: autocorrelation at the seasonal lag from which a season is modelled
SEASON_ACF = 0.3
#: most points of history a model is fitted on (the most recent ones)
MAX_POINTS = 3000
#: fewest points a series needs for a forecast
MIN_POINTS = 10
#: rolling origins the interval calibration holds out (see ``_interval_scale``)
CAL_ORIGINS = 5
#: seasons tried, longest first
SEASONS = (("weekly", "7D"), ("daily", "1D"))

FORECAST_COLUMNS = ["service", "metric", "timestamp", "forecast", "lower", "upper"]
MODEL_COLUMNS = ["service", "metric", "model", "season", "period", "step", "points",
                 "last_timestamp", "last_value", "trend_per_hour", "note"]
BREACH_COLUMNS = ["service", "metric", "threshold", "direction", "status", "will_breach",
                  "eta", "eta_hours", "eta_low_hours", "eta_high_hours", "probability",
                  "trend_per_hour", "last_value", "explanation"]


# ---------------------------------------------------------------------------------------
# per series
# ---------------------------------------------------------------------------------------
def _regular(part: pd.DataFrame) -> tuple[pd.Series, pd.Timedelta, str]:
    """The series on its median step (duplicates averaged, gaps interpolated) and a note."""
    import numpy as np
    import pandas as pd

    v = part[["timestamp", "value"]]
    v = v[np.isfinite(v["value"].to_numpy(dtype=float))]
    notes = []
    if len(v) < len(part):
        notes.append(f"{len(part) - len(v)} missing/non-finite value(s) dropped")
    s = v.groupby("timestamp")["value"].mean().sort_index()
    if len(s) < len(v):
        notes.append(f"{len(v) - len(s)} duplicate timestamp(s) averaged")
    if len(s) < 2:
        raise OpsInputError("needs at least 2 distinct timestamps with values")
    step = s.index.to_series().diff().dropna().median()
    grid = pd.date_range(s.index[0].floor("s"), s.index[-1], freq=step)
    if len(grid) > 4 * len(s) + 10:
        raise OpsInputError(f"sampling is too irregular to forecast: {len(s)} samples would "
                            f"span {len(grid)} steps of {step}; resample it first")
    # each sample to its nearest grid step (averaged if several), empty steps interpolated
    pos = np.rint((s.index - grid[0]) / step).astype(int)
    reg = pd.Series(s.to_numpy()).groupby(pos).mean().reindex(range(len(grid)))
    gaps = int(reg.isna().sum())
    if gaps:
        notes.append(f"{gaps} missing step(s) interpolated")
    reg = reg.interpolate(limit_direction="both")
    reg.index = grid
    return reg, step, "; ".join(notes)


def _season(y: np.ndarray, step: pd.Timedelta) -> tuple[str, int, float]:
    """``(name, period, acf)`` of the season to model, or ``("none", 0, acf)``."""
    import pandas as pd

    from ._detectors import daily_autocorrelation

    best = ("none", 0, 0.0)
    for name, span in SEASONS:
        p = int(round(pd.Timedelta(span) / step))
        if p < 4 or len(y) < 2 * p:
            continue
        # around a centred moving average of one period: a trend alone is no season
        detr = y - pd.Series(y).rolling(p, center=True, min_periods=p // 2).mean().to_numpy()
        acf = daily_autocorrelation(detr, p)
        if acf >= SEASON_ACF and acf > best[2]:
            best = (name, p, acf)
    return best


def _predict(vals: np.ndarray, h: int, period: int, kw: dict, alpha: float,
             start: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Mean, lower, upper of ``h`` steps from a model fitted on ``vals``, and the fitted
    parameters (``start``: where the optimiser starts, e.g. a fit on more of the data)."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    endog = pd.Series(vals)  # statsmodels 0.15 wants a pandas index for predictions
    fit_kw: dict[str, Any] = dict(disp=False)
    if start is not None:
        fit_kw["start_params"] = start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the optimiser
        if period:
            from statsmodels.tsa.forecasting.stl import STLForecast

            jump = max(1, period // 50)  # loess evaluated every jump points: 10x faster
            res = STLForecast(endog, ETSModel, model_kwargs=kw, period=period,
                              seasonal_jump=jump, trend_jump=jump, low_pass_jump=jump
                              ).fit(fit_kwargs=fit_kw)
            params = res.model_result.params
        else:
            res = ETSModel(endog, **kw).fit(**fit_kw)
            params = res.params
        fr = res.get_prediction(start=len(vals), end=len(vals) + h - 1).summary_frame(
            alpha=alpha)
    lo = fr["pi_lower"] if "pi_lower" in fr else fr["mean_ci_lower"]
    hi = fr["pi_upper"] if "pi_upper" in fr else fr["mean_ci_upper"]
    return (fr["mean"].to_numpy(dtype=float), lo.to_numpy(dtype=float),
            hi.to_numpy(dtype=float), params)


def _interval_scale(vals: np.ndarray, h: int, period: int, kw: dict, alpha: float,
                    start: Any = None) -> float:
    """How much to widen (or narrow) the model's intervals so they hold on held-out data.

    The model's intervals assume it is right (STL's season is taken as known, ETS's
    parameters as exact), so they come out too narrow. Rolling origin: refit without the
    last ``k``, ``2k``, ... points (:data:`CAL_ORIGINS` origins), forecast the ``k`` points
    after each origin and compare the errors with the predicted spread; the ``1 - alpha``
    quantile of the pooled ``|error| / half-width`` is the factor (split-conformal with a
    normalised score, clipped to [0.5, 4]; 1 when the series is too short to hold anything
    out). Several origins: one held-out stretch is a handful of correlated errors, and its
    quantile swings with whatever happened in it.
    """
    import numpy as np

    k = min(h, len(vals) // 5)
    ratios = []
    for r in range(1, CAL_ORIGINS + 1):
        cut = len(vals) - r * k
        if k < 5 or cut < max(2 * period, 2 * MIN_POINTS):
            break
        # the optimiser starts from the full fit's parameters: the same model, a few
        # iterations instead of a search from scratch
        mean, lo, hi, _ = _predict(vals[:cut], k, period, kw, alpha, start)
        half = np.maximum((hi - lo) / 2, 1e-12)
        ratios.append(np.abs(vals[cut:cut + k] - mean) / half)
    if not ratios:
        return 1.0
    return float(np.clip(np.quantile(np.concatenate(ratios), 1 - alpha), 0.5, 4.0))


def _fit_one(y: pd.Series, h: int, step: pd.Timedelta, level: float, damped: bool
             ) -> tuple[Any, Any, Any, str, str, int, int]:
    """Fit one series: ``(mean, lower, upper, model, season, period, points used)``."""
    import numpy as np

    vals = y.to_numpy(dtype=float)[-MAX_POINTS:]
    alpha = 1.0 - level
    if np.nanstd(vals) == 0:
        c = np.full(h, vals[-1])
        return c, c.copy(), c.copy(), "constant", "none", 0, len(vals)
    season, period, _ = _season(vals, step)
    if period:
        # four seasons are plenty for STL and keep the fit fast
        vals = vals[-max(4 * period, 500):]
    trend = len(vals) >= 2 * MIN_POINTS
    kw = dict(error="add", trend="add" if trend else None,
              damped_trend=bool(damped and trend))
    mean, lo, hi, params = _predict(vals, h, period, kw, alpha)
    scale = _interval_scale(vals, h, period, kw, alpha, params)
    half_lo, half_hi = (mean - lo) * scale, (hi - mean) * scale
    model = ("STL + ETS" if period else "ETS") + (
        " (damped trend)" if kw["damped_trend"] else " (trend)" if trend else " (level)")
    return mean, mean - half_lo, mean + half_hi, model, season, period, len(vals)


def _trend_per_hour(y: pd.Series, span: pd.Timedelta) -> tuple[float, pd.Timedelta]:
    """Least-squares slope (units per hour) over the last ``span`` of the series."""
    import numpy as np

    recent = y[y.index >= y.index[-1] - span]
    if len(recent) < 3:
        return 0.0, span
    t = (recent.index - recent.index[0]).total_seconds().to_numpy() / 3600.0
    slope = float(np.polyfit(t, recent.to_numpy(dtype=float), 1)[0])
    return slope, recent.index[-1] - recent.index[0]


# ---------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------
class ForecastResult(Result):
    """Forecasts of metric series, and (from :func:`time_to_breach`) when they cross a line.

    Attributes
    ----------
    forecasts : DataFrame
        ``service``, ``metric``, ``timestamp`` (UTC, future steps), ``forecast``, ``lower``,
        ``upper`` (the ``level`` prediction interval).
    models : DataFrame
        Per series: ``model``, ``season`` (none/daily/weekly), ``period`` (points), ``step``,
        ``points`` (history used), ``last_timestamp``, ``last_value``, ``trend_per_hour``,
        ``note`` (what was cleaned: duplicates, gaps).
    history : DataFrame
        The recent history per series, aggregated to at most :data:`CHART_BINS` bins
        (``time``, ``lo``, ``hi``, ``mean``), for the chart.
    breaches : DataFrame or None
        From :func:`time_to_breach`: per series ``threshold``, ``direction``, ``status``
        (``breached`` / ``will breach`` / ``no breach``), ``will_breach``, ``eta``,
        ``eta_hours`` and its interval ``eta_low_hours``-``eta_high_hours`` (NaN: not within
        the horizon), ``probability``, ``trend_per_hour``, ``last_value``, ``explanation``.
    params : dict
        The configuration.
    """

    kind = "forecast"

    def __init__(self, forecasts: pd.DataFrame, models: pd.DataFrame, history: pd.DataFrame,
                 params: dict[str, Any], breaches: pd.DataFrame | None = None) -> None:
        super().__init__()
        self.forecasts = forecasts
        self.models = models
        self.history = history
        self.params = params
        self.breaches = breaches

    @property
    def title(self) -> str:
        return "Time to breach" if self.breaches is not None else "Metric forecast"

    @property
    def breaching(self) -> pd.DataFrame:
        """Series predicted to breach within the horizon (or already beyond the line)."""
        import pandas as pd

        if self.breaches is None:
            return pd.DataFrame(columns=BREACH_COLUMNS)
        return self.breaches[self.breaches["will_breach"]]

    def summary(self) -> str:
        n = len(self.models)
        base = f"{n} series forecast {self.params['horizon']} ahead"
        if self.breaches is None:
            return base
        b = self.breaching
        if not len(b):
            return base + f"; none crosses {self.params.get('threshold')} within the horizon"
        return base + f"; {len(b)} breach(es): " + " | ".join(b["explanation"].head(3))

    def figures(self) -> list[dict[str, Any]]:
        out = [{"label": "series", "value": len(self.models)},
               {"label": "horizon", "value": str(self.params["horizon"])},
               {"label": "interval", "value": f"{self.params['level']:.0%}"}]
        if self.breaches is not None:
            nb = int(self.breaches["will_breach"].sum())
            out.append({"label": "breaches", "value": nb, "status": "warn" if nb else "ok"})
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        t = {}
        if self.breaches is not None:
            t["breaches"] = self.breaches
        t["models"] = self.models
        t["forecasts"] = self.forecasts
        return t

    def explanations(self) -> list[tuple[str, str]]:
        p = self.params
        lines = [
            "Each series is put on its median sampling interval (duplicates averaged, gaps "
            "interpolated); a daily or weekly season is modelled (STL) when two of them are in "
            f"the history and their autocorrelation is >= {SEASON_ACF}; the rest is an ETS "
            f"model (statsmodels) with an additive damped trend. Intervals: {p['level']:.0%}.",
        ]
        if self.breaches is not None:
            lines.append("A breach is expected at the first step whose point forecast crosses "
                         "the threshold; its interval runs from the step where the near "
                         "interval bound crosses to the step where the far bound does; the "
                         "probability is the largest per-step chance of being beyond it.")
            lines.extend(self.breaches["explanation"].head(20))
        for r in self.models.head(20).itertuples():
            lines.append(f"{r.service}/{r.metric}: {r.model}, season {r.season}"
                         + (f" ({r.note})" if r.note else ""))
        return [("How the forecast was made", "\n".join(lines))]

    def charts(self) -> dict[str, Any]:
        import altair as alt
        import pandas as pd

        if self.history.empty and self.forecasts.empty:
            return {}
        keep = list(self.models.apply(lambda r: f"{r['service']}/{r['metric']}", axis=1)
                    .head(CHART_SERIES)) if len(self.models) else []
        if self.breaches is not None and len(self.breaches):
            b = self.breaches.sort_values("will_breach", ascending=False, kind="stable")
            keep = list((b["service"] + "/" + b["metric"]).head(CHART_SERIES))
        hist = self.history.assign(series=self.history["service"] + "/" +
                                   self.history["metric"])
        fc = _bin_forecast(self.forecasts)
        fc = fc.assign(series=fc["service"] + "/" + fc["metric"])
        data = pd.concat([
            hist[hist["series"].isin(keep)][["series", "time", "mean"]].assign(kind="history"),
            fc[fc["series"].isin(keep)][["series", "time", "forecast", "lower", "upper"]]
            .assign(kind="forecast"),
        ], ignore_index=True)
        base = alt.Chart().encode(x=alt.X("time:T", title="time"))
        line = base.transform_filter(alt.datum.kind == "history").mark_line().encode(
            y=alt.Y("mean:Q", title="value"))
        band = base.transform_filter(alt.datum.kind == "forecast").mark_area(
            opacity=0.3, color="orange").encode(y="lower:Q", y2="upper:Q")
        pred = base.transform_filter(alt.datum.kind == "forecast").mark_line(
            color="orange", strokeDash=[4, 2]).encode(
            y="forecast:Q", tooltip=["series:N", "time:T", "forecast:Q", "lower:Q",
                                     "upper:Q"])
        layers = [band, line, pred]
        if self.breaches is not None and "threshold" in self.params:
            rule = alt.Chart().mark_rule(color="red").encode(
                y=alt.datum(float(self.params["threshold"])))
            layers.append(rule)
        chart = alt.layer(*layers, data=data).properties(width=600, height=120).facet(
            row=alt.Row("series:N", title=None)).resolve_scale(y="independent")
        return {"forecast": chart}


#: bins of history / forecast per series in the chart
CHART_BINS = 200
#: series drawn in the chart
CHART_SERIES = 6


def _bin_forecast(fc: pd.DataFrame, bins: int = CHART_BINS) -> pd.DataFrame:
    """At most ``bins`` rows per series (mean forecast, widest interval per bin)."""
    if fc.empty:
        return fc.assign(time=fc["timestamp"])
    out = []
    for (s, m), g in fc.groupby(["service", "metric"], sort=False):
        k = max(1, math.ceil(len(g) / bins))
        b = g.reset_index(drop=True).groupby(lambda i, k=k: i // k)
        out.append(b.agg(time=("timestamp", "first"), forecast=("forecast", "mean"),
                         lower=("lower", "min"), upper=("upper", "max"))
                   .assign(service=s, metric=m))
    import pandas as pd

    return pd.concat(out, ignore_index=True)


def _bin_history(y: pd.Series, service: str, metric: str, bins: int = CHART_BINS
                 ) -> pd.DataFrame:
    import pandas as pd

    k = max(1, math.ceil(len(y) / bins))
    g = pd.DataFrame({"t": y.index, "v": y.to_numpy()}).groupby(lambda i: i // k)
    agg = g.agg(time=("t", "first"), lo=("v", "min"), hi=("v", "max"), mean=("v", "mean"))
    return agg.assign(service=service, metric=metric).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------
def _series(metrics: Any, service: str | None, metric: str | None) -> pd.DataFrame:
    from .anomaly import _canonical, _select

    df = _select(_canonical(metrics), service, metric)
    if df.empty:
        raise OpsInputError("metrics are empty: nothing to forecast")
    return df


def _run(df: pd.DataFrame, horizon: pd.Timedelta, level: float, damped: bool,
         trend_span: pd.Timedelta) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    import numpy as np
    import pandas as pd

    fcs, models, hists, series = [], [], [], {}
    for (svc, met), part in df.groupby(["service", "metric"], sort=True):
        name = f"{svc}/{met}"
        try:
            y, step, note = _regular(part)
        except OpsInputError as e:
            raise OpsInputError(f"{name}: {e}") from None
        if horizon < step:
            raise OpsInputError(
                f"{name}: horizon {horizon} is shorter than the sampling interval {step}: "
                "nothing to forecast; use a horizon of at least one interval")
        if len(y) < MIN_POINTS:
            raise OpsInputError(f"{name}: {len(y)} points are too few to forecast (need at "
                                f"least {MIN_POINTS})")
        h = int(horizon // step)
        mean, lo, hi, model, season, period, n_used = _fit_one(y, h, step, level, damped)
        ts = y.index[-1] + step * np.arange(1, h + 1)
        fcs.append(pd.DataFrame({"service": svc, "metric": met, "timestamp": ts,
                                 "forecast": mean, "lower": lo, "upper": hi}))
        slope, span = _trend_per_hour(y, trend_span)
        models.append(dict(service=svc, metric=met, model=model, season=season,
                           period=period, step=str(step), points=n_used,
                           last_timestamp=y.index[-1], last_value=float(y.iloc[-1]),
                           trend_per_hour=slope, note=note))
        hists.append(_bin_history(y.iloc[-max(4 * h, 2 * period, 200):], svc, met))
        series[(svc, met)] = (y, span)
    fc = pd.concat(fcs, ignore_index=True)[FORECAST_COLUMNS]
    return fc, pd.DataFrame(models, columns=MODEL_COLUMNS), pd.concat(hists, ignore_index=True), \
        series


def forecast(metrics: Any, horizon: str = "6h", level: float = 0.8,
             service: str | None = None, metric: str | None = None, damped: bool = True,
             engine: str | None = None, client: Any = None, progress: bool = False
             ) -> ForecastResult:
    """Forecast each metric series ``horizon`` ahead with prediction intervals.

    Parameters
    ----------
    metrics : DataFrame or path
        Anything :func:`jupyter_ops.io.load_metrics` reads (long ``timestamp, service,
        metric, value``; a ``timestamp, value`` frame is one series; files; Prometheus JSON).
    horizon : str
        How far ahead, a duration (``"6h"``); at least one sampling interval of each series.
    level : float
        Coverage of the prediction interval, in (0, 1) (default 0.8).
    service, metric : str, optional
        Only these series.
    damped : bool
        Damp the trend (default; better accuracy). ``time_to_breach`` uses an undamped
        trend: a leak is expected to go on.
    engine, client, progress
        ``engine="dask"`` (implied by a Dask DataFrame): series spread over a Dask cluster
        by service, same result (see ``docs/scale.md``).

    Returns
    -------
    ForecastResult
        ``.forecasts`` (future steps per series), ``.models``, ``.history``; a chart of the
        recent history, the forecast and its interval band.

    Examples
    --------
    >>> fc = forecast(metrics, horizon="6h")          # doctest: +SKIP
    >>> fc.forecasts.head()                           # doctest: +SKIP
    """
    from ..provenance import make_provenance
    from ..scale import is_dask

    if engine is not None or is_dask(metrics):  # Dask: jupyter_ops.scale.forecasting
        from ..scale.forecasting import forecast_dask

        return forecast_dask(metrics, horizon, level, service, metric, damped, engine=engine,
                             client=client, progress=progress)
    td = _duration(horizon, "horizon")
    _check_level(level)
    df = _series(metrics, service, metric)
    fc, models, hist, _ = _run(df, td, level, damped, pd_timedelta("2D"))
    params = dict(horizon=str(horizon), level=level, service=service, metric=metric,
                  damped=damped)
    result = ForecastResult(fc, models, hist, params)
    result.provenance = make_provenance("forecast", params, inputs={"metrics": df})
    return result


def time_to_breach(metrics: Any, threshold: float, horizon: str = "24h", level: float = 0.8,
                   direction: str = "auto", service: str | None = None,
                   metric: str | None = None, trend_window: str = "2D",
                   engine: str | None = None, client: Any = None, progress: bool = False
                   ) -> ForecastResult:
    """When will each series cross ``threshold``? With an interval, a probability and why.

    Parameters
    ----------
    metrics : DataFrame or path
        As for :func:`forecast`.
    threshold : float
        The line (e.g. 90 for a disk 90 % full).
    horizon : str
        How far ahead to look (default ``"24h"``).
    level : float
        Coverage of the interval of the breach time (default 0.8).
    direction : {"auto", "up", "down"}
        Crossing upwards or downwards; ``auto``: away from the side the series has mostly
        been on (its median), so a disk at 95 % that was at 60 % is ``breached``, and free
        memory mostly above the line is watched downwards. A last value already on the far
        side is ``breached`` (eta 0).
    service, metric : str, optional
        Only these series.
    trend_window : str
        Span of the recent trend quoted in the explanation (default ``"2D"``).
    engine, client, progress
        As for :func:`forecast`.

    Returns
    -------
    ForecastResult
        With ``.breaches``: per series ``status`` (``breached`` already, ``will breach``
        within the horizon, ``no breach``), ``eta`` and ``eta_hours`` with the interval
        ``eta_low_hours``-``eta_high_hours``, ``probability`` and an ``explanation`` such as
        "disk_used on db-1 crosses 90 in about 5 h (80% interval 3-8 h), trend +1.8/h over
        the last 2 days".
    """
    import numpy as np
    import pandas as pd

    from ..provenance import make_provenance
    from ..scale import is_dask

    if engine is not None or is_dask(metrics):  # Dask: jupyter_ops.scale.forecasting
        from ..scale.forecasting import time_to_breach_dask

        return time_to_breach_dask(metrics, threshold, horizon, level, direction, service,
                                   metric, trend_window, engine=engine, client=client,
                                   progress=progress)
    try:
        thr = float(threshold)
    except (TypeError, ValueError):
        raise OpsInputError(f"threshold must be a number, got {threshold!r}") from None
    if not np.isfinite(thr):
        raise OpsInputError(f"threshold must be a finite number, got {threshold!r}")
    if direction not in ("auto", "up", "down"):
        raise OpsInputError(f"direction must be auto, up or down, got {direction!r}")
    td = _duration(horizon, "horizon")
    span = _duration(trend_window, "trend_window")
    _check_level(level)
    df = _series(metrics, service, metric)
    fc, models, hist, series = _run(df, td, level, False, span)
    z = _z(level)
    rows = []
    for m in models.itertuples():
        y, used_span = series[(m.service, m.metric)]
        f = fc[(fc["service"] == m.service) & (fc["metric"] == m.metric)]
        rows.append(_breach(m, y, used_span, f, thr, direction, z, level, td))
    breaches = pd.DataFrame(rows, columns=BREACH_COLUMNS)
    params = dict(horizon=str(horizon), level=level, threshold=thr, direction=direction,
                  service=service, metric=metric, trend_window=str(trend_window))
    result = ForecastResult(fc, models, hist, params, breaches=breaches)
    result.provenance = make_provenance("time_to_breach", params, inputs={"metrics": df})
    return result


def _breach(m: Any, y: pd.Series, span: pd.Timedelta, f: pd.DataFrame, thr: float,
            direction: str, z: float, level: float, horizon: pd.Timedelta) -> dict:
    """One row of ``breaches``."""
    import numpy as np
    from scipy.stats import norm

    last = float(y.iloc[-1])
    # auto: the side the series has mostly been on is the safe side
    up = direction == "up" or (direction == "auto" and float(y.median()) < thr)
    sign = 1.0 if up else -1.0
    base = dict(service=m.service, metric=m.metric, threshold=thr,
                direction="up" if up else "down", trend_per_hour=m.trend_per_hour,
                last_value=last, eta=None, eta_hours=np.nan, eta_low_hours=np.nan,
                eta_high_hours=np.nan)
    name = f"{m.metric} on {m.service}" if m.service else m.metric
    trend = (f"trend {m.trend_per_hour:+.2g}/h over the last {_human(span)}")
    if sign * (last - thr) >= 0:  # already on the far side
        return dict(base, status="breached", will_breach=True, eta=y.index[-1],
                    eta_hours=0.0, eta_low_hours=0.0, eta_high_hours=0.0, probability=1.0,
                    explanation=f"{name} is already {'at or above' if up else 'at or below'} "
                    f"{thr:g} (last value {last:.4g}); {trend}")
    t0 = y.index[-1]
    hours = ((f["timestamp"] - t0).dt.total_seconds() / 3600.0).to_numpy()
    mean, lo, hi = (f[c].to_numpy(dtype=float) for c in ("forecast", "lower", "upper"))
    near, far = (hi, lo) if up else (lo, hi)

    def first(a: np.ndarray) -> float:
        idx = np.flatnonzero(sign * (a - thr) >= 0)
        return float(hours[idx[0]]) if len(idx) else np.nan

    eta, early, late = first(mean), first(near), first(far)
    sd = np.maximum((hi - lo) / (2 * z), 1e-12)
    prob = float(np.max(norm.sf(sign * (thr - mean) / sd))) if len(mean) else 0.0
    interval = f"{level:.0%} interval " + (
        _span_text(early, late) if np.isfinite(late)
        else f"{_hours(early)} to beyond {_human(horizon)}")
    if np.isfinite(eta):
        idx = np.flatnonzero(hours == eta)[0]
        text = (f"{name} crosses {thr:g} in about {_hours(eta)}, {interval}, "
                f"probability {prob:.0%}, {trend}")
        return dict(base, status="will breach", will_breach=True,
                    eta=f["timestamp"].iloc[idx], eta_hours=eta, eta_low_hours=early,
                    eta_high_hours=late, probability=prob, explanation=text)
    if np.isfinite(early):
        text = (f"{name} is not expected to cross {thr:g} within {_human(horizon)}, but could "
                f"from about {_hours(early)} (probability {prob:.0%}); {trend}")
    else:
        text = (f"{name} is not expected to cross {thr:g} within {_human(horizon)} "
                f"(probability {prob:.0%}); {trend}")
    return dict(base, status="no breach", will_breach=False, eta_low_hours=early,
                probability=prob, explanation=text)


def _unit(h: float) -> tuple[float, str]:
    """Divisor and unit to show a number of hours in."""
    if h < 1:
        return 1 / 60, "min"
    if h < 48:
        return 1.0, "h"
    return 24.0, "days"


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if v < 10 else f"{v:.0f}"


def _hours(h: float) -> str:
    if not math.isfinite(h):
        return "-"
    div, unit = _unit(h)
    return f"{_num(h / div)} {unit}"


def _span_text(a: float, b: float) -> str:
    """``3-8 h``: both ends in the unit of the later one."""
    div, unit = _unit(max(a, b))
    return f"{_num(a / div)}-{_num(b / div)} {unit}"


def _human(td: pd.Timedelta) -> str:
    return _hours(td.total_seconds() / 3600.0)


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def _check_level(level: float) -> None:
    _fraction(level, "level is the interval coverage", "0.8")


def pd_timedelta(text: str) -> pd.Timedelta:
    import pandas as pd

    return pd.Timedelta(text)
