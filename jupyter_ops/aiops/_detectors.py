"""Numeric kernels of :mod:`jupyter_ops.aiops.anomaly`: causal per-series scores.

Every kernel is *causal with a bounded look-back*: the score of point ``t`` depends only on
points ``t - lookback .. t``. Streaming then needs nothing but the tail of each stage's input
(see :class:`Tail`): scoring ``history + chunk`` and keeping the chunk's part gives exactly the
same numbers as scoring the whole series at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: IQR of a standard normal; IQR / this is a robust estimate of sigma
_IQR_SIGMA = 1.3489795
#: scale floor relative to the level of the series, so near-constant series do not explode
_REL_FLOOR = 1e-3


@dataclass
class Tail:
    """The last ``keep`` inputs of one stage (its streaming state)."""

    keep: int
    values: np.ndarray = field(default_factory=lambda: np.empty(0))

    def extend(self, new: np.ndarray) -> tuple[np.ndarray, int]:
        """``(history + new, offset of new)``, and remember the tail for the next call."""
        full = np.concatenate([self.values, np.asarray(new, dtype=float)])
        self.values = full[max(0, len(full) - self.keep):].copy()
        return full, len(full) - len(new)


def robust_z(x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Signed robust z of each point against the ``window`` points before it.

    Centre = rolling median, scale = rolling IQR / 1.349 (the normal-consistent robust sigma,
    like 1.4826 * MAD), floored at ``1e-3 * |median|`` so a flat series with a tiny wobble is
    not infinitely surprising. NaN where fewer than ``min_periods`` earlier points exist.
    """
    x = np.asarray(x, dtype=float)
    # +-inf is no measurement: it gets no z and stays out of every later statistic
    s = pd.Series(np.where(np.isfinite(x), x, np.nan))
    r = s.rolling(window, min_periods=min_periods)
    med = r.median().shift(1)
    q75, q25 = r.quantile(0.75).shift(1), r.quantile(0.25).shift(1)
    scale = (q75 - q25) / _IQR_SIGMA
    # a window with > 50 % identical values has IQR 0: fall back to the mean absolute deviation
    # (each point's share clipped at 20x the previous window's 90th percentile of the absolute
    # deviation, so one gross value such as 1e308 cannot inflate the scale for a whole window)
    if (scale <= 0).any():  # only then is the fallback needed (and worth its cost)
        ad = (s - med).abs()
        cap = 20 * ad.rolling(window, min_periods=min_periods).quantile(0.9).shift(1)
        # (a window with > 90 % identical values has no such percentile: no clip there)
        ad = ad.where(~((ad > cap) & (cap > 0)), cap)
        mad = ad.rolling(window, min_periods=min_periods).mean().shift(1) * 1.2533
        scale = scale.where(scale > 0, mad)
    floor = np.maximum(_REL_FLOOR * med.abs(), 1e-9)
    scale = np.maximum(scale, floor)
    return ((s - med) / scale).to_numpy()


def seasonal_residual(x: np.ndarray, period: int, cycles: int) -> np.ndarray:
    """``x - median(x[t - k * period] for k = 1..cycles)``: distance from the seasonal profile.

    Needs at least one earlier cycle; NaN before that.
    """
    n = len(x)
    lagged = np.full((cycles, n), np.nan)
    for k in range(1, cycles + 1):
        lag = k * period
        if lag < n:
            lagged[k - 1, lag:] = x[:n - lag]
    with np.errstate(all="ignore"), _quiet():
        base = np.nanmedian(lagged, axis=0)
    return x - base


