"""Per-source flags of alert correlation: exact duplicates, repeats and flapping sources."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._incidents import lenient_utc, to_ns, to_timedelta


def source_flags(alerts: pd.DataFrame, flap_count: int = 3,
                 flap_resolve: str | pd.Timedelta = "10min",
                 flap_gap: str | pd.Timedelta = "30min") -> tuple[np.ndarray, np.ndarray]:
    """Only the per-source flags of :func:`correlate` (same code, no linking): cheap.

    Parameters
    ----------
    alerts : DataFrame
        Canonical alerts: ``timestamp`` (UTC), ``fingerprint``, optional ``resolved_at``
        (e.g. :attr:`Correlation.alerts`, or what :func:`jupyter_ops.io.load_alerts` gives).
    flap_count, flap_resolve, flap_gap
        As in :func:`correlate`.

    Returns
    -------
    duplicate, flapping : ndarray of bool
        Per alert in input order: an exact duplicate of an earlier alert (same fingerprint and
        time); part of a flapping source.
    """
    fr = to_timedelta(flap_resolve, "flap_resolve")
    fg = to_timedelta(flap_gap, "flap_gap")
    ts = to_ns(alerts["timestamp"])
    order = _time_order(ts)
    f = pd.factorize(alerts["fingerprint"])[0][order].astype(np.int64)
    _, _, _, _, _, dup, flap = _source_pairs(ts[order], f, _resolved_ns(alerts, order),
                                             flap_count, fr, fg)
    out_dup = np.empty(len(ts), dtype=bool)
    out_flap = np.empty(len(ts), dtype=bool)
    out_dup[order], out_flap[order] = dup, flap
    return out_dup, out_flap


def _resolved_ns(df: pd.DataFrame, order: np.ndarray) -> np.ndarray | None:
    """``resolved_at`` in nanoseconds, time order (NaT = int64 min), or None."""
    if "resolved_at" not in df.columns:
        return None
    try:
        return to_ns(lenient_utc(df["resolved_at"]))[order]
    except (TypeError, ValueError):
        return None


def _source_pairs(t: np.ndarray, f: np.ndarray, res: np.ndarray | None, flap_count: int,
                  flap_resolve: pd.Timedelta, flap_gap: pd.Timedelta) -> tuple[Any, ...]:
    """Consecutive occurrences ``a -> b`` of one source (time positions; their times and
    ``a``'s resolution) and the per-alert duplicate and flapping flags, in time order."""
    n = len(t)
    nat = np.iinfo(np.int64).min
    fo = np.argsort(_small(f), kind="stable")  # by fingerprint, then time (radix sort)
    same = np.zeros(n, dtype=bool)
    same[1:] = f[fo[1:]] == f[fo[:-1]]
    a, b = fo[:-1][same[1:]], fo[1:][same[1:]]  # consecutive occurrences of one source
    ta, tb = t[a], t[b]
    dup = np.zeros(n, dtype=bool)
    dup[b[tb == ta]] = True
    flap = np.zeros(n, dtype=bool)
    ra = res[a] if res is not None else None
    if ra is not None and flap_count > 0 and len(a):
        cyc = (ra != nat) & (ra - ta <= flap_resolve.value) & (tb > ra) & \
              (tb - ra <= flap_gap.value)
        cycles = np.bincount(f[a][cyc], minlength=int(f.max()) + 1 if n else 0)
        flap = cycles[f] >= flap_count
    return a, b, ta, tb, ra, dup, flap

def _time_order(ts: np.ndarray) -> np.ndarray:
    """Input positions in time order, ties in input order (a stable sort, skipped when the
    alerts already come in time order, the usual case)."""
    if bool((ts[1:] >= ts[:-1]).all()):
        return np.arange(len(ts))
    return np.argsort(ts, kind="stable")


def _small(code: np.ndarray) -> np.ndarray:
    """Non-negative codes in the smallest integer type: numpy's stable argsort of 16-bit
    integers is a radix sort (linear), of wider ones a merge sort."""
    hi = int(code.max()) if len(code) else 0
    if hi < np.iinfo(np.int16).max:
        return code.astype(np.int16, copy=False)
    if hi < np.iinfo(np.int32).max:
        return code.astype(np.int32, copy=False)
    return code
