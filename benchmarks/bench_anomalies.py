"""NAB benchmark of ``detect_anomalies`` (one command, prints a table).

    .venv/bin/python benchmarks/bench_anomalies.py [--per-file]

Runs the default detector -- one configuration for every series, its own ``is_anomaly``
flags, nothing fitted to the labels -- on the 35 NAB series in ``../shared/data/nab`` and
scores the flags with NAB's standard profile using the independent scorer
``../shared/tools/nab_score.py`` (imported from there, not copied). Prints the normalised score
per category and in total next to the published detectors on the same files, the scores of
two trivial baselines (flag nothing; seeded random flags) as a check that the scorer is called
right, and the time per 1,000 points.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NAB = SHARED / "data" / "nab"
DATA, WINDOWS = NAB / "data", NAB / "labels" / "combined_windows.json"
if str(ROOT) not in sys.path:  # run from a checkout without an installed package
    sys.path.insert(0, str(ROOT))

#: published normalised scores on these 35 files (standard profile, see data/README.md)
PUBLISHED = {"Numenta HTM": 66.5, "Skyline": 33.8, "Windowed Gaussian": 21.9, "random": 18.6}


def _scorer():
    sys.path.insert(0, str(SHARED / "tools"))
    import nab_score

    return nab_score


def run_detector(keys: list[str], **params) -> tuple[dict, float, int]:
    """Flags per file from detect_anomalies, total seconds and points."""
    from jupyter_ops.aiops import detect_anomalies

    flags, secs, points = {}, 0.0, 0
    for key in keys:
        df = pd.read_csv(DATA / key)
        t0 = time.perf_counter()
        res = detect_anomalies(df, **params)
        secs += time.perf_counter() - t0
        points += len(df)
        flags[key] = res.anomalies["is_anomaly"].to_numpy()
    return flags, secs, points


def score_table(nab, flags: dict) -> dict[str, str]:
    """Normalised score per category and ``total`` (formatted), plus hits and FPs.

    A category without labelled windows (artificialNoAnomaly) has no normalised score; its
    cell shows the raw score, i.e. the cost of its false positives.
    """
    out = {}
    cats = sorted({k.split("/")[0] for k in flags})
    for cat in cats + ["total"]:
        sub = {k: v for k, v in flags.items() if cat == "total" or k.startswith(cat + "/")}
        r = nab.score_detections(str(DATA), str(WINDOWS), sub)
        if r["perfect"] == r["null"]:
            out[cat] = f"raw {r['raw']:.2f}"
        else:
            out[cat] = f"{r['normalized']:.1f}"
        if cat == "total":
            pf = r["per_file"].values()
            out["hits"] = f"{sum(f['windows_hit'] for f in pf)}/{sum(f['windows'] for f in pf)}"
            out["FP"] = str(sum(f["fp"] for f in pf))
            out["_total"] = r["normalized"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-file", action="store_true", help="print each file's raw score")
    ap.add_argument("--params", default="{}", help="JSON of detect_anomalies parameters "
                    "(for experiments; the benchmark's figure is the default)")
    a = ap.parse_args(argv)
    if not WINDOWS.is_file():
        print(f"NAB data not found at {NAB}", file=sys.stderr)
        return 2
    nab = _scorer()
    keys = sorted(json.loads(WINDOWS.read_text()))
    params = json.loads(a.params)
    flags, secs, points = run_detector(keys, **params)
    ours = score_table(nab, flags)
    # sanity checks of the scorer call: flagging nothing is 0 by definition; random ~ 'random'
    lengths = {k: len(v) for k, v in flags.items()}
    nothing = score_table(nab, {k: np.zeros(n, bool) for k, n in lengths.items()})
    rng = np.random.default_rng(0)
    rand = score_table(nab, {k: rng.random(n) < 0.01 for k, n in lengths.items()})
    # flagging exactly each window's first row is 100 by definition (labels used for the
    # check only)
    perfect = {}
    for k, n in lengths.items():
        f = np.zeros(n, bool)
        for s, _ in nab._series(str(DATA), str(WINDOWS), k)[1]:
            f[s] = True
        perfect[k] = f
    best = score_table(nab, perfect)
    cats = [c for c in ours if not c.startswith("_")]
    short = {c: c.replace("artificial", "art").replace("real", "")[:16] for c in cats}
    name_w = 32
    print(f"NAB standard profile, normalised score ({len(keys)} files, {points:,} points; "
          "artNoAnomaly has no windows: raw score = cost of its false positives)")
    print(f"{'detector':{name_w}s}" + "".join(f"{short[c]:>17s}" for c in cats)
          + f"{'vs HTM':>8s}")
    rows = [("jupyter-ops detect_anomalies", ours), ("check: flag nothing (= 0)", nothing),
            ("check: window starts (= 100)", best), ("check: random 1% flags", rand)]
    for name, r in rows:
        print(f"{name:{name_w}s}" + "".join(f"{r[c]:>17s}" for c in cats)
              + f"{r['_total'] / PUBLISHED['Numenta HTM']:8.2f}")
    for name, v in PUBLISHED.items():
        cells = ["" for _ in cats]
        cells[cats.index("total")] = f"{v:.1f}"
        print(f"{name + ' (published)':{name_w}s}" + "".join(f"{c:>17s}" for c in cells)
              + f"{v / PUBLISHED['Numenta HTM']:8.2f}")
    print(f"time: {1e6 * secs / points:.2f} ms per 1k points ({secs:.1f} s total)")
    if a.per_file:
        res = nab.score_detections(str(DATA), str(WINDOWS), flags)
        for k, f in res["per_file"].items():
            print(f"{k:62s} {f['raw']:8.3f} fp={f['fp']:3d} hit {f['windows_hit']}/"
                  f"{f['windows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
