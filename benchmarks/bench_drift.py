"""Benchmark: jupyter-ops ``mlops.drift`` vs Evidently's ``Report([DataDriftPreset()])``.

One command::

    .venv/bin/python benchmarks/bench_drift.py            # 500k + 500k rows, 20 numeric + 5 categorical
    .venv/bin/python benchmarks/bench_drift.py --rows 100000 --growth 10000,100000

Evidently 0.7 does not import with pandas 3, so it runs in its own virtual environment
(``benchmarks/.venv-evidently``, created on first use with ``evidently==0.7.23`` and
``pandas<3``) in a subprocess, on the same frames: they are written to Parquet once and both
sides read them. Each measurement runs in a fresh subprocess; time is wall clock of the
check alone (data already loaded), memory is the peak resident memory *added* by the check
(the high-water mark is reset after loading), compared with the in-memory size of the two
input frames.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVIDENTLY_VENV = HERE / ".venv-evidently"
EVIDENTLY_PIN = ["evidently==0.7.23", "pandas<3", "pyarrow", "numpy<3"]

# -- data ----------------------------------------------------------------------------------


def make_frames(n: int, seed: int = 0):
    """20 numeric + 5 categorical columns; 6 numeric and 2 categorical drift."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def side(shift: float, new_cats: bool):
        cols = {}
        for i in range(20):
            kind = i % 4
            drifted = i < 6
            d = shift if drifted else 0.0
            if kind == 0:
                cols[f"num_{i}"] = rng.normal(10 + 3 * d, 2, n)
            elif kind == 1:
                cols[f"num_{i}"] = rng.lognormal(3, 0.5 + 0.3 * d, n)
            elif kind == 2:
                cols[f"num_{i}"] = rng.exponential(5 * (1 + d), n).round(2)
            else:
                cols[f"num_{i}"] = rng.integers(0, 1000, n).astype("float64") + 100 * d
        for j in range(5):
            levels = [f"level_{k}" for k in range(5 + 10 * j)]
            if new_cats and j < 2:
                levels = levels + [f"new_{k}" for k in range(3)]
            p = np.linspace(1, 2, len(levels))
            cols[f"cat_{j}"] = np.asarray(levels, dtype=object)[rng.choice(len(levels), n, p=p / p.sum())]
        return pd.DataFrame(cols)

    return side(0.0, False), side(1.0, True)


def write_frames(n: int, folder: Path) -> tuple[Path, Path]:
    ref_p, cur_p = folder / f"ref_{n}.parquet", folder / f"cur_{n}.parquet"
    if not (ref_p.exists() and cur_p.exists()):
        ref, cur = make_frames(n)
        ref.to_parquet(ref_p)
        cur.to_parquet(cur_p)
    return ref_p, cur_p


# -- memory measurement (shared by both workers; plain stdlib) ------------------------------

WORKER_COMMON = r'''
import gc, json, os, sys, time, threading

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

class Peak:
    """Peak RSS during a block: kernel high-water mark reset, plus a sampling thread."""
    def __enter__(self):
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self.base = rss_mb()
        self.peak = self.base
        self._stop = False
        def sample():
            while not self._stop:
                self.peak = max(self.peak, rss_mb())
                time.sleep(0.005)
        self._t = threading.Thread(target=sample, daemon=True)
        self._t.start()
        return self
    def __exit__(self, *exc):
        self._stop = True
        self._t.join()
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak = max(self.peak, int(line.split()[1]) / 1024)
        except OSError:
            pass
        self.extra = self.peak - self.base

def load(ref_path, cur_path):
    import pandas as pd
    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    size = (ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum()) / 2**20
    return ref, cur, size
'''