def seasonal_residual_at(x: np.ndarray, t: np.ndarray, period: int, step: float,
                         cycles: int, max_back: int) -> np.ndarray:
    """:func:`seasonal_residual` with the lags taken in *time*: the baseline of point ``i``
    is the median of the values nearest to ``t[i] - k * period * step`` (``k = 1..cycles``),
    each within half a ``step`` of it and at most ``max_back`` points back (the streaming
    tail, so chunked scoring equals batch); NaN where no such point exists.

    On a regular series the nearest point is exactly ``period * k`` points back, so the
    result equals :func:`seasonal_residual`; on an irregular one (dropped points, gaps) a
    point lag would compare with the wrong time of day.
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    n = len(x)
    idx = np.arange(n)
    lagged = np.full((cycles, n), np.nan)
    for k in range(1, cycles + 1):
        target = t - k * period * step
        j = np.searchsorted(t, target, side="left")
        # the nearer of the points either side of the target
        jl = np.clip(j - 1, 0, max(n - 1, 0))
        jr = np.clip(j, 0, max(n - 1, 0))
        pick = np.where(np.abs(t[jl] - target) < np.abs(t[jr] - target), jl, jr)
        ok = (np.abs(t[pick] - target) <= step / 2) & (pick < idx) & (idx - pick <= max_back)
        lagged[k - 1, ok] = x[pick[ok]]
    with np.errstate(all="ignore"), _quiet():
        base = np.nanmedian(lagged, axis=0)
    return x - base


def on_time_grid(x: np.ndarray, t: np.ndarray, step: float) -> np.ndarray:
    """``x`` placed on a regular grid of ``step`` seconds from ``t[0]`` (NaN in empty slots,
    the mean where several points share one), so a point lag is a time lag. A series already
    regular comes back unchanged; one whose grid would be over 20x longer (a huge gap) too."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    if len(x) < 2 or not step > 0:
        return x
    slot = np.rint((t - t[0]) / step).astype(np.int64)
    if len(slot) == slot[-1] + 1 and (np.diff(slot) == 1).all():
        return x
    size = int(slot.max()) + 1
    if size > 20 * len(x) or (slot < 0).any():
        return x
    ok = np.isfinite(x)
    total = np.bincount(slot[ok], weights=x[ok], minlength=size)
    count = np.bincount(slot[ok], minlength=size)
    with np.errstate(all="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def tail_likelihood(a: np.ndarray, short: int, long: int, min_periods: int,
                    sd_floor: float = 1e-3) -> np.ndarray:
    """Surprise of the recent average of ``a`` given its own history, as ``-log10(p)``.

    Like Numenta's *anomaly likelihood*: ``m_t`` = mean of ``a`` over the last ``short``
    points; its history over the ``long`` points before the current short window gives a
    mean and standard deviation; ``p`` is the Gaussian tail probability of ``m_t`` under them.
    The standard deviation is never taken below ``sd_floor``.
    """
    s = pd.Series(a)
    m = s.rolling(short, min_periods=1).mean()
    hist = m.shift(short).rolling(long, min_periods=min_periods)
    # mean/std, not median/IQR: regular spikes must widen the reference, or they alarm forever
    mu = hist.mean()
    sd = np.maximum(hist.std(), sd_floor)
    z = ((m - mu) / sd).to_numpy()
    return neglog10_tail(z)


def neglog10_tail(z: np.ndarray) -> np.ndarray:
    """``-log10 P(Z >= z)`` for a standard normal ``Z`` (NaN stays NaN)."""
    from scipy.special import log_ndtr

    with np.errstate(all="ignore"):
        return -log_ndtr(-np.asarray(z, dtype=float)) / math.log(10.0)


class _quiet:
    """Silence numpy's 'All-NaN slice' RuntimeWarning for the cycles not yet seen."""

    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)


def daily_autocorrelation(x: np.ndarray, lag: int) -> float:
    """Autocorrelation of ``x`` at ``lag`` (NaN-safe); 0 when it cannot be computed."""
    x = np.asarray(x, dtype=float)
    if lag <= 0 or len(x) < 2 * lag:
        return 0.0
    a, b = x[lag:], x[:-lag]
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < lag // 2:
        return 0.0
    a, b = a[ok], b[ok]
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


