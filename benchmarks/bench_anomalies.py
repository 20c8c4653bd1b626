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


def score_table(nab, flags: dict) -> dict[str, float]:
    """Normalised score per category and ``total``."""
    out = {}
    cats = sorted({k.split("/")[0] for k in flags})
    for cat in cats:
        sub = {k: v for k, v in flags.items() if k.startswith(cat + "/")}
        out[cat] = nab.score_detections(str(DATA), str(WINDOWS), sub)["normalized"]
    out["total"] = nab.score_detections(str(DATA), str(WINDOWS), flags)["normalized"]
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
    cats = [c for c in ours if c != "total"] + ["total"]
    name_w = 30
    print(f"NAB standard profile, normalised score ({len(keys)} files, {points:,} points)")
    print(f"{'detector':{name_w}s}" + "".join(f"{c[:22]:>24s}" for c in cats)
          + f"{'vs HTM':>8s}")
    rows = [("jupyter-ops detect_anomalies", ours), ("flag nothing (check: 0)", nothing),
            ("random 1% flags, seed 0", rand)]
    for name, r in rows:
        print(f"{name:{name_w}s}" + "".join(f"{r[c]:24.1f}" for c in cats)
              + f"{r['total'] / PUBLISHED['Numenta HTM']:8.2f}")
    for name, v in PUBLISHED.items():
        print(f"{name + ' (published)':{name_w}s}" + "".join(f"{'':>24s}" for _ in cats[:-1])
              + f"{v:24.1f}{v / PUBLISHED['Numenta HTM']:8.2f}")
    print(f"time: {1e6 * secs / points:.2f} ms per 1k points ({secs:.1f} s total)")
    if a.per_file:
        res = nab.score_detections(str(DATA), str(WINDOWS), flags)
        for k, f in res["per_file"].items():
            print(f"{k:62s} {f['raw']:8.3f} fp={f['fp']:3d} hit {f['windows_hit']}/"
                  f"{f['windows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