OURS_WORKER = WORKER_COMMON + r'''
def main(ref_path, cur_path, mode):
    ref, cur, size = load(ref_path, cur_path)
    from jupyter_ops import mlops
    import sklearn.ensemble  # import cost is not part of the check
    out = {"input_mb": size}
    with Peak() as p:
        t = time.perf_counter()
        r = mlops.drift(ref, cur, log=False)
        out["seconds"] = time.perf_counter() - t
    out["extra_mb"] = p.extra
    out["drifted"] = sorted(r.drifted_columns)
    out["dataset_drift"] = r.dataset_drift
    out["stats"] = {row.column: row.statistic for row in r.columns.itertuples()}
    out["multivariate_auc"] = (r.multivariate or {}).get("roc_auc")
    if mode == "full":
        t = time.perf_counter(); mlops.drift(ref, cur, multivariate=False, log=False)
        out["univariate_seconds"] = time.perf_counter() - t
        t = time.perf_counter(); prof = mlops.profile(ref)
        out["profile_seconds"] = time.perf_counter() - t
        out["profile_kb"] = len(json.dumps(prof.to_json())) / 1024
        t = time.perf_counter(); rp = mlops.drift(prof, cur, log=False)
        out["from_profile_seconds"] = time.perf_counter() - t
        out["from_profile_drifted"] = sorted(rp.drifted_columns)
    print("RESULT " + json.dumps(out))

main(*sys.argv[1:4])
'''

EVIDENTLY_WORKER = WORKER_COMMON + r'''
def main(ref_path, cur_path):
    ref, cur, size = load(ref_path, cur_path)
    from evidently import Report
    from evidently.presets import DataDriftPreset
    out = {"input_mb": size}
    with Peak() as p:
        t = time.perf_counter()
        ev = Report([DataDriftPreset()]).run(cur, ref)
        d = ev.dict()
        out["seconds"] = time.perf_counter() - t
    out["extra_mb"] = p.extra
    stats, drifted = {}, []
    for m in d["metrics"]:
        cfg = m.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift"):
            stats[cfg["column"]] = m["value"]
            if m["value"] >= cfg.get("threshold", 0.1):
                drifted.append(cfg["column"])
        if cfg.get("type", "").endswith("DriftedColumnsCount"):
            out["share"] = m["value"]["share"]
    out["stats"] = stats
    out["drifted"] = sorted(drifted)
    print("RESULT " + json.dumps(out))

main(*sys.argv[1:3])
'''


def ensure_evidently() -> Path | None:
    py = EVIDENTLY_VENV / "bin" / "python"
    if py.exists():
        ok = subprocess.run([str(py), "-c", "import evidently"], capture_output=True)
        if ok.returncode == 0:
            return py
    print(f"creating {EVIDENTLY_VENV} with {' '.join(EVIDENTLY_PIN)} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", *EVIDENTLY_PIN])
    return py if r.returncode == 0 else None


