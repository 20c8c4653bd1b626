"""Root-cause benchmark on two independent scenario families, leave one family out.

Families:

* **A, topology walk** -- :func:`jupyter_ops.datasets.incident_scenario` (the root cause
  tends to fire first and loudest), each true incident ranked from the alerts of the
  predicted incident that holds most of its alerts;
* **B, structural causal model** -- :func:`jupyter_ops.datasets.rcascenarios.scm_scenarios`
  (random DAG, linear/non-linear lagged links, level-shift or noise-change faults, root
  alerts normal/late/never, two simultaneous roots, fan-in on a shared db).

Three more draws are reported with the shipped defaults only: B' (family B with other
seeds, looked at, not tuned on), B'' (family B with a seed fixed in round 2c before any of
its results was seen, run once with the final code) and C (:func:`family_c`, a third SCM
generator written after the method was final, after the issue's description of the peer's
simulator, one SLI alert per case). Round 2b's ranker (:data:`ROUND_2B` switches) is scored
on the same cases beside the shipped one.

Each family is scored with every alert ("all") and with only the user-facing (SLI) alerts
("sli": tier-0 services in A, services nobody calls in B). Metrics for every service are
given. A hit@k: a true root cause (either one, with two) among the first k candidates.

Leave one family out: the tuned knobs, the score weights (walk, onset, change) and how far
before the first alert the change scan looks for a cause's change (60 or 30 min), are picked
from a small grid on one family (mean top-1 over its all + sli cases) and reported on the
other; both directions are printed, the left-out figures labelled. The shipped defaults
((0.45, 0.35, 0.20), 60 min: the weights chosen on family A before family B existed, the 60
minutes from the 1-hour SLO burn-rate window, checked on family A) are printed beside them.

Peers in the same run (same metrics, same cases):

* **BARO** (Pham, Ha, Zhang, FSE 2024, "BARO: Robust Root Cause Analysis for Microservices
  via Multivariate Bayesian Online Change Point Detection"), implemented from the paper:
  multivariate BOCPD (Adams & MacKay 2007; Normal-Gamma per dimension, independent
  dimensions, hazard 1/100) over the z-scored metrics of a window around the incident picks
  the change time t*; every metric is then scored ``max |x - median| / IQR`` after t* with
  median and IQR from before t* (RobustScorer); services ranked by their best metric;
* **earliest anomaly onset**: the candidates' anomaly evidence (the same as ours), ranked
  by first onset.

Run: ``.venv/bin/python benchmarks/bench_rca.py`` (``--quick`` for fewer scenarios).
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WEIGHTS = [(0.45, 0.35, 0.20), (0.7, 0.1, 0.2), (0.2, 0.6, 0.2), (0.6, 0.4, 0.0),
           (0.3, 0.3, 0.4), (0.8, 0.2, 0.0)]
LEADS = ["60min", "30min"]  # how far before the first alert the change scan looks
B2_SEED = 2718  # B'' (round 2c): fixed before any B'' result was seen
GRID = [(w, ld) for ld in LEADS for w in WEIGHTS]  # order fixed before any run: ties -> first


# -- cases -------------------------------------------------------------------------------
def family_a(n: int) -> list[dict]:
    from jupyter_ops.aiops import correlate
    from jupyter_ops.datasets import incident_scenario

    cases = []
    for i in range(n):
        rng = np.random.default_rng(500 + i)
        s = incident_scenario(seed=200 + i, n_services=int(rng.choice([12, 20, 40])),
                              n_incidents=int(rng.integers(3, 7)), hours=24,
                              with_logs=False)
        c = correlate(s.alerts, topology=s.topology)
        front = set(s.services.loc[s.services["tier"] == 0, "service"])
        for row in s.truth.incidents.itertuples():
            m = c.assignments[s.truth.alert_incident == row.incident_id].dropna()
            if not len(m):
                continue
            inc = c.incident(int(m.mode().iloc[0]))
            al = inc.alerts
            for mode, sub in (("all", al), ("sli", al[al["service"].isin(front)])):
                if len(sub):
                    cases.append(dict(alerts=sub, metrics=s.metrics, topology=s.topology,
                                      roots={row.root_cause}, mode=mode))
    return cases


def family_b(n: int, seed: int = 11) -> list[dict]:
    """The alerts are correlated first (threshold alerts also fire on noise, hours before the
    fault); the incident ranked is the largest one (ties: the latest), as a responder would
    pick it -- no ground truth used to choose it."""
    from jupyter_ops.aiops import correlate
    from jupyter_ops.datasets.rcascenarios import scm_scenarios

    cases = []
    for mode in ("all", "sli"):
        for s in scm_scenarios(n, seed=seed, alerts=mode):
            if not len(s.alerts):
                continue
            c = correlate(s.alerts, topology=s.topology, min_severity="warning")
            if not len(c.incidents):
                continue
            inc = c.incidents.sort_values(["alerts", "start"], kind="stable").iloc[-1]
            cases.append(dict(alerts=c.incident(int(inc["incident_id"])).alerts,
                              metrics=s.metrics, topology=s.topology,
                              roots=set(s.root_causes), mode=mode))
    return cases


def family_c(n: int, seed: int = 2026) -> list[dict]:
    """A third generator, written after the method was final and never used to change it,
    after the issue's description of the peer's simulator: a random 20-node DAG (each pair
    of nodes linked with probability 0.15 in a random order), every node's latency is AR(1)
    noise (phi 0.5) plus a linear sum of its callees' deviations with lags of 0-3 minutes;
    one fault per case at a node somebody calls, a level shift (+3-6 sigma of the node's
    total) or a noise change (x3-6); 4 hours at 1-minute steps, the fault after 2.5-3.5 h.
    Only SLI alerts: one alert, on the first user-facing node (nobody calls it) whose
    robust z stays >= 3 for 3 minutes after the fault -- the one alert a responder gets."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-03-01 00:00", tz="UTC")
    cases: list[dict] = []
    while len(cases) < n:
        k, T = 20, 240
        order = rng.permutation(k)
        edges = [(int(order[i]), int(order[j])) for i in range(k) for j in range(i + 1, k)
                 if rng.random() < 0.15]  # caller -> callee, callee later in the order
        callers = {j: [a for a, b in edges if b == j] for j in range(k)}
        callees = {i: [b for a, b in edges if a == i] for i in range(k)}
        inner = [j for j in range(k) if callers[j]]
        sli = [j for j in range(k) if not callers[j] and callees[j]]
        if not inner or not sli:
            continue
        sd = rng.uniform(1, 10, k)
        own = np.zeros((k, T))
        e = rng.normal(0, 1, (k, T)) * sd[:, None]
        for t in range(1, T):
            own[:, t] = 0.5 * own[:, t - 1] + e[:, t]
        root = int(rng.choice(inner))
        tf = int(rng.integers(150, 210))
        lag = {ed: int(rng.integers(0, 4)) for ed in edges}
        w = {ed: rng.uniform(0.5, 1.2) for ed in edges}

        base = _scm(own, order, callees, lag, w)
        total_sd = base[root, :tf].std()
        fault = str(rng.choice(["level", "noise"]))
        if fault == "level":
            own[root, tf:] += rng.uniform(3, 6) * total_sd
        else:
            own[root, tf:] *= rng.uniform(3, 6)
        x = _scm(own, order, callees, lag, w) + rng.uniform(50, 500, k)[:, None]
        ref = x[:, : tf - 30]
        med = np.median(ref, axis=1)
        mad = np.median(np.abs(ref - med[:, None]), axis=1) * 1.4826 + 1e-9
        z = np.abs(x - med[:, None]) / mad[:, None]
        fire = []
        for j in sli:
            hot = z[j, tf:] >= 3
            run = hot[2:] & hot[1:-1] & hot[:-2]
            if run.any():
                fire.append((int(np.flatnonzero(run)[0]) + tf + 2, j))
        if not fire:
            continue  # nobody noticed: not an RCA case
        ta, j = min(fire)
        names = [f"n{i:02d}" for i in range(k)]
        ts = t0 + pd.to_timedelta(np.arange(T), unit="min")
        metrics = pd.DataFrame({"timestamp": np.tile(ts, k), "service": np.repeat(names, T),
                                "metric": "latency_ms", "value": x.ravel()})
        alerts = pd.DataFrame({"timestamp": [ts[ta]], "service": [names[j]],
                               "name": ["SLOLatencyBurn"], "severity": ["critical"],
                               "message": [f"latency SLO burning on {names[j]}"]})
        topo = pd.DataFrame([(names[a], names[b]) for a, b in edges],
                            columns=["caller", "callee"])
        cases.append(dict(alerts=alerts, metrics=metrics, topology=topo, roots={names[root]},
                          mode="sli"))
    return cases