#: a value further than this many ranges outside the running range is a gross outlier: it is
#: flagged but widens the range only when the next value is gross on the same side too (a
#: level shift), so one 1e308 cannot hide every later spike
GROSS = 10.0


def spatial_outlier_running(x: np.ndarray, hi: float, lo: float, count: int,
                            min_periods: int, tolerance: float, prev_gross: int = 0
                            ) -> tuple[np.ndarray, float, float, int, int]:
    """True where ``x`` leaves the range of *all* earlier points by more than ``tolerance``
    times that range (Numenta's *spatial anomaly* rule, tolerance 0.05).

    ``hi``, ``lo``, ``count``, ``prev_gross`` (+1/-1: the last value was a gross outlier
    above/below, 0: not) are the running state before ``x``; returns the flags and the new
    state. No flag until ``min_periods`` non-missing points are behind the range. Non-finite
    values never enter the range.
    """
    v = np.asarray(x, dtype=float)
    v = np.where(np.isfinite(v), v, np.nan)
    ok = ~np.isnan(v)
    excluded = np.zeros(len(v), dtype=bool)
    for _ in range(50):  # each pass settles one isolated gross outlier (rare)
        out, hit, g = _spatial_pass(v, ok, ok & ~excluded, hi, lo, count, min_periods, tolerance,
                                    prev_gross)
        if hit < 0:
            break
        excluded[hit] = True
    keep = ok & ~excluded
    if len(v):
        hi = max(hi, float(np.where(keep, v, -np.inf).max()))
        lo = min(lo, float(np.where(keep, v, np.inf).min()))
        count += int(keep.sum())
    return out, hi, lo, count, g


def _spatial_pass(v: np.ndarray, valid: np.ndarray, ok: np.ndarray, hi: float, lo: float,
                  count: int, min_periods: int, tolerance: float, prev_gross: int
                  ) -> tuple[np.ndarray, int, int]:
    """One pass of the range rule: the range is made of the values marked ``ok``, every
    ``valid`` value is judged. Returns the flags, the first isolated gross outlier still in
    the range (-1: none), and the gross state after the last value."""
    filled_hi = np.where(ok, v, -np.inf)
    filled_lo = np.where(ok, v, np.inf)
    run_hi = np.maximum.accumulate(np.concatenate([[hi], filled_hi]))[:-1]
    run_lo = np.minimum.accumulate(np.concatenate([[lo], filled_lo]))[:-1]
    run_n = count + np.concatenate([[0], np.cumsum(ok)])[:-1]
    span = run_hi - run_lo
    with np.errstate(invalid="ignore", over="ignore"):
        ready = valid & (run_n >= min_periods) & np.isfinite(span) & (span > 0)
        out = ready & ((v > run_hi + tolerance * span) | (v < run_lo - tolerance * span))
        side = np.where(ready & (v > run_hi + GROSS * span), 1,
                        np.where(ready & (v < run_lo - GROSS * span), -1, 0))
    # gross and not preceded by a gross value on the same side: isolated, keep it out
    prev = np.concatenate([[prev_gross], side[:-1]])
    iso = np.flatnonzero((side != 0) & (prev != side) & ok)
    last = int(side[-1]) if len(side) else prev_gross
    return out, (int(iso[0]) if len(iso) else -1), last