def run_worker(python: str, code: str, args: list[str], timeout: float = 1800) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
        script = f.name
    try:
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(HERE.parent)}
        p = subprocess.run([python, script, *args], capture_output=True, text=True,
                           timeout=timeout, env=env, cwd=str(HERE.parent))
    finally:
        os.unlink(script)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"worker failed ({p.returncode}):\n{p.stderr[-3000:]}")


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = lambda r: "| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, rows)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=500_000, help="rows per side (default 500000)")
    ap.add_argument("--growth", default="10000,100000,1000000",
                    help="rows per side for the growth table (jupyter-ops only)")
    ap.add_argument("--evidently-growth", default="10000,100000",
                    help="rows per side at which Evidently is also timed for growth")
    ap.add_argument("--skip-evidently", action="store_true")
    args = ap.parse_args()

    data = HERE / "results" / "drift-data"
    data.mkdir(parents=True, exist_ok=True)
    n = args.rows
    print(f"data: {n:,} + {n:,} rows, 20 numeric + 5 categorical columns (6 + 2 drifted)", flush=True)
    ref_p, cur_p = write_frames(n, data)

    ours = run_worker(sys.executable, OURS_WORKER, [str(ref_p), str(cur_p), "full"])
    ev = None
    evpy = None if args.skip_evidently else ensure_evidently()
    if evpy:
        ev = run_worker(str(evpy), EVIDENTLY_WORKER, [str(ref_p), str(cur_p)])

    size = ours["input_mb"]
    rows = [["jupyter-ops drift (with domain classifier)", f"{ours['seconds']:.2f}",
             f"{ours['extra_mb']:.0f}", f"{ours['extra_mb'] / size:.2f}x",
             f"{ev['seconds'] / ours['seconds']:.1f}x" if ev else "-"],
            ["jupyter-ops drift (univariate only)", f"{ours['univariate_seconds']:.2f}", "", "",
             f"{ev['seconds'] / ours['univariate_seconds']:.1f}x" if ev else "-"],
            ["jupyter-ops profile(reference)", f"{ours['profile_seconds']:.2f}", "", "",
             f"({ours['profile_kb']:.0f} KB JSON)"],
            ["jupyter-ops drift(profile, current)", f"{ours['from_profile_seconds']:.2f}", "", "",
             f"{ev['seconds'] / ours['from_profile_seconds']:.1f}x" if ev else "-"]]
    if ev:
        rows.append(["Evidently 0.7.23 Report([DataDriftPreset()])", f"{ev['seconds']:.2f}",
                     f"{ev['extra_mb']:.0f}", f"{ev['extra_mb'] / size:.2f}x", "1.0x"])
    print()
    print(f"Input frames in memory: {size:.0f} MB (both sides)")
    print(table(rows, ["check", "seconds", "peak extra MB", "peak / input", "Evidently time / ours"]))

    if ev:
        same = set(ours["drifted"]) == set(ev["drifted"])
        diffs = [abs(ours["stats"][c] - ev["stats"][c]) for c in ev["stats"]
                 if c.startswith("num_") and c in ours["stats"]]
        print(f"\nSame drifted columns as Evidently: {same} ({len(ours['drifted'])} columns: "
              f"{', '.join(ours['drifted'])})")
        cdiffs = [abs(ours["stats"][c] - ev["stats"][c]) for c in ev["stats"]
                  if c.startswith("cat_") and c in ours["stats"]]
        print(f"Normed Wasserstein vs Evidently's, max abs difference over numeric columns: "
              f"{max(diffs):.2e}")
        if cdiffs:
            print(f"Jensen-Shannon distance vs Evidently's, max abs difference over categorical "
                  f"columns: {max(cdiffs):.2e}")
    print(f"Drift from the profile finds the same columns: "
          f"{set(ours['from_profile_drifted']) == set(ours['drifted'])}")
    if ours.get("multivariate_auc") is not None:
        print(f"Domain classifier ROC AUC: {ours['multivariate_auc']:.3f}")

    growth = [int(x) for x in args.growth.split(",") if x]
    ev_growth = {int(x) for x in args.evidently_growth.split(",") if x} if evpy else set()
    if growth:
        grows = []
        for g in growth:
            rp, cp = write_frames(g, data)
            o = run_worker(sys.executable, OURS_WORKER, [str(rp), str(cp), "one"])
            e = run_worker(str(evpy), EVIDENTLY_WORKER, [str(rp), str(cp)]) if g in ev_growth else None
            grows.append([f"{g:,}", f"{o['seconds']:.2f}", f"{o['extra_mb'] / o['input_mb']:.2f}x",
                          f"{e['seconds']:.2f}" if e else "-",
                          f"{e['seconds'] / o['seconds']:.1f}x" if e else "-"])
            print(f"  {g:,} rows done", file=sys.stderr, flush=True)
        print("\nGrowth (rows per side; jupyter-ops full drift incl. domain classifier):")
        print(table(grows, ["rows", "jupyter-ops s", "peak / input", "Evidently s", "ratio"]))
    print(f"\nmachine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