def _scm(own: np.ndarray, order: np.ndarray, callees: dict, lag: dict, w: dict) -> np.ndarray:
    """Each node's deviation: its own term plus its callees' lagged, weighted deviations."""
    k, T = own.shape
    dev = np.zeros((k, T))
    for j in (int(x) for x in order[::-1]):  # callees (later in the order) first
        d = own[j].copy()
        for c in callees[j]:
            L = lag[(j, c)]
            d += w[(j, c)] * np.concatenate([np.zeros(L), dev[c][:T - L]])
        dev[j] = d
    return dev


# -- methods -------------------------------------------------------------------------------
def ours(case: dict, lead: str = "60min") -> pd.DataFrame:
    from jupyter_ops.aiops import rank_root_causes
    from jupyter_ops.aiops import rootcause as rc

    saved = rc.SCAN_SEARCH
    rc.SCAN_SEARCH = lead  # the benchmark's knob only
    try:
        return rank_root_causes(case["alerts"], metrics=case["metrics"],
                                topology=case["topology"], top=None)
    finally:
        rc.SCAN_SEARCH = saved


ROUND_2B = {"OWN_PART": False, "CHANGE_POINT_ONSET": False, "SCALE_SCAN": False,
            "MARGINAL_ONSET": False}  # the switches that give back round 2b's ranker


