"""Generated capacity scenarios with known breach times: leaks, fills, and series that never
breach (ground truth for :func:`jupyter_ops.aiops.time_to_breach`). Deterministic by seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["capacity_scenario", "CapacityScenario", "seasonal_series"]

#: kinds of series, in the order they are generated (cycled)
KINDS = ("memory_leak", "disk_fill", "steady", "daily_peaks", "sawtooth", "slow_leak")


@dataclass
class CapacityScenario:
    """Metrics and when each series truly crosses its threshold.

    Attributes
    ----------
    metrics : DataFrame
        Long frame ``timestamp, service, metric, value`` (UTC).
    truth : DataFrame
        Per series: ``service``, ``metric``, ``kind``, ``threshold``, ``breach_at`` (the first
        timestamp where the noise-free signal reaches the threshold; NaT: never).
    seed : int
    """

    metrics: pd.DataFrame
    truth: pd.DataFrame
    seed: int


def _signal(kind: str, t_hours: np.ndarray, rng: np.random.Generator, days: float
            ) -> tuple[np.ndarray, float, float]:
    """(noise-free signal, noise sd, threshold) of one series."""
    daily = np.sin(2 * np.pi * t_hours / 24.0)
    span = days * 24.0
    if kind == "memory_leak":  # linear growth from 40 %, crosses 90 at 60-90 % of the span
        at = span * rng.uniform(0.6, 0.9)
        return 40 + 50 * t_hours / at, 1.0, 90.0
    if kind == "slow_leak":  # growth with a daily cycle on top
        at = span * rng.uniform(0.7, 0.95)
        return 30 + 55 * t_hours / at + 3 * daily, 1.0, 85.0 + 3.0
    if kind == "disk_fill":  # fills in the working hours only (steps by day)
        rate = np.clip(daily, 0, None)
        cum = np.cumsum(rate)
        at_frac = rng.uniform(0.6, 0.9)
        cum = cum / cum[int(at_frac * (len(cum) - 1))]
        return 50 + 40 * cum, 0.3, 90.0
    if kind == "steady":
        return np.full(len(t_hours), 55.0), 2.0, 90.0
    if kind == "daily_peaks":  # busy days near, never over, the line
        return 60 + 22 * daily, 1.5, 90.0
    # sawtooth: grows, then log rotation frees it every 2 days, peaks stay below the line
    phase = (t_hours % 48.0) / 48.0
    return 40 + 40 * phase, 0.8, 90.0


def capacity_scenario(seed: int = 0, n_series: int = 12, days: float = 14.0,
                      freq: str = "5min", start: str = "2026-02-02") -> CapacityScenario:
    """Leak/fill scenarios with known breach times, and look-alikes that never breach.

    Parameters
    ----------
    seed : int
        Seed of every random choice (breach times, noise).
    n_series : int
        Number of series; the kinds in :data:`KINDS` are cycled.
    days : float
        Length of each series.
    freq : str
        Sampling interval.
    start : str
        First timestamp (UTC).

    Returns
    -------
    CapacityScenario
    """
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=int(pd.Timedelta(f"{days}D") / pd.Timedelta(freq)),
                       freq=freq, tz="UTC")
    t_hours = (ts - ts[0]).total_seconds().to_numpy() / 3600.0
    frames, truth = [], []
    for i in range(n_series):
        kind = KINDS[i % len(KINDS)]
        sig, sd, thr = _signal(kind, t_hours, rng, days)
        y = sig + rng.normal(0, sd, len(sig))
        service, metric = f"host-{i:02d}", ("disk_used" if "disk" in kind else "mem_used")
        hit = np.flatnonzero(sig >= thr)
        truth.append(dict(service=service, metric=metric, kind=kind, threshold=thr,
                          breach_at=ts[hit[0]] if len(hit) else pd.NaT))
        frames.append(pd.DataFrame({"timestamp": ts, "service": service, "metric": metric,
                                    "value": y}))
    tr = pd.DataFrame(truth)
    tr["breach_at"] = pd.to_datetime(tr["breach_at"], utc=True)
    return CapacityScenario(pd.concat(frames, ignore_index=True), tr, seed)


def seasonal_series(seed: int = 0, n_series: int = 8, days: float = 21.0, freq: str = "1h",
                    start: str = "2026-01-05") -> pd.DataFrame:
    """Seasonal metrics for forecast benchmarks: daily and weekly cycles, a mild trend,
    noise and occasional bursts. Long frame ``timestamp, service, metric, value``."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=int(pd.Timedelta(f"{days}D") / pd.Timedelta(freq)),
                       freq=freq, tz="UTC")
    h = (ts - ts[0]).total_seconds().to_numpy() / 3600.0
    out = []
    for i in range(n_series):
        amp_d, amp_w = rng.uniform(5, 20), rng.uniform(0, 10) * (i % 2)
        level, slope = rng.uniform(30, 70), rng.uniform(-0.02, 0.05)
        y = (level + slope * h + amp_d * np.sin(2 * np.pi * (h / 24 + rng.uniform()))
             + amp_w * np.sin(2 * np.pi * h / 168) + rng.normal(0, rng.uniform(0.5, 3), len(h)))
        bursts = rng.random(len(h)) < 0.005
        y = y + bursts * rng.uniform(5, 20, len(h))
        out.append(pd.DataFrame({"timestamp": ts, "service": f"svc-{i}", "metric": "load",
                                 "value": y}))
    return pd.concat(out, ignore_index=True)
