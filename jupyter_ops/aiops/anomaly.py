"""Metric anomaly detection: ``detect_anomalies`` and the streaming ``AnomalyDetector``.

Each series (one ``service`` x ``metric``) goes through three causal stages:

1. **deviation** -- how far the point is from what the method expects, as a robust z:
   ``robust`` (rolling median and IQR of the previous ``window`` points), ``seasonal``
   (distance from the median of the same time of day -- or week -- over the last
   ``cycles`` periods, then a robust z of that residual), or ``iforest`` (scikit-learn
   IsolationForest over all metrics of a service, fitted on the learning part, seeded);
2. **score** -- the surprise of the recent average deviation given its own history
   (``-log10`` of a tail probability, after Numenta's *anomaly likelihood*), so a noisy
   series has to deviate more than a quiet one before it counts; averaged with the same
   surprise of a *contextual* stream (``context``: a conformal k-NN p-value of each point's
   last few values against the contexts of the previous ``history``, after KNN-CAD), so a
   point must be unusual in value and in shape, or very unusual in one;
3. **detection** -- ``is_anomaly`` fires when the score crosses ``threshold``; after a
   detection the series is quiet for ``refractory`` points (one alert per onset, not one per
   point). An *episode* runs from a detection while the score stays above half the threshold.

Everything looks back a bounded number of points, so :class:`AnomalyDetector` can ``fit`` on
one chunk and ``score`` the next with results identical to scoring the concatenation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import OpsInputError
from ..results import Result

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = ["detect_anomalies", "AnomalyDetector", "AnomalyResult", "ANOMALY_METHODS"]

ANOMALY_METHODS = ("auto", "robust", "seasonal", "iforest")

#: columns of ``AnomalyResult.anomalies`` / ``.episodes`` / ``.methods``
ANOMALY_COLUMNS = ["timestamp", "service", "metric", "value", "score", "is_anomaly",
                   "deviation", "method"]
EPISODE_COLUMNS = ["service", "metric", "onset", "end", "points", "peak_score", "peak_value",
                   "method", "ongoing", "peak_likelihood"]
METHOD_COLUMNS = ["service", "metric", "method", "reason", "points", "period", "step",
                  "window", "history"]

_DEFAULT_SERVICE = "all"
_DEFAULT_METRIC = "value"
#: floors of the window sizes in points, so a coarse series still has enough points behind
#: each statistic (a day of daily data is one point)
_MIN_WINDOW, _MIN_HISTORY, _MIN_SHORT = 12, 48, 5
#: contextual stream: neighbours per context, most reference contexts per block
_KNN_K, _KNN_REF, _KNN_BLOCK = 10, 200, 100


def _duration(value: Any, name: str, points: bool = False) -> Any:
    """A validated positive duration (``pd.Timedelta``); with ``points=True`` a positive int
    is accepted too and returned as a number of points. The one parser of span/horizon
    arguments (``detect_anomalies`` windows, ``forecast`` horizons)."""
    import pandas as pd

    alt = " or a number of points" if points else ""
    if isinstance(value, bool):
        raise OpsInputError(f"{name} must be a duration such as '1D'{alt}, got {value!r}")
    if points and (isinstance(value, int)
                   or (hasattr(value, "__index__") and not isinstance(value, str))):
        if int(value) < 1:
            raise OpsInputError(f"{name} must be a positive number of points, got {value!r}")
        return int(value)
    try:
        td = pd.Timedelta(value)
    except (TypeError, ValueError) as e:
        raise OpsInputError(f"{name} must be a duration such as '1D', '6h', '30min'{alt}, "
                            f"got {value!r}") from e
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise OpsInputError(f"{name} must be a positive duration, got {value!r}")
    return td


def _fraction(value: Any, what: str, example: str) -> None:
    """Refuse anything but a number strictly between 0 and 1 (``what`` names it)."""
    try:
        ok = 0 < float(value) < 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OpsInputError(f"{what} in (0, 1), e.g. {example}; got {value!r}")


def _span(spec: Any, name: str) -> Any:
    """A validated span: a positive number of points (int) or a positive duration."""
    return _duration(spec, name, points=True)


def _points(spec: Any, step: Any, name: str, floor: int) -> int:
    """``spec`` in points: a duration divided by the series' median step, at least ``floor``;
    an explicit number of points is taken as given."""
    v = _span(spec, name)
    if isinstance(v, int):
        return v
    if step is None:
        return floor
    return max(int(round(v / step)), floor)


# ---------------------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------------------
def _canonical(metrics: Any) -> pd.DataFrame:
    """Any metrics input (frame, file, Prometheus response) through the one loader,
    :func:`jupyter_ops.io.load_metrics`: timestamps are parsed there, never here."""
    import pandas as pd

    from ..io import load_metrics

    if _is_canonical(metrics):
        return metrics  # already the loader's output (e.g. detect_anomalies -> score)
    if isinstance(metrics, pd.DataFrame) and len(metrics.columns) and metrics.empty \
            and {"timestamp", "value"} <= {str(c).lower() for c in metrics.columns}:
        # an empty long frame is an empty result, not an error (streaming chunks can be empty)
        return pd.DataFrame({"timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                             "service": pd.Series([], dtype=object),
                             "metric": pd.Series([], dtype=object),
                             "value": pd.Series([], dtype=float)})
    if isinstance(metrics, pd.DataFrame):
        cols = {str(c).lower(): c for c in metrics.columns}
        # a lone timestamp,value series: one metric called "value" (wide input would also
        # call it that); lower-case names as the loader expects
        metrics = metrics.rename(columns={v: k for k, v in cols.items()
                                          if k in ("timestamp", "service", "metric", "value")})
        # a frame without a service column is one service, "all" (a file: its stem)
        svc = None if "service" in metrics.columns else _DEFAULT_SERVICE
        if "value" in metrics.columns and "metric" not in metrics.columns:
            df = load_metrics(metrics, metric=_DEFAULT_METRIC, wide=False, service=svc)
        else:
            df = load_metrics(metrics, service=svc)
    else:
        df = load_metrics(metrics)
    df = df[["timestamp", "service", "metric", "value"]].copy()
    df.index = range(len(df))
    return df


def _select(df: pd.DataFrame, service: str | None, metric: str | None) -> pd.DataFrame:
    """Only the series of ``service`` / ``metric`` (when given); an error when none is left."""
    if service is not None:
        df = df[df["service"] == service]
        if df.empty:
            raise OpsInputError(f"no metrics for service {service!r}")
    if metric is not None:
        df = df[df["metric"] == metric]
        if df.empty:
            raise OpsInputError(f"no metrics named {metric!r}")
    return df


def _is_canonical(df: Any) -> bool:
    """True for exactly the frame :func:`_canonical` returns (nothing left to load)."""
    import pandas as pd

    return (isinstance(df, pd.DataFrame)
            and list(df.columns) == ["timestamp", "service", "metric", "value"]
            and str(df["timestamp"].dtype) == "datetime64[ns, UTC]"  # the loader's unit
            and df["value"].dtype == "float64"
            and bool(df["service"].notna().all()) and bool(df["metric"].notna().all())
            and isinstance(df.index, pd.RangeIndex) and df.index.start == 0
            and df.index.step == 1)


# ---------------------------------------------------------------------------------------
# per-series state
# ---------------------------------------------------------------------------------------
@dataclass
class _SeriesState:
    method: str
    reason: str
    period: int = 0
    n_seen: int = 0
    tails: dict = field(default_factory=dict)
    since_flag: int = 10 ** 9
    learn_n: int = 0
    check_at: int = 0
    week_at: int = 0
    week_at_period: int = 0
    day: int = 0
    range_hi: float = float("-inf")
    range_lo: float = float("inf")
    range_n: int = 0
    gross: int = 0
    episode: dict | None = None
    last_ts: Any = None
    step: str = ""
    window: int = _MIN_WINDOW
    history: int = _MIN_HISTORY
    short: int = _MIN_SHORT
    refractory: int = _MIN_WINDOW
    learn_cap: int = _MIN_HISTORY
    log_scale: float = 0.0
    step_s: float = 0.0
    first_t: float = math.nan


@dataclass
class _ServiceModel:
    """IsolationForest state of one service (``iforest`` method)."""

    metrics: list
    model: Any
    centre: Any
    scale: Any
    score_centre: float
    score_scale: float


class AnomalyDetector:
    """Streaming anomaly detector: ``fit`` on history, ``score`` new chunks.

    Parameters
    ----------
    method : {"auto", "robust", "seasonal", "iforest"}
        ``auto`` picks per series: ``seasonal`` when the learning data spans at least two
        periods (a day, or a week) and its autocorrelation at that lag is >= ``0.5``, else
        ``robust``. The choice and its reason are in ``AnomalyResult.methods``.
    window : str or int
        Span of history behind each robust centre and scale: a duration (default ``"1D"``),
        turned into points with the series' own median sampling interval, or a number of
        points. At least 12 points.
    threshold : float
        Detection threshold on ``score``, the anomaly likelihood ``1 - p`` (``p``: the tail
        probability of the recent deviation given its history). Default ``0.999999``
        (p = 1e-6: by chance about once in a million points).
    refractory : str or int, optional
        Span after a detection during which the same series is not flagged again
        (default: ``window``).
    short : int or str
        Points averaged into the recent deviation (stage 2); default 10. A count, not a
        duration, on purpose: it sets how much evidence the average holds (as in Numenta's
        likelihood), and a duration would dilute a one-point spike on 1-minute data 50-fold.
        A duration is accepted (at least 5 points).
    history : str or int
        Span of deviation history behind the score's reference distribution (default
        ``"7D"``, at least 48 points).
    cycles : int
        Seasonal periods whose same-time values form the seasonal baseline.
    learn : float
        Fraction of each series (of the first chunk a fresh detector sees) used for learning,
        at most ``history`` points: the ``auto`` choice and the IsolationForest are fitted on
        it; no detection is made before its end. NAB calls this the *probationary period*.
    spatial : float
        A value outside the range of all earlier points by more than this fraction of the
        range is a detection by itself (Numenta's spatial anomaly rule); 0 = off.
    seed : int
        Seed of the IsolationForest.
    zcap : float
        Deviations are capped at this robust z before averaging (one wild point counts like
        a ``zcap``-sigma one).
    min_points : int
        Fewest points a duration-given window may hold (history: 5x): a coarse series (hourly,
        daily) still gets enough points behind each statistic. Default 100: the history
        then holds at least 50 independent ``short`` averages, the sample stage 2 estimates
        a mean and a standard deviation from.
    log_ratio : float
        Judge a non-negative series on a log scale when, in its learning part, the 99th
        percentile exceeds this multiple of the median (bursty counts, bytes); 0 = never
        (default: the left-out benchmark did not justify it, see docs/anomalies.md).
    context : int
        Values in each point's *context* for the contextual evidence stream (default 5; 0 =
        off): after KNN-CAD (Burnaev & Ishimtsev 2016), the context's mean distance to its 10
        nearest contexts among (at most 200 of) those of the previous ``history``, turned into
        a conformal p-value against the reference's own distances; its surprise is averaged
        like the deviation's and the two surprises are averaged. ``0`` gives the round-2b
        detector exactly.
    """

    def __init__(self, method: str = "auto", window: str | int = "1D",
                 threshold: float = 0.999999, refractory: str | int | None = None,
                 short: str | int = 10, history: str | int = "7D",
                 cycles: int = 3, learn: float = 0.15, spatial: float = 0.05, seed: int = 0,
                 zcap: float = 12.0, min_points: int = 100, log_ratio: float = 0.0,
                 context: int = 5) -> None:
        if method not in ANOMALY_METHODS:
            raise OpsInputError(f"unknown anomaly method {method!r}; use one of "
                                f"{', '.join(ANOMALY_METHODS)}")
        for name, v in (("window", window), ("short", short), ("history", history),
                        ("refractory", refractory)):
            if v is not None:
                _span(v, name)  # validates: a positive duration or number of points
        if isinstance(window, int) and window < 3:
            raise OpsInputError(f"window must be at least 3 points, got {window}")
        if not isinstance(cycles, int) or isinstance(cycles, bool) or cycles < 1:
            raise OpsInputError(f"cycles must be a positive number of periods, got {cycles!r}")
        _fraction(threshold, "threshold is an anomaly likelihood", "0.999999")
        if not 0 <= learn < 1:
            raise OpsInputError(f"learn must be a fraction in [0, 1), got {learn!r}")
        self.method = method
        self.window = window
        self.threshold = float(threshold)
        # the same threshold as a surprise (-log10 p), the scale the kernels work on
        self._surprise = -math.log10(1.0 - self.threshold)
        self.refractory = refractory if refractory is not None else window
        self.short = short
        self.history = history
        self.cycles = cycles
        self.learn = float(learn)
        self.seed = seed
        self.zcap = float(zcap)
        if not isinstance(min_points, int) or isinstance(min_points, bool) or min_points < 1:
            raise OpsInputError(f"min_points must be a positive number of points, got "
                                f"{min_points!r}")
        self.min_points = min_points
        if not log_ratio >= 0:
            raise OpsInputError(f"log_ratio must be >= 0 (0 = never), got {log_ratio!r}")
        self.log_ratio = float(log_ratio)
        if not isinstance(context, int) or isinstance(context, bool) or context < 0 \
                or context == 1:
            raise OpsInputError(f"context must be 0 (off) or a number of points >= 2, got "
                                f"{context!r}")
        self.context = context
        if spatial < 0:
            raise OpsInputError(f"spatial must be >= 0 (0 switches the range rule off), "
                                f"got {spatial!r}")
        self.spatial = float(spatial)
        self._series: dict[tuple[str, str], _SeriesState] = {}
        self._services: dict[str, _ServiceModel] = {}

    @property
    def params(self) -> dict[str, Any]:
        """The configuration (for provenance)."""
        return dict(method=self.method, window=self.window, threshold=self.threshold,
                    refractory=self.refractory, short=self.short, history=self.history,
                    cycles=self.cycles, learn=self.learn, spatial=self.spatial, seed=self.seed,
                    zcap=self.zcap, min_points=self.min_points, log_ratio=self.log_ratio,
                    context=self.context)

    # -- public API ----------------------------------------------------------------------
    def fit(self, metrics: Any) -> AnomalyDetector:
        """Learn from a chunk (method choice, baselines, IsolationForest); flag nothing.

        Fitting again continues the state, like scoring and discarding the output.
        """
        self._run(_canonical(metrics), fitting=True)
        return self

    def score(self, metrics: Any) -> AnomalyResult:
        """Score a chunk with the state so far, then absorb it into the state.

        Returns an :class:`AnomalyResult` whose ``anomalies`` has one row per input row, in
        the input's order.
        """
        df = _canonical(metrics)
        frame, episodes = self._run(df, fitting=False)
        result = AnomalyResult(frame, episodes, self.methods_frame(), self.params)
        return result

    def methods_frame(self) -> pd.DataFrame:
        """Per series: the method used, why, how many points were seen and the period."""
        import pandas as pd

        rows = [dict(service=s, metric=m, method=st.method, reason=st.reason,
                     points=st.n_seen, period=st.period, step=st.step, window=st.window,
                     history=st.history)
                for (s, m), st in sorted(self._series.items())]
        return pd.DataFrame(rows, columns=METHOD_COLUMNS)

    # -- internals -----------------------------------------------------------------------
    def _learn_n(self, n: int, cap: int) -> int:
        """Learning points of a fresh series of ``n`` points: ``learn`` of it, at most ``cap``
        (the reference history: once it is full there is nothing more to wait for)."""
        return min(int(self.learn * n), cap)

    def _sizes(self, ts: pd.Series) -> dict[str, Any]:
        """Window sizes in points of one series, from its median sampling interval."""
        import pandas as pd

        step = None
        if len(ts) >= 2:
            d = ts.diff().dropna()
            d = d[d > pd.Timedelta(0)]  # duplicate timestamps are no interval
            if len(d):
                step = d.median()
        # durations become points, but never fewer than the statistics need (min_points)
        fw, fh = max(_MIN_WINDOW, self.min_points), max(_MIN_HISTORY, 5 * self.min_points)
        window = _points(self.window, step, "window", fw)
        return dict(step=str(step) if step is not None else "",
                    step_s=step.total_seconds() if step is not None else 0.0,
                    window=window,
                    history=_points(self.history, step, "history", fh),
                    short=_points(self.short, step, "short", _MIN_SHORT),
                    refractory=_points(self.refractory, step, "refractory", 1),
                    learn_cap=_points(self.history, step, "history", fh))

    def _run(self, df: pd.DataFrame, fitting: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
        import numpy as np

        n = len(df)
        dev = np.full(n, np.nan)
        score = np.full(n, np.nan)
        flag = np.zeros(n, dtype=bool)
        used = np.empty(n, dtype=object)
        episodes: list[dict] = []
        if n == 0:
            return self._frame(df, dev, score, flag, used), _episodes_frame(episodes)
        order = df.sort_values(["service", "metric", "timestamp"], kind="stable").index
        sdf = df.loc[order]
        groups = sdf.groupby(["service", "metric"], sort=False).indices
        # learning part of each series: only for series this detector has not seen yet
        new_series = [k for k in groups if k not in self._series]
        if_dev = {}
        if self.method == "iforest":
            self._fit_iforest(sdf, fitting)
            if_dev = self._iforest_deviations(sdf)
        for key, idx in groups.items():
            rows = order[idx]
            part = sdf.iloc[idx]
            st = self._series.get(key)
            if st is None:
                st = self._new_state(key, part, fitting)
                self._series[key] = st
            learn_n = len(part) if fitting else (st.learn_n if key in new_series else 0)
            # auto's deferred checks (daily once two days are seen, weekly once two weeks
            # are) split the piece where they fall: the method can change there
            start = 0
            while start < len(part):
                due = [a for a in (st.check_at, st.week_at) if a > st.n_seen]
                end = min([len(part)] + [start + a - st.n_seen for a in due])
                piece = part.iloc[start:end]
                used[rows[start:end]] = st.method
                d, s, f, eps = self._process(st, key, piece, max(learn_n - start, 0),
                                             fitting, if_dev)
                if st.n_seen in (st.check_at, st.week_at):
                    self._recheck(st)
                r = rows[start:end]
                dev[r], score[r], flag[r] = d, s, f
                episodes.extend(eps)
                start = end
            if st.episode is not None and not fitting:
                # still above the low threshold at the end of the chunk: report it as ongoing
                episodes.append(_close(st.episode, st, ongoing=True))
        return self._frame(df, dev, score, flag, used), _episodes_frame(episodes)

    def _process(self, st: _SeriesState, key: tuple[str, str], part: pd.DataFrame,
                 learn_n: int, fitting: bool, if_dev: dict) -> tuple[Any, Any, Any, list]:
        """Deviation, score, flags and closed episodes of one piece of one series."""
        import numpy as np

        x = part["value"].to_numpy(dtype=float)
        now = _seconds(part["timestamp"])  # the time axis of the seasonal path, once a piece
        if math.isnan(st.first_t) and len(now):
            st.first_t = float(now[0])  # the series' start
        if st.method == "iforest":
            d = if_dev[key[0]].reindex(part["timestamp"]).to_numpy(dtype=float)
        else:
            d = self._deviation(st, x, now)
        if "probe" in st.tails:
            st.tails["probe"].extend(x)
            st.tails["probe_t"].extend(now)
        s = self._score_stage(st, d, x)
        onset = self._onset_score(st, s)
        # no decision while learning: no score either (so a threshold sweep sees what the
        # detector sees)
        onset[:learn_n] = np.nan
        if fitting:
            onset[:] = np.nan
        since0 = st.since_flag
        f, eps = self._detect(st, key, part, s, onset, d, learn_n, fitting)
        # score >= threshold exactly where the detector fires (see _consistent)
        onset = _consistent(onset, s, f, since0, st.refractory)
        st.n_seen += len(part)
        return d, onset, f, eps

    def _onset_score(self, st: _SeriesState, s: np.ndarray) -> np.ndarray:
        """The surprise where it is news: above the highest surprise of the previous
        ``refractory`` points; elsewhere 0 (an anomaly already under way is no new alarm), so
        a threshold on ``score`` behaves much like the detector's own onset rule."""
        import numpy as np

        from ._detectors import Tail

        t = st.tails.setdefault("s", Tail(st.refractory))
        full, off = t.extend(np.nan_to_num(s, nan=0.0))
        import pandas as pd
        prev = pd.Series(full).rolling(st.refractory, min_periods=1).max().shift(1).to_numpy()
        prev = np.nan_to_num(prev, nan=0.0)[off:]
        out = np.where(s > prev, s, 0.0)
        out[np.isnan(s)] = np.nan
        return out

    def _recheck(self, st: _SeriesState) -> None:
        """``auto``'s deferred seasonality check, once two periods have been seen."""
        from ._detectors import daily_autocorrelation, on_time_grid

        x, t = st.tails["probe"].values, st.tails["probe_t"].values
        # autocorrelation at a lag in time, not in points (an irregular series' points drift)
        g = on_time_grid(x, t, st.step_s)
        if st.week_at and st.n_seen == st.week_at:
            st.week_at = 0
            st.tails.pop("probe")
            st.tails.pop("probe_t")
            week = st.week_at_period
            acf_w = daily_autocorrelation(g, week)
            acf_d = daily_autocorrelation(g, st.day) if st.day else 0.0
            if acf_w >= 0.5 and acf_w > acf_d:
                st.method, st.period = "seasonal", week
                st.reason = (f"weekly autocorrelation {acf_w:.2f} >= 0.5 (> daily "
                             f"{acf_d:.2f}) over the first 2 weeks ({st.reason} before)")
                self._seasonal_tails(st, x, t)
            return
        st.check_at = 0
        if not st.week_at:
            st.tails.pop("probe")
            st.tails.pop("probe_t")
        acf = daily_autocorrelation(g, st.period)
        if acf >= 0.5:
            st.method = "seasonal"
            st.reason = (f"daily autocorrelation {acf:.2f} >= 0.5 over the first 2 days "
                         "(robust before)")
            self._seasonal_tails(st, x, t)
        else:
            st.reason = f"daily autocorrelation {acf:.2f} < 0.5 over the first 2 days"
            st.period = 0

    def _seasonal_tails(self, st: _SeriesState, x: Any = None, t: Any = None) -> tuple:
        """The value and time tails of the seasonal baseline (filled from ``x``/``t``)."""
        from ._detectors import Tail

        keep = max(st.period * self.cycles, st.window)
        if "x" not in st.tails or x is not None:
            st.tails["x"], st.tails["xt"] = Tail(keep), Tail(keep)
            if x is not None:
                st.tails["x"].extend(x)
                st.tails["xt"].extend(t)
        return st.tails["x"], st.tails["xt"]

    def _frame(self, df: pd.DataFrame, dev: np.ndarray, score: np.ndarray, flag: np.ndarray,
               used: np.ndarray) -> pd.DataFrame:
        import pandas as pd

        out = df[["timestamp", "service", "metric", "value"]].copy()
        out["score"] = likelihood(score)
        out["is_anomaly"] = flag
        out["deviation"] = dev
        out["method"] = pd.Series(used, index=out.index, dtype=object).astype(str) \
            if len(out) else pd.Series([], dtype=str)
        return out

    def _new_state(self, key: tuple[str, str], part: pd.DataFrame,
                   fitting: bool) -> _SeriesState:


        ts_all = part["timestamp"]
        step = ts_all.diff().dropna().median() if len(ts_all) >= 3 else None
        period_day = _period(ts_all, "1D", step)
        sizes = self._sizes(part["timestamp"])
        learn_n = len(part) if fitting else self._learn_n(len(part), sizes["learn_cap"])
        x = part["value"].to_numpy()[:max(learn_n, 1)]
        ts = part["timestamp"].iloc[:max(learn_n, 1)]
        st = self._choose(key, x, ts, part, period_day, step)
        for k, v in sizes.items():
            setattr(st, k, v)
        st.log_scale = _log_scale(x, self.log_ratio) if self.log_ratio > 0 else 0.0
        st.learn_n = learn_n
        return st

    def _choose(self, key: tuple[str, str], x: np.ndarray, ts: pd.Series, part: pd.DataFrame,
                period_day: int | None, step: Any = None) -> _SeriesState:
        """The method of a new series (``auto``: seasonal if periodic, else robust)."""
        from ._detectors import Tail, daily_autocorrelation, on_time_grid

        if self.method in ("robust", "iforest"):
            st = _SeriesState(self.method, f"{self.method} chosen by the caller")
        elif self.method == "seasonal":
            period = period_day or 0
            if not period:
                raise OpsInputError(
                    f"seasonal method needs a regular series with at least 4 points a day; "
                    f"{key[0]}/{key[1]} has none inferable; use method='robust'")
            st = _SeriesState("seasonal", "seasonal chosen by the caller (daily period)",
                              period=period)
        else:
            st = _SeriesState("robust", "no daily period could be checked")
            span_days = (ts.iloc[-1] - ts.iloc[0]).total_seconds() / 86400 if len(ts) else 0
            if period_day and span_days >= 2:
                # lags in time, not points (see on_time_grid)
                g = on_time_grid(x, _seconds(ts), step.total_seconds())
                acf = daily_autocorrelation(g, period_day)
                week = _period(part["timestamp"], "7D", step)
                acf_w = daily_autocorrelation(g, week) if week and span_days >= 14 else 0.0
                if acf_w >= 0.5 and acf_w > acf:
                    st = _SeriesState("seasonal", f"weekly autocorrelation {acf_w:.2f} >= 0.5 "
                                      f"over {span_days:.1f} days", period=week)
                elif acf >= 0.5:
                    st = _SeriesState("seasonal", f"daily autocorrelation {acf:.2f} >= 0.5 "
                                      f"over {span_days:.1f} days", period=period_day)
                else:
                    st = _SeriesState("robust", f"daily autocorrelation {acf:.2f} < 0.5 "
                                      f"over {span_days:.1f} days")
            elif period_day and len(part) >= 2 * period_day + 1:
                # too little to judge now, enough later: check once two days have been seen
                st = _SeriesState("robust", f"learning data spans {span_days:.1f} days: "
                                  "robust until 2 days are seen", period=period_day)
                st.check_at = 2 * period_day + 1
                st.tails["probe"], st.tails["probe_t"] = Tail(st.check_at), Tail(st.check_at)
            else:
                st = _SeriesState("robust", f"learning data spans {span_days:.1f} days "
                                  "(< 2 days): no daily profile")
            week = _period(part["timestamp"], "7D", step)
            st.day = period_day or 0
            if week and span_days < 14 and st.period != week \
                    and len(part) >= 2 * week + 1:
                # a weekly season cannot be judged from the learning part: check it once two
                # weeks have been seen (a responder's metrics often differ at weekends)
                st.week_at, st.week_at_period = 2 * week + 1, week
                keep = max(st.week_at, st.check_at)
                st.tails["probe"], st.tails["probe_t"] = Tail(keep), Tail(keep)
        return st

    def _deviation(self, st: _SeriesState, x: np.ndarray, now: np.ndarray) -> np.ndarray:
        """Signed robust z of the values ``x`` at times ``now`` (seconds) of one piece."""
        import numpy as np

        from ._detectors import Tail, robust_z, seasonal_residual_at

        if st.log_scale > 0:
            # heavy-tailed non-negative series (counts, bytes): deviations on a log scale
            x = np.log1p(np.clip(x, 0, None) / st.log_scale)
        w = st.window
        minp = max(3, min(w // 4, 30))
        if st.method == "seasonal":
            tx, tt = self._seasonal_tails(st)
            full, off = tx.extend(x)
            times, _ = tt.extend(now)
            # the same time of day (or week) in earlier cycles, found by time, not by point
            # count, so dropped points and gaps do not shift the profile
            resid = seasonal_residual_at(full, times, st.period, st.step_s, self.cycles,
                                         tx.keep)[off:]
            # no earlier cycle at this time of day although the series is older than one:
            # the cycles fell in a gap. No baseline, no judgement (NaN): the plain z that
            # stands in during the first cycle would read the daily swing as an anomaly
            lost = (np.isnan(resid) & np.isfinite(x)
                    & (now - st.first_t >= (st.period - 0.5) * st.step_s))
            # residual scale over at least one season (a weekly series: a week of residuals)
            wr = max(w, st.period)
            t2 = st.tails.setdefault("r", Tail(wr))
            fullr, offr = t2.extend(resid)
            z = robust_z(fullr, wr, minp)[offr:]
            # until a cycle (and a window of residuals) is seen, the plain robust z stands in
            plain = robust_z(full, w, minp)[off:]
            return np.where(lost, np.nan, np.where(np.isnan(z), plain, z))
        t = st.tails.setdefault("x", Tail(w))
        full, off = t.extend(x)
        return robust_z(full, w, minp)[off:]

    def _score_stage(self, st: _SeriesState, dev: np.ndarray, x: np.ndarray) -> np.ndarray:
        import numpy as np

        from ._detectors import Tail, tail_likelihood

        a = np.minimum(np.abs(dev), self.zcap)
        t = st.tails.setdefault("a", Tail(st.history + 2 * st.short))
        full, off = t.extend(a)
        minp = max(10, min(st.history // 4, 100))
        score = tail_likelihood(full, st.short, st.history, minp)[off:]
        if self.context:
            # the mean of the two surprises: a point must be surprising in value AND in
            # context, or very surprising in one (a burst shaped like earlier bursts, or a
            # level seen before in this shape, counts half); the max added false positives
            # (docs/anomalies.md, round 2c). No context yet (the first history): value alone.
            # (its own history must be half full, as for the range rule: at the start of a
            # series the contexts seen so far cover part of a day, and a new phase of the day
            # looked new -- a false detection on every noise-free artificial NAB series)
            c = self._context_score(st, x, max(minp, st.history // 2))
            score = np.where(np.isnan(c), score, (score + c) / 2)
        if self.spatial > 0:
            # a value far outside everything seen in the reference window is news by itself
            out = self._spatial(st, x, max(minp, st.history // 2))
            score = np.where(out, np.fmax(score, self._surprise), score)
        # a missing value has no score (the average above would carry the last one on); +-inf
        # is as surprising as it gets
        score[np.isnan(x)] = np.nan
        score[np.isinf(x)] = np.inf
        return score

    def _context_score(self, st: _SeriesState, x: np.ndarray, minp: int) -> np.ndarray:
        """Second evidence stream: the contextual (k-NN conformal) surprise of each point's
        last ``context`` values, averaged and judged against its own history exactly like the
        deviation (stage 2), so both streams are on the same calibrated scale."""
        from ._detectors import Tail, knn_conformal, tail_likelihood

        lag = self.context
        # the reference is renewed every block of a window's points, but never more often
        # than every 100 points (a tiny int window would make the per-block work dominate)
        block = max(st.window, _KNN_BLOCK)
        t = st.tails.setdefault("cx", Tail(st.history + block + lag))
        full, off = t.extend(x)
        c = knn_conformal(full, st.n_seen - off, off, lag, _KNN_K, block, st.history, _KNN_REF)
        t2 = st.tails.setdefault("ca", Tail(st.history + 2 * st.short))
        fullc, offc = t2.extend(c)
        # the history's spread is never taken below what calibrated p-values show by chance:
        # -log10 of a uniform p has standard deviation 1 / ln 10, its mean over `short`
        # independent points 1 / (ln 10 sqrt(short)). Without this floor a series whose
        # contexts repeat exactly (noise-free, quantised) has a spread of ~0 and its first
        # slightly unusual context is infinitely surprising.
        floor = 1.0 / (math.log(10.0) * math.sqrt(st.short))
        return tail_likelihood(fullc, st.short, st.history, minp, floor)[offc:]

    def _spatial(self, st: _SeriesState, x: np.ndarray, min_periods: int) -> np.ndarray:
        """Numenta's spatial rule on the running (all-time) range: True where ``x`` leaves
        ``[lo - tol * span, hi + tol * span]`` of everything before it; the range must rest on
        ``min_periods`` points. Running max/min/count are the whole streaming state."""

        from ._detectors import spatial_outlier_running

        out, st.range_hi, st.range_lo, st.range_n, st.gross = spatial_outlier_running(
            x, st.range_hi, st.range_lo, st.range_n, min_periods, self.spatial, st.gross)
        return out

    def _detect(self, st: _SeriesState, key: tuple[str, str], part: pd.DataFrame,
                score: np.ndarray, onset: np.ndarray, dev: np.ndarray,
                learn_n: int, fitting: bool) -> tuple[np.ndarray, list[dict]]:
        import numpy as np

        n = len(score)
        flag = np.zeros(n, dtype=bool)
        eps: list[dict] = []
        ts = part["timestamp"].to_numpy()
        values = part["value"].to_numpy()
        hi, lo = self._surprise, self._surprise / 2
        sc = np.nan_to_num(score, nan=0.0)
        cand = np.flatnonzero(sc >= lo)
        # walk only the points above the low threshold (few), keeping the streaming counters
        since = st.since_flag
        last = -1
        for i in cand:
            since += i - last
            last = i
            ep = st.episode
            if ep is not None and ep["last_i"] < st.n_seen + i - 1:
                eps.append(_close(ep, st))
                st.episode = ep = None
            if sc[i] >= hi and since > st.refractory and i >= learn_n and not fitting:
                flag[i] = True
                since = 0
                if ep is None:
                    st.episode = ep = dict(key=key, onset=ts[i], end=ts[i], points=0, peak=sc[i],
                                           peak_value=values[i], peak_dev=-1.0,
                                           last_i=st.n_seen + i)
            if ep is not None:
                ep["end"] = ts[i]
                ep["points"] += 1
                ep["last_i"] = st.n_seen + i
                if sc[i] > ep["peak"]:
                    ep["peak"] = sc[i]
                # peak_value: the most extreme value of the episode (largest |deviation|),
                # not the value where the score peaked (the score averages several points)
                ad = abs(dev[i]) if np.isfinite(dev[i]) else (
                    math.inf if not np.isfinite(values[i]) else -1.0)
                if ad > ep["peak_dev"]:
                    ep["peak_dev"], ep["peak_value"] = ad, values[i]
        since += n - 1 - last
        st.since_flag = since
        if st.episode is not None and st.episode["last_i"] < st.n_seen + n - 1:
            eps.append(_close(st.episode, st))
            st.episode = None
        if fitting:
            eps = []
        return flag, eps

    # -- IsolationForest -----------------------------------------------------------------
    def _fit_iforest(self, sdf: pd.DataFrame, fitting: bool) -> None:
        import numpy as np
        from sklearn.ensemble import IsolationForest

        for service, part in sdf.groupby("service", sort=True):
            if service in self._services:
                continue
            wide = _wide(part)
            hist = self._sizes(wide.index.to_series())["learn_cap"]
            n_learn = len(wide) if fitting else max(self._learn_n(len(wide), hist), 2)
            train = wide.iloc[:n_learn]
            centre = train.median()
            scale = (train.quantile(0.75) - train.quantile(0.25)).replace(0, np.nan)
            scale = scale.fillna(train.std().replace(0, np.nan)).fillna(1.0)
            xs = ((train - centre) / scale).fillna(0.0).to_numpy()
            if len(xs) < 2:
                raise OpsInputError(f"iforest needs at least 2 timestamps of service "
                                    f"{service!r} to learn from; got {len(xs)}")
            model = IsolationForest(n_estimators=100, random_state=self.seed).fit(xs)
            s = -model.score_samples(xs)
            q25, q50, q75 = np.percentile(s, [25, 50, 75])
            self._services[service] = _ServiceModel(
                list(wide.columns), model, centre, scale, float(q50),
                float(max((q75 - q25) / 1.349, 1e-6)))

    def _iforest_deviations(self, sdf: pd.DataFrame) -> dict[str, pd.Series]:
        """Per service: the robust z of the IsolationForest score of each timestamp."""
        import pandas as pd

        out = {}
        for service, part in sdf.groupby("service", sort=True):
            m = self._services[service]
            wide = _wide(part).reindex(columns=m.metrics)
            xs = ((wide - m.centre) / m.scale).fillna(0.0).to_numpy()
            s = (-m.model.score_samples(xs) - m.score_centre) / m.score_scale
            out[service] = pd.Series(s, index=wide.index)
        return out


def _wide(part: pd.DataFrame) -> pd.DataFrame:
    """timestamp x metric values of one service, forward-filled across metrics."""
    wide = part.pivot_table(index="timestamp", columns="metric", values="value",
                            aggfunc="mean", dropna=False).sort_index()
    return wide.ffill()


def _close(ep: dict, st: _SeriesState, ongoing: bool = False) -> dict:
    return dict(service=ep["key"][0], metric=ep["key"][1], onset=ep["onset"], end=ep["end"],
                points=ep["points"], peak_score=float(ep["peak"]),
                peak_value=ep["peak_value"], peak_likelihood=float(likelihood(ep["peak"])),
                method=st.method, ongoing=ongoing)


def _log_scale(x: np.ndarray, ratio: float) -> float:
    """Scale of the log transform for a heavy-tailed non-negative series, else 0 (none).

    Counts and byte rates burst over orders of magnitude; on a linear scale every burst is
    extreme. Judged on the learning part: all values >= 0 and the 99th percentile more than
    ``ratio`` times the median.
    """
    import numpy as np

    v = x[np.isfinite(x)]
    if len(v) < 10 or v.min() < 0:
        return 0.0
    med = float(np.median(v))
    q99 = float(np.quantile(v, 0.99))
    pos = v[v > 0]
    if not len(pos):
        return 0.0
    scale = med if med > 0 else float(np.median(pos))
    return scale if q99 > ratio * scale else 0.0


def _spec(v: Any) -> str:
    """A span for text: ``10 points`` or ``1D``."""
    return f"{v} points" if isinstance(v, int) else str(v)


def _consistent(onset: np.ndarray, s: np.ndarray, flag: np.ndarray, since0: int,
                refractory: int) -> np.ndarray:
    """The onset score made consistent with the detector's own decisions: a detection keeps
    its surprise, the ``refractory`` points after it score 0 (the detector is quiet there
    whatever the score), so ``score >= threshold`` is exactly ``is_anomaly``, and a sweep
    over thresholds starts from the detector's own flags. ``since0``: points since the last
    detection before this piece."""
    import numpy as np

    n = len(onset)
    idx = np.arange(n)
    last = np.maximum.accumulate(np.where(flag, idx, -(10 ** 12)))
    # distance to the last detection strictly before each point
    prev = np.concatenate([[-(10 ** 12)], last[:-1]])
    since = np.where(prev >= 0, idx - prev, since0 + idx + 1)
    out = np.where(since <= refractory, 0.0, onset)
    out = np.where(flag, s, out)
    out[np.isnan(onset)] = np.nan
    return out


def likelihood(surprise: Any) -> Any:
    """Anomaly likelihood ``1 - p`` in [0, 1] from a surprise ``-log10 p`` (NaN stays NaN)."""
    import numpy as np

    with np.errstate(all="ignore"):
        return -np.expm1(-np.clip(surprise, 0.0, None) * math.log(10.0))


def _episodes_frame(eps: list[dict]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(eps, columns=EPISODE_COLUMNS)


def _seconds(ts: pd.Series) -> np.ndarray:
    """Timestamps as float seconds since the epoch (the time axis of the seasonal kernels)."""
    import numpy as np

    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9


def _period(ts: pd.Series, span: str, step: Any = None) -> int | None:
    """Points per ``span`` for a regular series (median step), or None if < 4 or > 20,000."""
    import pandas as pd

    if len(ts) < 3:
        return None
    if step is None:
        step = ts.diff().dropna().median()
    if pd.isna(step) or step <= pd.Timedelta(0):
        return None
    p = int(round(pd.Timedelta(span) / step))
    return p if 4 <= p <= 20000 else None


# ---------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------
#: points per series drawn in the overview chart (min/max per bin)
CHART_BINS = 200
#: series drawn in the overview chart (those with the most detections first)
CHART_SERIES = 6
#: anomaly markers drawn per chart
CHART_MARKS = 500


class AnomalyResult(Result):
    """Anomalies in metric series.

    Attributes
    ----------
    anomalies : DataFrame
        One row per input point, in the input's order: ``timestamp`` (UTC), ``service``,
        ``metric``, ``value``, ``score`` (anomaly likelihood 1 - p in [0, 1] where it is a new
        high over the refractory span, else 0, and 0 in the refractory span after a
        detection, so ``score >= threshold`` is exactly ``is_anomaly``; NaN while learning),
        ``is_anomaly`` (a detection: the onset of an anomalous episode), ``deviation`` (the
        method's robust z), ``method``.
    episodes : DataFrame
        One row per anomalous episode: ``service``, ``metric``, ``onset``, ``end``,
        ``points`` (points above half the threshold), ``peak_score`` (``-log10 p`` of the
        peak: unbounded, so episode strengths compare -- likelihoods of strong anomalies all
        round to 1; root-cause ranking weighs them on this scale), ``peak_value`` (the most
        extreme value: largest |deviation|), ``method``, ``ongoing`` (still above half the
        threshold at the last point scored; a streaming detector reports it again, updated,
        with the next chunk), ``peak_likelihood`` (the peak as a likelihood, the scale of
        ``anomalies.score``). Sorted by onset.
    methods : DataFrame
        Per series: ``service``, ``metric``, ``method`` (what ``auto`` picked), ``reason``,
        ``points`` seen so far, ``period`` (points per season, 0 if none), ``step`` (median
        sampling interval), ``window`` and ``history`` (points).
    params : dict
        The detector's configuration.
    """

    kind = "anomalies"

    def __init__(self, anomalies: pd.DataFrame, episodes: pd.DataFrame, methods: pd.DataFrame,
                 params: dict[str, Any]) -> None:
        super().__init__()
        self.anomalies = anomalies
        self.episodes = episodes.sort_values("onset", kind="stable").reset_index(drop=True)
        self.methods = methods
        self.params = params

    @property
    def title(self) -> str:
        return "Metric anomalies"

    @property
    def detections(self) -> pd.DataFrame:
        """The rows of ``anomalies`` where ``is_anomaly`` is true."""
        return self.anomalies[self.anomalies["is_anomaly"]]

    def onsets(self) -> pd.DataFrame:
        """First detection per series: ``service``, ``metric``, ``onset``, ``peak_score``.

        Sorted by onset: the series that went wrong first comes first.
        """
        import pandas as pd

        if self.episodes.empty:
            return pd.DataFrame(columns=["service", "metric", "onset", "peak_score"])
        g = self.episodes.groupby(["service", "metric"], sort=False)
        out = g.agg(onset=("onset", "min"), peak_score=("peak_score", "max")).reset_index()
        return out.sort_values("onset", kind="stable").reset_index(drop=True)

    def summary(self) -> str:
        n_series = len(self.methods)
        n_ep = len(self.episodes)
        hit = self.episodes[["service", "metric"]].drop_duplicates().shape[0] if n_ep else 0
        first = ""
        if n_ep:
            e = self.episodes.iloc[0]
            first = f"; first at {e['onset']} on {e['service']}/{e['metric']}"
        return (f"{n_ep} anomalous episode(s) in {hit} of {n_series} series "
                f"({len(self.anomalies):,} points){first}")

    def figures(self) -> list[dict[str, Any]]:
        n_ep = len(self.episodes)
        methods = self.methods["method"].value_counts().to_dict() if len(self.methods) else {}
        return [
            {"label": "series", "value": len(self.methods)},
            {"label": "points", "value": len(self.anomalies)},
            {"label": "episodes", "value": n_ep, "status": "warn" if n_ep else "ok"},
            {"label": "methods", "value": ", ".join(f"{k} {v}" for k, v in methods.items())
             or "-"},
        ]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"episodes": self.episodes, "methods": self.methods,
                "detections": self.detections.reset_index(drop=True)}

    def explanations(self) -> list[tuple[str, str]]:
        p = self.params
        lines = [
            "Each series gets a deviation (robust z against the previous "
            f"{_spec(p['window'])}, or against its seasonal profile, or an IsolationForest "
            "score over the service's metrics); spans are turned into points with each "
            "series' own median sampling interval. The score is the likelihood 1 - p of the "
            f"average deviation of the last {_spec(p['short'])} given the previous "
            f"{_spec(p['history'])}, shown where it is a new high; a detection fires at "
            f"score >= {p['threshold']:g}, then the series is quiet (score 0) for "
            f"{_spec(p['refractory'])}.",
        ]
        for r in self.methods.head(20).itertuples():
            lines.append(f"{r.service}/{r.metric}: {r.method} ({r.reason}; step {r.step}, "
                         f"window {r.window} points)")
        return [("How anomalies were found", "\n".join(lines))]

    def chart_data(self, bins: int = CHART_BINS, max_series: int = CHART_SERIES) -> tuple[
            pd.DataFrame, pd.DataFrame]:
        """Aggregated data of the chart: per series and time bin the min/max value, and the
        detections (capped at :data:`CHART_MARKS`)."""
        import pandas as pd

        a = self.anomalies
        if a.empty:
            return (pd.DataFrame(columns=["series", "time", "lo", "hi"]),
                    pd.DataFrame(columns=["series", "timestamp", "value", "score"]))
        a = a.assign(series=a["service"] + "/" + a["metric"])
        counts = a.groupby("series")["is_anomaly"].sum().sort_values(ascending=False,
                                                                     kind="stable")
        keep = list(counts.index[:max_series])
        a = a[a["series"].isin(keep)]
        t0, t1 = a["timestamp"].min(), a["timestamp"].max()
        width = max((t1 - t0) / bins, pd.Timedelta(seconds=1))
        b = ((a["timestamp"] - t0) // width).clip(upper=bins - 1)
        agg = a.assign(bin=b).groupby(["series", "bin"]).agg(
            lo=("value", "min"), hi=("value", "max")).reset_index()
        agg["time"] = t0 + agg["bin"] * width + width / 2
        marks = a[a["is_anomaly"]][["series", "timestamp", "value", "score"]]
        marks = marks.head(CHART_MARKS)
        return agg[["series", "time", "lo", "hi"]], marks.reset_index(drop=True)

    def charts(self) -> dict[str, Any]:
        import altair as alt
        import pandas as pd

        agg, marks = self.chart_data()
        if agg.empty:
            return {}
        # one data source (a faceted layer needs it): bins and detections, told apart by kind
        data = pd.concat([
            agg.assign(kind="range"),
            marks.rename(columns={"timestamp": "time", "value": "detected"}).assign(
                kind="detection"),
        ], ignore_index=True)
        base = alt.Chart().encode(x=alt.X("time:T", title="time"))
        band = base.transform_filter(alt.datum.kind == "range").mark_area(opacity=0.5).encode(
            y=alt.Y("lo:Q", title="value (min-max per bin)"), y2="hi:Q")
        pts = base.transform_filter(alt.datum.kind == "detection").mark_point(
            color="red", size=60, filled=True).encode(
            y="detected:Q", tooltip=["series:N", "time:T", "detected:Q", "score:Q"])
        chart = alt.layer(band, pts, data=data).properties(width=600, height=90).facet(
            row=alt.Row("series:N", title=None)).resolve_scale(y="independent")
        return {"series": chart}


# ---------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------
def detect_anomalies(metrics: Any, method: str = "auto", window: str | int = "1D",
                     threshold: float = 0.999999, refractory: str | int | None = None,
                     short: str | int = 10, history: str | int = "7D", cycles: int = 3,
                     learn: float = 0.15,
                     spatial: float = 0.05, seed: int = 0, service: str | None = None,
                     metric: str | None = None, min_points: int = 100,
                     log_ratio: float = 0.0, context: int = 5, engine: str | None = None,
                     client: Any = None, progress: bool = False) -> AnomalyResult:
    """Find anomalies in metric series (one result for the whole input).

    Equivalent to ``AnomalyDetector(...).score(metrics)`` on a fresh detector: each series
    learns on its first ``learn`` fraction (method choice, IsolationForest), then every point
    is scored causally -- only from the points before it.

    Parameters
    ----------
    metrics : DataFrame or path
        Long frame ``timestamp, service, metric, value`` (``service``/``metric`` optional:
        a ``timestamp, value`` frame is one series).
    method : {"auto", "robust", "seasonal", "iforest"}
        See :class:`AnomalyDetector`; ``auto`` picks per series and says why in
        ``result.methods``.
    window, threshold, refractory, short, history, cycles, learn, spatial, seed, min_points,
    log_ratio, context
        See :class:`AnomalyDetector`. Spans are durations (``"1D"``) turned into points by
        each series' own median sampling interval, or numbers of points.
    service, metric : str, optional
        Only these series.
    engine, client, progress
        ``engine="dask"`` (implied by a Dask DataFrame): services spread over a Dask
        cluster, same result (see ``docs/scale.md``).

    Returns
    -------
    AnomalyResult
        ``.anomalies`` (one row per input point, input order), ``.episodes``, ``.methods``.

    Examples
    --------
    >>> res = detect_anomalies(metrics)                # doctest: +SKIP
    >>> res.episodes[["service", "metric", "onset"]]   # doctest: +SKIP
    """
    from ..provenance import make_provenance
    from ..scale import is_dask

    if engine is not None or is_dask(metrics):  # Dask: jupyter_ops.scale.anomalies
        from ..scale.anomalies import detect_anomalies_dask

        return detect_anomalies_dask(
            metrics, client=client, progress=progress, service=service, metric=metric,
            method=method, window=window, threshold=threshold, refractory=refractory,
            short=short, history=history, cycles=cycles, learn=learn, spatial=spatial, seed=seed,
            min_points=min_points, log_ratio=log_ratio, context=context)
    df = _select(_canonical(metrics), service, metric)
    det = AnomalyDetector(method=method, window=window, threshold=threshold,
                          refractory=refractory, short=short, history=history, cycles=cycles,
                          learn=learn, spatial=spatial, seed=seed, min_points=min_points,
                          log_ratio=log_ratio, context=context)
    result = det.score(df)
    result.provenance = make_provenance(
        "detect_anomalies", dict(det.params, service=service, metric=metric),
        inputs={"metrics": df}, seed=seed)
    return result