def knn_conformal(x: np.ndarray, n0: int, start: int, lag: int, k: int, block: int,
                  ref: int, max_ref: int) -> np.ndarray:
    """Contextual surprise of each point: ``-log10`` of a conformal k-NN p-value.

    After KNN-CAD (Burnaev & Ishimtsev 2016, *Conformalized density- and distance-based
    anomaly detection in time-series data*), written from the paper and vectorised: the
    context of point ``t`` is the window of its last ``lag`` values; its nonconformity is the
    mean distance to its ``k`` nearest contexts in a reference set; the p-value is the share
    of the reference's own nonconformities (each against the rest of the reference) that are
    at least as large. So the score is scale-free and calibrated whatever the series.

    Causal and block-wise so it streams: points are grouped in blocks of ``block`` by their
    absolute index (``n0`` is the absolute index of ``x[0]``); every point of a block uses the
    contexts ending in the ``ref`` points before the block, every ``ceil(ref / max_ref)``-th
    one (by absolute index, so a later chunk picks the same ones). Contexts that share a
    value are never each other's neighbours (an overlapping window is trivially close).
    Only ``x[start:]`` is scored (the rest is history); NaN where a context holds a
    non-finite value or the reference has fewer than ``4 * k`` contexts.

    Returns an array of ``len(x) - start`` surprises (``-log10 p``, ``p`` in
    ``[1 / (R + 1), 1]``).
    """
    from numpy.lib.stride_tricks import sliding_window_view

    x = np.asarray(x, dtype=float)
    n = len(x)
    out = np.full(n - start, np.nan)
    if n < lag:
        return out
    ctx = sliding_window_view(x, lag)            # ctx[j] ends at x[j + lag - 1]
    ok = np.isfinite(ctx).all(axis=1)
    ctx = np.where(ok[:, None], ctx, 0.0)
    stride = max(1, -(-ref // max_ref))
    first = max(start, lag - 1)
    a_first, a_last = n0 + first, n0 + n - 1
    for b in range(a_first // block, a_last // block + 1):
        b0 = b * block
        lo_t, hi_t = max(b0, a_first), min(b0 + block - 1, a_last)  # absolute test span
        # reference context ends: absolute in [b0 - ref, b0 - 1], on the stride grid
        e0 = max(b0 - ref, n0 + lag - 1)
        e0 += (-e0) % stride
        ends = np.arange(e0, b0, stride)
        ends = ends[ok[ends - n0 - lag + 1]] if len(ends) else ends
        if len(ends) < 4 * k:
            continue
        R = ctx[ends - n0 - lag + 1]
        T_end = np.arange(lo_t, hi_t + 1)
        T = ctx[T_end - n0 - lag + 1]
        # centre and scale (conditioning only: p-values do not depend on the unit), clipped
        # so a gross value such as 1e308 cannot overflow the squared distances
        centre = np.median(R, axis=0)
        scale = max(float(np.percentile(np.abs(R - centre), 90)), 1e-12)
        R = np.clip((R - centre) / scale, -1e6, 1e6)
        T = np.clip((T - centre) / scale, -1e6, 1e6)
        rr = (R * R).sum(axis=1)
        # einsum, not ``@``: these products are small, and a multi-threaded BLAS costs more
        # in thread start-up than it saves (3x slower on a loaded 2-core machine)
        d_ref = rr[:, None] + rr[None, :] - 2.0 * np.einsum("ik,jk->ij", R, R)
        d_ref[np.abs(ends[:, None] - ends[None, :]) < lag] = np.inf   # self and overlaps
        d_t = (T * T).sum(axis=1)[:, None] + rr[None, :] - 2.0 * np.einsum("ik,jk->ij", T, R)
        d_t[np.abs(T_end[:, None] - ends[None, :]) < lag] = np.inf
        kk = min(k, len(ends) - 2 * lag)
        if kk < 1:
            continue
        a_ref = np.sqrt(np.maximum(np.partition(d_ref, kk - 1, axis=1)[:, :kk], 0)).mean(1)
        a_t = np.sqrt(np.maximum(np.partition(d_t, kk - 1, axis=1)[:, :kk], 0)).mean(1)
        a_ref.sort()
        # p = (1 + #{reference >= a_t}) / (R + 1)
        ge = len(a_ref) - np.searchsorted(a_ref, a_t, side="left")
        p = (1.0 + ge) / (len(a_ref) + 1.0)
        s = -np.log10(p)
        s[~ok[T_end - n0 - lag + 1]] = np.nan
        out[T_end - n0 - start] = s
    return out
