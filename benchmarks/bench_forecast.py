"""Forecast and time-to-breach benchmark (one command, prints tables with the baseline).

    .venv/bin/python benchmarks/bench_forecast.py [--quick]

1. **Accuracy, rolling origin**: on the 35 development NAB series (``../shared/data/nab``) and
   on generated seasonal series (``jupyter_ops.datasets.seasonal_series``), forecasts from
   several origins per series are compared with what followed. MASE (mean absolute error
   over the in-sample MAE of the daily seasonal-naive forecast of the training part) of
   ``forecast`` and of the seasonal-naive forecast itself (same origins, same run); their
   ratio is the figure (goal <= 0.85). Interval coverage: share of actual values inside the
   80 % interval (goal: within 5 points of 80). Seasonal naive's interval: empirical 10/90 %
   quantiles of its in-sample errors.
2. **Breach warnings**: on ``jupyter_ops.datasets.capacity_scenario`` (leaks and fills with
   known breach times, look-alikes that never breach), ``time_to_breach`` runs every few hours
   of each series with a 24 h horizon. Lead time = true breach - first warning before it;
   false warnings = warning episodes on series that never breach, per series-week; early =
   warnings while the true breach was further than the horizon away. Baselines in the same
   run: seasonal naive (warns when yesterday's same time was over the line) and a linear
   trend of the last 2 days.
Nothing here is fitted to these figures: the model choices are the library defaults. The NAB
series were looked at while building, so call them in-sample; the generated series are new
draws (their seeds are not the test suite's).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NAB = ROOT.parent / "shared" / "data" / "nab"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LEVEL = 0.8


def _snaive(train: np.ndarray, h: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seasonal naive forecast (lag m; naive if too short) with empirical 80 % interval."""
    m = m if len(train) > 2 * m else 1
    reps = int(np.ceil(h / m))
    fc = np.tile(train[-m:], reps)[:h]
    err = train[m:] - train[:-m]
    lo, hi = np.quantile(err, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]) if len(err) else (0, 0)
    return fc, fc + lo, fc + hi


def _scale(train: np.ndarray, m: int) -> float:
    m = m if len(train) > 2 * m else 1
    d = np.abs(train[m:] - train[:-m])
    s = float(np.mean(d)) if len(d) else 0.0
    return s if s > 0 else float(np.mean(np.abs(np.diff(train)))) or 1.0


def rolling_origin(frames: dict[str, pd.DataFrame], horizon: str, origins: list[float]
                   ) -> dict:
    """MASE of forecast and seasonal naive, coverage, over all series and origins."""
    from jupyter_ops.aiops import forecast

    rows = []
    secs = 0.0
    for key, df in frames.items():
        ts = pd.to_datetime(df["timestamp"], utc=True)
        step = ts.diff().median()
        h = int(pd.Timedelta(horizon) / step)
        m = int(pd.Timedelta("1D") / step)
        y = df["value"].to_numpy(dtype=float)
        for f in origins:
            o = int(f * len(df))
            if o + h > len(df) or o < 20:
                continue
            train, actual = y[:o], y[o:o + h]
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fc = forecast(df.iloc[:o], horizon=horizon, level=LEVEL).forecasts
            secs += time.perf_counter() - t0
            pred = fc["forecast"].to_numpy()[:h]
            lo, hi = fc["lower"].to_numpy()[:h], fc["upper"].to_numpy()[:h]
            sn, snlo, snhi = _snaive(train, h, m)
            sc = _scale(train, m)
            rows.append(dict(
                key=key, mase=np.mean(np.abs(pred - actual)) / sc,
                mase_sn=np.mean(np.abs(sn - actual)) / sc,
                cover=np.mean((actual >= lo) & (actual <= hi)),
                cover_sn=np.mean((actual >= snlo) & (actual <= snhi))))
    r = pd.DataFrame(rows)
    return dict(n=len(r), mase=r["mase"].mean(), mase_sn=r["mase_sn"].mean(),
                ratio=r["mase"].mean() / r["mase_sn"].mean(),
                median_ratio=float(np.nanmedian((r["mase"] / r["mase_sn"]).replace(
                    [np.inf, -np.inf], np.nan))),
                cover=100 * r["cover"].mean(), cover_sn=100 * r["cover_sn"].mean(), secs=secs)