def ours_2b(case: dict) -> list[str]:
    """Round 2b's ranker (level scan on the raw series, first-crossing onsets), same run."""
    from jupyter_ops.aiops import rootcause as rc

    saved = {k: getattr(rc, k) for k in ROUND_2B}
    for k, v in ROUND_2B.items():
        setattr(rc, k, v)
    try:
        return rescore(ours(case), (0.45, 0.35, 0.20))
    finally:
        for k, v in saved.items():
            setattr(rc, k, v)


def rescore(r: pd.DataFrame, w: tuple) -> list[str]:
    if r.empty:
        return []
    sc = w[0] * r["walk"] + w[1] * r["onset_score"] + w[2] * r["change_score"]
    return list(r.assign(_s=sc).sort_values("_s", ascending=False, kind="stable")["service"])


def earliest_onset(case: dict) -> list[str]:
    from jupyter_ops.aiops import rootcause as rc
    from jupyter_ops.aiops._incidents import canonical_alerts
    from jupyter_ops.aiops.correlation import Incident

    al = canonical_alerts(case["alerts"]).sort_values("timestamp")
    inc = Incident(1, al, al["timestamp"].min(), al["timestamp"].max(),
                   tuple(dict.fromkeys(al["service"])), "", "")
    ep = rc._detect(case["metrics"], [inc], rc._DepGraph(case["topology"]), None)
    if ep is None or not len(ep):
        return list(dict.fromkeys(al["service"]))
    lb = pd.Timedelta("15min")
    ep = ep[(ep["end"] >= inc.start - lb) & (ep["onset"] <= inc.end)]
    order = ep.sort_values(["onset", "peak_score"], ascending=[True, False], kind="stable")
    return list(dict.fromkeys(list(order["service"].astype(str)) + list(al["service"])))


