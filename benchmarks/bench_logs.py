"""Log template mining: accuracy on Loghub 2k, throughput and memory vs drain3.

Run: ``.venv/bin/python benchmarks/bench_logs.py`` (needs the ``bench`` extra, drain3 installed
with ``--no-deps`` as benchmarks/README.md says, and the development data in
``../shared/data/loghub-2k``). Options: ``--quick`` (up to 100k
lines instead of 1M), ``--sizes 10000,100000``.

* Grouping accuracy (Loghub definition: a line counts when its predicted group holds exactly
  the lines of its true group) on ``Content``/``EventId`` of each data set, jupyter-ops with
  its one default configuration vs drain3 with the masking and settings of drain3's own
  ``examples/drain3.ini``, next to the published numbers of Drain and Brain (each tuned per
  data set).
* Throughput (lines per second) of the full ``mine_templates`` call vs drain3's
  ``add_log_message`` loop on the same lines: the 16,000 Loghub lines, then logs of 10k, 100k
  and 1M lines built from them (the 16k lines repeated, every number replaced by a random one
  of random length, seeded).
* Peak resident memory of a fresh process that builds the 1M-line log and mines it.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LOGHUB = ROOT.parent / "shared" / "data" / "loghub-2k"
DATASETS = ["HDFS", "Hadoop", "Spark", "BGL", "Linux", "HealthApp", "OpenSSH", "Mac"]
PUBLISHED = {  # grouping accuracy, each tuned per data set (shared/data/README.md)
    "HDFS": (0.998, 0.998), "Hadoop": (0.948, 0.949), "Spark": (0.920, 0.998),
    "BGL": (0.963, 0.986), "Linux": (0.690, 0.996), "HealthApp": (0.780, 1.000),
    "OpenSSH": (0.788, 1.000), "Mac": (0.787, 0.942),
}
# drain3's examples/drain3.ini (masking, sim_th, depth, max_children, max_clusters, delimiters)
DRAIN3_MASKS = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]


def drain3_miner():
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    cfg = TemplateMinerConfig()
    cfg.masking_instructions = [MaskingInstruction(p, n) for p, n in DRAIN3_MASKS]
    cfg.mask_prefix, cfg.mask_suffix = "<:", ":>"
    cfg.drain_sim_th, cfg.drain_depth = 0.4, 4
    cfg.drain_max_children, cfg.drain_max_clusters = 100, 1024
    cfg.drain_extra_delimiters = ["_"]
    cfg.profiling_enabled = False
    cfg.snapshot_interval_minutes = 10 ** 6
    return TemplateMiner(config=cfg)


def grouping_accuracy(pred: list, true: list) -> float:
    pc, tc, pairs = Counter(pred), Counter(true), Counter(zip(pred, true, strict=True))
    return sum(n for (p, t), n in pairs.items() if pc[p] == n and tc[t] == n) / len(pred)


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(LOGHUB / name / f"{name}_2k.log_structured.csv", dtype=str,
                       keep_default_na=False)


def build_log(lines: list[str], n: int, seed: int = 0) -> list[str]:
    """``n`` lines: the given lines repeated; after the first copy every number is re-drawn."""
    rng = random.Random(seed)
    num = re.compile(r"\d+")

    def redraw(m: re.Match) -> str:
        return str(rng.randrange(10 ** rng.randint(1, max(1, len(m.group()) + 1))))

    out: list[str] = []
    copy = 0
    while len(out) < n:
        take = lines[: n - len(out)]
        out.extend(take if copy == 0 else [num.sub(redraw, s) for s in take])
        copy += 1
    return out


def _best(fn, lines: list[str], repeats: int) -> tuple[float, int]:
    """Fastest of ``repeats`` runs with the garbage collector paused (as ``timeit`` does).

    Timed in CPU seconds of this process (``time.process_time``): both miners are
    single-threaded, and CPU time does not count the waits of a machine shared with other
    jobs, which wall-clock time does.
    """
    best, size = float("inf"), 0
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t0 = time.process_time()
            size = fn(lines)
            best = min(best, time.process_time() - t0)
        finally:
            gc.enable()
    return best, size


def run_ours(lines: list[str]) -> int:
    from jupyter_ops.aiops import mine_templates

    return len(mine_templates(lines).templates)


def run_drain3(lines: list[str]) -> int:
    tm = drain3_miner()
    add = tm.add_log_message
    for s in lines:
        add(s)
    return len(tm.drain.clusters)


def repeats_for(n: int) -> int:
    return 5 if n <= 20_000 else 3 if n <= 200_000 else 2


def accuracy_table() -> pd.DataFrame:
    from jupyter_ops.aiops import mine_templates

    rows = []
    for name in DATASETS:
        df = load(name)
        lines, true = df["Content"].tolist(), df["EventId"].tolist()
        ours = grouping_accuracy(mine_templates(lines).assignments.tolist(), true)
        tm = drain3_miner()
        for s in lines:
            tm.add_log_message(s)
        d3 = grouping_accuracy([tm.match(s).cluster_id if tm.match(s) else -1 for s in lines],
                               true)
        rows.append({"data set": name, "jupyter-ops": ours, "drain3 (example config)": d3,
                     "Drain (tuned, published)": PUBLISHED[name][0],
                     "Brain (tuned, published)": PUBLISHED[name][1]})
    table = pd.DataFrame(rows)
    avg = table.drop(columns="data set").mean()
    table.loc[len(table)] = {"data set": "average", **avg.to_dict()}
    return table


def memory_probe(n: int) -> dict:
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
import psutil
from bench_logs import build_log, load, DATASETS
from jupyter_ops.aiops import mine_templates
lines = []
for d in DATASETS:
    lines += load(d)["Content"].tolist()
log = build_log(lines, {n})
before = psutil.Process().memory_info().rss
t = mine_templates(log)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"rss_before": before, "peak": peak, "templates": len(t.templates)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="sizes up to 100k lines, no 1M")
    ap.add_argument("--sizes", default=None, help="comma-separated log sizes")
    args = ap.parse_args()
    if not LOGHUB.is_dir():
        sys.exit(f"Loghub data not found at {LOGHUB}")
    pd.set_option("display.width", 160)
    sizes = ([int(s) for s in args.sizes.split(",")] if args.sizes
             else [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])

    print("== Grouping accuracy (Loghub 2k, Content vs EventId; one default configuration)")
    acc = accuracy_table()
    print(acc.to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    lines: list[str] = []
    for name in DATASETS:
        lines += load(name)["Content"].tolist()
    # warm up both (regex compilation, imports) so timings compare steady state
    run_ours(lines[:200])
    run_drain3(lines[:200])

    print("\n== Throughput per 2k data set (lines/second, CPU time, best of 7)")
    per_set = []
    for name in DATASETS:
        data = load(name)["Content"].tolist()
        ours_t, _ = _best(run_ours, data, 7)
        d3_t, _ = _best(run_drain3, data, 7)
        per_set.append({"data set": name, "jupyter-ops lines/s": len(data) / ours_t,
                        "drain3 lines/s": len(data) / d3_t, "speed-up": d3_t / ours_t})
    print(pd.DataFrame(per_set).to_string(index=False, formatters={
        "jupyter-ops lines/s": "{:,.0f}".format, "drain3 lines/s": "{:,.0f}".format,
        "speed-up": "{:.1f}x".format}))

    print("\n== Throughput (lines/second; full mine_templates call vs drain3 add_log_message;"
          " CPU time, best of 5/3/2 runs for <=20k/<=200k/larger inputs, GC paused)")
    rows = []
    for label, data in [("Loghub 16k (8 sets)", lines)] + [
            (f"built {n:,}", build_log(lines, n)) for n in sizes]:
        reps = repeats_for(len(data))
        ours_t, ours_k = _best(run_ours, data, reps)
        d3_t, d3_k = _best(run_drain3, data, reps)
        rows.append({"input": label, "lines": len(data),
                     "jupyter-ops lines/s": len(data) / ours_t,
                     "drain3 lines/s": len(data) / d3_t,
                     "speed-up": d3_t / ours_t,
                     "jupyter-ops s": ours_t, "drain3 s": d3_t,
                     "templates": ours_k, "drain3 clusters": d3_k})
        print(f"  {label}: {len(data) / ours_t:,.0f} vs {len(data) / d3_t:,.0f} lines/s",
              flush=True)
    thr = pd.DataFrame(rows)
    print(thr.to_string(index=False, formatters={
        "lines": "{:,}".format, "jupyter-ops lines/s": "{:,.0f}".format,
        "drain3 lines/s": "{:,.0f}".format, "speed-up": "{:.1f}x".format,
        "jupyter-ops s": "{:.2f}".format, "drain3 s": "{:.2f}".format}))

    n_mem = max(sizes)
    print(f"\n== Peak memory (fresh process: build the {n_mem:,}-line log, then mine it)")
    mem = memory_probe(n_mem)
    mib = 1024 ** 2
    print(f"  RSS with the lines in memory, before mining: {mem['rss_before'] / mib:,.0f} MiB")
    print(f"  peak RSS of the process:                     {mem['peak'] / mib:,.0f} MiB "
          f"({'under' if mem['peak'] < 1024 ** 3 else 'OVER'} the 1 GiB budget)")
    print(f"  mining added at most:                        "
          f"{(mem['peak'] - mem['rss_before']) / mib:,.0f} MiB; templates: {mem['templates']}")


if __name__ == "__main__":
    main()