def breach_eval(seed: int, every: str, horizon: str = "24h") -> dict:
    """Lead time / false warnings of time_to_breach and two baselines on a scenario."""
    from jupyter_ops.aiops import time_to_breach
    from jupyter_ops.datasets.capacity import capacity_scenario

    sc = capacity_scenario(seed=seed, n_series=12, days=14)
    met = sc.metrics
    ts = np.sort(met["timestamp"].unique())
    step = pd.Timestamp(ts[1]) - pd.Timestamp(ts[0])
    hz = pd.Timedelta(horizon)
    origins = pd.date_range(pd.Timestamp(ts[0]) + pd.Timedelta("3D"), pd.Timestamp(ts[-1]),
                            freq=every)
    warn = {name: {} for name in ("time_to_breach", "seasonal naive", "linear trend 2D")}
    secs = 0.0
    groups = {k: g for k, g in met.groupby(["service", "metric"])}
    for o in origins:
        hist = met[met["timestamp"] <= o]
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = time_to_breach(hist, threshold=90.0, horizon=horizon).breaches
        secs += time.perf_counter() - t0
        for r in res.itertuples():
            warn["time_to_breach"][(r.service, r.metric, o)] = bool(r.will_breach)
        for (svc, mt), g in groups.items():
            y = g[g["timestamp"] <= o]["value"].to_numpy()
            m = int(pd.Timedelta("1D") / step)
            h = int(hz / step)
            sn = _snaive(y, h, m)[0]
            warn["seasonal naive"][(svc, mt, o)] = bool((sn >= 90).any() or y[-1] >= 90)
            k = int(pd.Timedelta("2D") / step)
            t = np.arange(min(k, len(y)))
            b = np.polyfit(t, y[-len(t):], 1)
            ahead = b[1] + b[0] * (t[-1] + np.arange(1, h + 1))
            warn["linear trend 2D"][(svc, mt, o)] = bool((ahead >= 90).any() or y[-1] >= 90)
    out = {}
    truth = sc.truth.set_index(["service", "metric"])
    weeks = (pd.Timestamp(ts[-1]) - origins[0]) / pd.Timedelta("7D")
    for name, w in warn.items():
        leads, false_eps, early, missed, n_never = [], 0, 0, 0, 0
        for (svc, mt), t in truth.iterrows():
            seq = [(o, w[(svc, mt, o)]) for o in origins]
            if pd.isna(t["breach_at"]):
                n_never += 1
                prev = False
                for _, on in seq:
                    false_eps += int(on and not prev)
                    prev = on
                continue
            before = [(o, on) for o, on in seq if o < t["breach_at"]]
            early += sum(on for o, on in before if t["breach_at"] - o > hz)
            first = [o for o, on in before if on and t["breach_at"] - o <= hz]
            if first:
                leads.append((t["breach_at"] - first[0]) / pd.Timedelta("1h"))
            else:
                missed += 1
        n_breach = len(truth) - n_never
        out[name] = dict(detected=f"{n_breach - missed}/{n_breach}",
                         lead_h=float(np.median(leads)) if leads else float("nan"),
                         false_per_series_week=false_eps / max(n_never * weeks, 1e-9),
                         early=early)
    out["_secs"] = secs
    out["_calls"] = len(origins)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer origins (a smoke run)")
    a = ap.parse_args(argv)
    from jupyter_ops.datasets.capacity import seasonal_series

    origins = [0.6, 0.8] if a.quick else [0.5, 0.6, 0.7, 0.8, 0.9]
    print("Rolling-origin accuracy: MASE (scale: in-sample MAE of the daily seasonal-naive "
          "forecast); coverage of the 80 % interval")
    print(f"{'series':44s}{'origins':>8s}{'MASE fc':>9s}{'MASE snaive':>12s}{'ratio':>7s}"
          f"{'median':>8s}{'cover fc':>9s}{'cover sn':>9s}{'s/fc':>7s}")
    sets = {}
    windows = NAB / "labels" / "combined_windows.json"
    if windows.is_file():
        keys = sorted(json.loads(windows.read_text()))
        sets["NAB dev series, 6h ahead (in-sample)"] = (
            {k: pd.read_csv(NAB / "data" / k) for k in keys}, "6h")
    else:
        print(f"(NAB data not found at {NAB}: skipped)")
    gen = seasonal_series(seed=2024, n_series=4 if a.quick else 12)
    sets["generated seasonal (hourly), 24h ahead"] = (
        {s: g[["timestamp", "value"]].reset_index(drop=True)
         for s, g in gen.groupby("service")}, "24h")
    for name, (frames, hz) in sets.items():
        r = rolling_origin(frames, hz, origins)
        print(f"{name:44s}{r['n']:8d}{r['mase']:9.3f}{r['mase_sn']:12.3f}{r['ratio']:7.2f}"
              f"{r['median_ratio']:8.2f}{r['cover']:9.1f}{r['cover_sn']:9.1f}"
              f"{r['secs'] / max(r['n'], 1):7.2f}")
    print("ratio = mean MASE of forecast / mean MASE of seasonal naive (goal <= 0.85); "
          "median = median of the per-origin ratios; nominal coverage 80.0")
    print("\nBreach warnings on capacity_scenario(seed=7): 12 series x 14 days (5-min), "
          "threshold 90, horizon 24h, a check every " + ("8h" if a.quick else "4h"))
    b = breach_eval(7, "8h" if a.quick else "4h")
    print(f"{'method':24s}{'breaches warned':>16s}{'median lead h':>15s}"
          f"{'false /series-week':>20s}{'early checks':>14s}")
    for name in ("time_to_breach", "seasonal naive", "linear trend 2D"):
        r = b[name]
        print(f"{name:24s}{r['detected']:>16s}{r['lead_h']:15.1f}"
              f"{r['false_per_series_week']:20.2f}{r['early']:14d}")
    print(f"time_to_breach: {b['_secs'] / b['_calls']:.2f} s per call of 12 series "
          f"({b['_calls']} calls); machine shared with other jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