def baro(case: dict, before: str = "120min", after: str = "30min") -> list[str]:
    al = case["alerts"]
    t_alert = pd.to_datetime(al["timestamp"], utc=True).min()
    m = case["metrics"].copy()
    m["timestamp"] = pd.to_datetime(m["timestamp"], utc=True)
    m = m[(m["timestamp"] >= t_alert - pd.Timedelta(before))
          & (m["timestamp"] <= t_alert + pd.Timedelta(after))]
    wide = m.pivot_table(index="timestamp", columns=["service", "metric"], values="value")
    wide = wide.sort_index().ffill().bfill()
    x = wide.to_numpy(dtype=float)
    if len(x) < 20:
        return []
    ref = x[: max(10, len(x) // 3)]
    z = (x - ref.mean(axis=0)) / (ref.std(axis=0) + 1e-9)
    t_star = bocpd_change(z)
    pre, post = x[:t_star], x[t_star:]
    med = np.median(pre, axis=0)
    q1, q3 = np.percentile(pre, [25, 75], axis=0)
    score = np.max(np.abs(post - med) / (q3 - q1 + 1e-9), axis=0)
    svc = [c[0] for c in wide.columns]
    best: dict[str, float] = {}
    for s, v in zip(svc, score, strict=True):
        best[s] = max(best.get(s, -1.0), float(v))
    return sorted(best, key=lambda s: -best[s])


def bocpd_change(z: np.ndarray, hazard: float = 1 / 100, lag: int = 8) -> int:
    """Multivariate BOCPD (Normal-Gamma per dimension, independent dimensions): the time
    with the highest posterior probability that a new run started there, ``lag`` samples on.
    """
    from scipy.special import gammaln

    T, D = z.shape
    z = np.clip(z, -50, 50)
    mu0, k0, a0, b0 = 0.0, 1.0, 1.0, 1.0
    logR = np.full((T + 1, T + 1), -np.inf)
    logR[0, 0] = 0.0
    mu = np.full((1, D), mu0)
    kap = np.full((1, D), k0)
    alp = np.full((1, D), a0)
    bet = np.full((1, D), b0)
    lh, l1h = np.log(hazard), np.log(1 - hazard)
    for t in range(T):
        xt = z[t]
        scale = np.sqrt(bet * (kap + 1) / (alp * kap))
        nu = 2 * alp
        r = (xt - mu) / scale
        logp = (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - np.log(scale)
                - (nu + 1) / 2 * np.log1p(r * r / nu)).sum(axis=1)
        prev = logR[t, : t + 1]
        grow = prev + logp + l1h
        cp = np.logaddexp.reduce(prev + logp + lh)
        new = np.concatenate([[cp], grow])
        new -= np.logaddexp.reduce(new)
        logR[t + 1, : t + 2] = new
        mu_n = (kap * mu + xt) / (kap + 1)
        bet_n = bet + kap * (xt - mu) ** 2 / (2 * (kap + 1))
        mu = np.vstack([np.full((1, D), mu0), mu_n])
        kap = np.vstack([np.full((1, D), k0), kap + 1])
        alp = np.vstack([np.full((1, D), a0), alp + 0.5])
        bet = np.vstack([np.full((1, D), b0), bet_n])
    # P(run of length `lag` at t + lag) = P(change at t), for t in [lag, T - lag]
    cand = [(logR[t + lag, lag], t) for t in range(lag, T - lag)]
    return max(cand)[1] if cand else T // 2


# -- scoring -------------------------------------------------------------------------------
def hits(ranked: list[str], roots: set) -> tuple[bool, bool]:
    return bool(ranked[:1]) and ranked[0] in roots, bool(set(ranked[:3]) & roots)


def evaluate(cases: list[dict]) -> dict:
    out = {"ours": {ld: [] for ld in LEADS}, "baro": [], "onset": []}
    for c in cases:
        for ld in LEADS:
            out["ours"][ld].append((ours(c, ld), c))
        out["baro"].append((hits(baro(c), c["roots"]), c["mode"]))
        out["onset"].append((hits(earliest_onset(c), c["roots"]), c["mode"]))
    return out


def table_ours(res: dict, cfg: tuple) -> dict:
    w, ld = cfg
    acc: dict[str, list] = {"all": [], "sli": []}
    for r, c in res["ours"][ld]:
        acc[c["mode"]].append(hits(rescore(r, w), c["roots"]))
    return {k: (np.mean([h[0] for h in v]) if v else float("nan"),
                np.mean([h[1] for h in v]) if v else float("nan"), len(v))
            for k, v in acc.items()}


def table_peer(res: dict, key: str) -> dict:
    acc: dict[str, list] = {"all": [], "sli": []}
    for h, mode in res[key]:
        acc[mode].append(h)
    return {k: (np.mean([h[0] for h in v]) if v else float("nan"),
                np.mean([h[1] for h in v]) if v else float("nan"), len(v))
            for k, v in acc.items()}


def tune(res: dict) -> tuple:
    def obj(cfg):
        t = table_ours(res, cfg)
        return np.nanmean([t["all"][0], t["sli"][0]])
    return max(GRID, key=obj)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    na, nb = (4, 12) if args.quick else (12, 40)
    t = time.perf_counter()
    fams = {"A (topology walk)": evaluate(family_a(na)),
            "B (SCM)": evaluate(family_b(nb))}
    el = time.perf_counter() - t
    names = list(fams)
    # a fresh draw of family B (other seeds): family B's cases were studied to find why the
    # root got no evidence, and this draw's failures were looked at too (not tuned on)
    fams["B' (SCM, fresh seeds)"] = evaluate(family_b(nb, seed=99))
    # B'': another fresh draw, its seed fixed (round 2c) before any of its results was
    # looked at and run only with the final code: the honest within-family figure
    fams["B'' (SCM, never looked at)"] = evaluate(family_b(nb, seed=B2_SEED))
    # family C: written after the method was final, never used to change it
    fams["C (peer-like SCM, SLI alert only)"] = evaluate(family_c(nb))
    # round 2b's ranker on the same cases (outside the timing above)
    for res in fams.values():
        res["2b"] = [(hits(ours_2b(c), c["roots"]), c["mode"]) for _, c in res["ours"]["60min"]]
    print(f"# Root-cause benchmark, leave one family out (A + B: {el:.0f} s)\n")
    print("| tuned on | reported on | label | method | top-1 all | top-3 all | top-1 SLI-only "
          "| top-3 SLI-only | cases (all / sli) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for tuned, other in product(names, names):
        w = tune(fams[tuned])
        label = "in-sample" if tuned == other else "LEFT-OUT"
        t1 = table_ours(fams[other], w)
        print(f"| {tuned} | {other} | {label} | ours, weights {w[0]}, scan {w[1]} | "
              f"{t1['all'][0]:.3f} | "
              f"{t1['all'][1]:.3f} | {t1['sli'][0]:.3f} | {t1['sli'][1]:.3f} | "
              f"{t1['all'][2]} / {t1['sli'][2]} |")
    for fam in fams:
        for key, label in (("ours", "ours, shipped default (0.45, 0.35, 0.2), scan 60min"),
                           ("2b", "round 2b ranker (level scan of the raw series)"),
                           ("baro", "BARO (BOCPD + RobustScorer)"),
                           ("onset", "earliest anomaly onset")):
            t1 = (table_ours(fams[fam], ((0.45, 0.35, 0.20), "60min")) if key == "ours"
                  else table_peer(fams[fam], key))
            print(f"| - | {fam} | untuned | {label} | {_f(t1['all'][0])} | {_f(t1['all'][1])} "
                  f"| {_f(t1['sli'][0])} | {_f(t1['sli'][1])} | {t1['all'][2]} / "
                  f"{t1['sli'][2]} |")


def _f(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.3f}"


if __name__ == "__main__":
    main()
