"""Scale-out on Dask: drift on data larger than a worker's memory, log mining across workers.

Run: ``.venv/bin/python benchmarks/bench_scale.py`` (needs the ``dask`` and ``bench`` extras
and ``../shared/data/loghub-2k``). Options: ``--rows`` (total drift rows, reference + current),
``--lines`` (log lines), ``--worker-memory`` (per worker), ``--quick``.

* **drift**: ``--rows`` rows x 20 columns (16 numbers at 0.01 resolution, 4 categories) as
  Parquet files of 250k rows, at least 4x one worker's memory limit in memory; a
  ``LocalCluster`` of 2 worker processes x ``--worker-memory`` runs ``drift(ref, cur)`` on
  the Parquet paths; the peer is the same call in one pandas process (``pd.read_parquet`` of
  everything). Printed: wall time, peak RSS of every worker, of the client, of the pandas
  process, and whether the two results are identical. Then ``check_quality`` of the current
  half (0.5% of its rows are exact duplicates) on Dask and in the same pandas process.
* **logs**: ``--lines`` lines (the 16,000 Loghub lines of 8 sets, numbers re-drawn per
  100k-line block, seeded) written first as log files of 200k lines (not timed), then
  ``mine_templates(files, engine="dask")`` (one task per file: read, mine, partial state;
  states merged in a tree) is timed; the peer reads and mines the first ``--peer-lines`` of
  the same files in one process. Lines/s, peak RSS per worker and of the peer, and the
  templates of the peer's files compared with the Dask run on the same files.
* **partial states**: the pickled size of one partition's state and of the merged state
  (drift summary, parser state): what travels between machines.

The machine has 2 cores shared with other work: absolute times are pessimistic, the ratios
come from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LOGHUB = ROOT.parent / "shared" / "data" / "loghub-2k"
SETS = ["HDFS", "Hadoop", "Spark", "BGL", "Linux", "HealthApp", "OpenSSH", "Mac"]
PART_ROWS = 250_000
PART_LINES = 100_000  # lines of one generated block
FILE_LINES = 200_000  # lines of one log file (one task)


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- data -------------------------------------------------------------------------------------
def write_parquet(folder: Path, rows: int, seed: int = 0) -> tuple[list[str], list[str], float]:
    import pandas as pd

    rng = np.random.default_rng(seed)
    ref, cur, mem = [], [], 0.0
    n_parts = max(2, rows // PART_ROWS)
    cats = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"], dtype=object)
    for p in range(n_parts):
        side = "ref" if p < n_parts // 2 else "cur"
        shift = 0.0 if side == "ref" else 0.05
        n = rows // n_parts
        cols = {f"x{j}": (rng.normal(shift * (j % 4 == 0), 1 + 0.1 * j, n)).round(2)
                for j in range(16)}
        for j in range(4):
            pr = np.array([6, 5, 4, 3, 2, 1], dtype=float)
            if side == "cur" and j == 0:
                pr = pr[::-1]
            cols[f"c{j}"] = cats[rng.choice(6, n, p=pr / pr.sum())]
        df = pd.DataFrame(cols)
        if side == "cur":  # 0.5% exact duplicate rows for check_quality to find
            k = n // 200
            df.iloc[n - k:] = df.iloc[:k].to_numpy()
        mem += df.memory_usage(deep=True).sum() / 2**20
        path = folder / f"{side}-{p:03d}.parquet"
        df.to_parquet(path)
        (ref if side == "ref" else cur).append(str(path))
    return ref, cur, mem


PANDAS_PEER = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
import pandas as pd
from jupyter_ops.mlops import drift
t0 = time.perf_counter()
ref = pd.concat([pd.read_parquet(p) for p in json.loads(sys.argv[1])], ignore_index=True)
cur = pd.concat([pd.read_parquet(p) for p in json.loads(sys.argv[2])], ignore_index=True)
res = drift(ref, cur, log=False)
out = {"seconds": time.perf_counter() - t0,
       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
       "columns": res.columns.to_json(orient="split", double_precision=15),
       "mv": res.multivariate}
from jupyter_ops.mlops import check_quality
del ref
t0 = time.perf_counter()
q = check_quality(cur)
out["quality_seconds"] = time.perf_counter() - t0
out["quality"] = q.issues.to_json(orient="split")
out["quality_table"] = q.summary_table.to_json(orient="split", double_precision=15)
print(json.dumps(out))
"""


def bench_drift(client, rows: int, worker_mb: int) -> dict:
    import pandas as pd

    from jupyter_ops.mlops import drift

    with tempfile.TemporaryDirectory(prefix="jops-scale-") as d:
        t0 = time.perf_counter()
        ref, cur, mem = write_parquet(Path(d), rows)
        gen = time.perf_counter() - t0
        print(f"drift data: {rows:,} rows x 20 columns in {len(ref) + len(cur)} Parquet files, "
              f"{mem:,.0f} MiB in memory = {mem / worker_mb:.1f}x one worker's limit "
              f"(written in {gen:.0f} s)", flush=True)
        client.run(_reset_peak)
        t0 = time.perf_counter()
        res = drift(ref, cur, engine="dask", client=client, log=False)
        dask_s = time.perf_counter() - t0
        workers = client.run(_peak_mb)
        print(f"dask: {dask_s:.1f} s; worker peaks (MiB): {sorted(workers.values())}", flush=True)
        states = _drift_states(client, cur)
        from jupyter_ops.mlops import check_quality

        client.run(_reset_peak)
        t0 = time.perf_counter()
        q = check_quality(cur, engine="dask", client=client)
        quality = {"seconds": time.perf_counter() - t0, "workers": client.run(_peak_mb),
                   "rows": q.n_rows, "candidate_rows": q.scale["candidate_rows"],
                   "issues": q.issues.to_json(orient="split"),
                   "table": q.summary_table}
        print(f"check_quality (current, {q.n_rows:,} rows): {quality['seconds']:.1f} s; "
              f"worker peaks (MiB): {sorted(quality['workers'].values())}", flush=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PANDAS_PEER, json.dumps(ref), json.dumps(cur),
                              str(ROOT)], capture_output=True, text=True, env=env)
        if out.returncode:
            peer = {"failed": out.stderr.strip().splitlines()[-1][:200],
                    "seconds": time.perf_counter() - t0}
            same = None
        else:
            peer = json.loads(out.stdout.strip().splitlines()[-1])
            a = pd.read_json(__import__("io").StringIO(peer["columns"]), orient="split",
                             precise_float=True)
            b = res.columns
            checks = {
                "columns": a["column"].tolist() == b["column"].tolist(),
                "statistics": bool(np.allclose(a["statistic"].to_numpy(dtype=float),
                                               b["statistic"].to_numpy(dtype=float),
                                               rtol=1e-9, atol=1e-12)),
                "verdicts": a["drifted"].astype(bool).tolist() == b["drifted"].tolist(),
                "domain_classifier": peer["mv"] == res.multivariate}
            same = all(checks.values()) or checks
            qa = pd.read_json(__import__("io").StringIO(peer["quality_table"]), orient="split",
                              precise_float=True)
            qt = quality.pop("table")
            quality["same"] = peer["quality"] == quality["issues"] and \
                qa["n_unique"].tolist() == qt["n_unique"].tolist() and \
                bool(np.allclose(qa["missing"], qt["missing"], rtol=1e-12))
    quality.pop("table", None)
    return {"rows": rows, "mem_mb": mem, "dask_s": dask_s, "workers": workers,
            "quality": quality,
            "client_mb": _maxrss_mb(), "peer": peer, "same": same,
            "drifted": res.drifted_columns} | states


def _part_summary_bytes(path: str) -> int:
    import pickle

    import pandas as pd

    from jupyter_ops.scale.summary import summarise

    df = pd.read_parquet(path)
    kinds = {c: "numeric" if c.startswith("x") else "categorical" for c in df.columns}
    return len(pickle.dumps(summarise(df, kinds)))


def _drift_states(client, paths: list[str]) -> dict:
    """Pickled sizes: one partition's summary, and the merged summary of all ``paths``
    (an extra pass, after the timing)."""
    import pickle

    from jupyter_ops.scale._dask import as_frame
    from jupyter_ops.scale.drift import summarise_dask

    part = client.submit(_part_summary_bytes, paths[0]).result()
    merged = summarise_dask(as_frame(paths, "current"), client)
    merged.take_rows = None  # a closure over the client: not part of the state
    return {"part_state_kb": part / 1024, "merged_state_kb": len(pickle.dumps(merged)) / 1024,
            "part_rows": merged.part_rows[0]}


# -- logs -------------------------------------------------------------------------------------
def base_lines() -> list[str]:
    lines = []
    for name in SETS:
        p = LOGHUB / name / f"{name}_2k.log"
        lines += p.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def gen_lines(base: list[str], part: int, n: int) -> list[str]:
    """``n`` lines: the base lines with every number re-drawn per 100k block (seeded)."""
    import random

    rng = random.Random(part)
    block = []
    num = re.compile(r"\d+")
    while len(block) < min(n, PART_LINES):
        for s in base:
            block.append(num.sub(lambda m: str(rng.randrange(10 ** rng.randint(1, 6))), s))
    block = block[:min(n, PART_LINES)]
    reps = -(-n // len(block))
    return (block * reps)[:n]


def write_logs(folder: Path, lines: int) -> list[str]:
    """``lines`` generated lines in files of FILE_LINES lines (seeded)."""
    base = base_lines()
    paths = []
    for f in range(-(-lines // FILE_LINES)):
        n = min(FILE_LINES, lines - f * FILE_LINES)
        path = folder / f"host-{f:04d}.log"
        path.write_text("\n".join(gen_lines(base, f, n)) + "\n", encoding="utf-8")
        paths.append(str(path))
    return paths


PEER_LOGS = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from jupyter_ops.aiops import mine_templates
t0 = time.perf_counter()
lines = []
for p in json.loads(sys.argv[1]):
    with open(p, encoding="utf-8") as f:
        lines += f.read().splitlines()
t1 = time.perf_counter()
t = mine_templates(lines)
t2 = time.perf_counter()
print(json.dumps({"seconds": t2 - t0, "mine_seconds": t2 - t1, "lines": len(lines),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "templates": t.templates[["template", "count"]].to_json(orient="split")}))
"""


def bench_logs(client, lines: int, peer_lines: int) -> dict:
    import pickle

    import pandas as pd

    from jupyter_ops.aiops import mine_templates
    from jupyter_ops.scale.logs import partial_state

    with tempfile.TemporaryDirectory(prefix="jops-logs-") as d:
        t0 = time.perf_counter()
        paths = write_logs(Path(d), lines)
        size = sum(os.path.getsize(p) for p in paths) / 2**20
        print(f"log data: {lines:,} lines in {len(paths)} files, {size:,.0f} MiB on disk "
              f"(written in {time.perf_counter() - t0:.0f} s, not timed)", flush=True)
        client.run(_reset_peak)
        t0 = time.perf_counter()
        res = mine_templates(paths, engine="dask", client=client)
        dask_s = time.perf_counter() - t0
        workers = client.run(_peak_mb)
        assert res.n_lines == lines, (res.n_lines, lines)
        part_state = len(pickle.dumps(client.submit(partial_state, paths[0], _settings(res))
                                      .result()[0]))
        merged_state = len(pickle.dumps(res._state))
        peer_paths = paths[:max(1, peer_lines // FILE_LINES)]
        small = mine_templates(peer_paths, engine="dask", client=client)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", PEER_LOGS, json.dumps(peer_paths),
                              str(ROOT)], capture_output=True, text=True, env=env)
    if out.returncode:
        peer = {"failed": out.stderr.strip().splitlines()[-1][:200]}
        same = None
    else:
        peer = json.loads(out.stdout.strip().splitlines()[-1])
        a = pd.read_json(__import__("io").StringIO(peer["templates"]), orient="split")
        b = small.templates[["template", "count"]]
        same = a["template"].tolist() == b["template"].tolist() and \
            a["count"].tolist() == b["count"].tolist()
    return {"lines": lines, "files": len(paths), "dask_s": dask_s, "workers": workers,
            "peer": peer, "same": same, "templates": len(res.templates),
            "state_kb": _state_kb(res), "part_state_kb": part_state / 1024,
            "merged_state_kb": merged_state / 1024}


def _settings(res) -> dict:
    st = res._state
    return {"masks": st.masks, "threshold": st.threshold, "word_threshold": st.word_threshold,
            "variants": st.variants}


def _state_kb(res) -> float:
    return len(json.dumps(res._state.to_dict())) / 1024


def _reset_peak() -> None:
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) of this process
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=14_000_000)
    ap.add_argument("--lines", type=int, default=20_000_000)
    ap.add_argument("--peer-lines", type=int, default=2_000_000)
    ap.add_argument("--worker-memory", type=int, default=600, help="MiB per worker")
    ap.add_argument("--quick", action="store_true", help="2M rows, 2M lines")
    ap.add_argument("--skip", choices=["drift", "logs"], default=None)
    args = ap.parse_args()
    if args.quick:
        args.rows, args.lines, args.peer_lines = 2_000_000, 2_000_000, 1_000_000
    import dask
    from distributed import Client, LocalCluster

    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")])}
    with dask.config.set({"distributed.nanny.environ": env}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         memory_limit=f"{args.worker_memory}MiB",
                         dashboard_address=":0") as cluster, Client(cluster) as client:
        print(f"cluster: 2 workers x {args.worker_memory} MiB, dashboard {client.dashboard_link}",
              flush=True)
        rows = []
        if args.skip != "drift":
            d = bench_drift(client, args.rows, args.worker_memory)
            peer = d["peer"]
            peak = max(d["workers"].values())
            rows.append(("drift", f"{d['rows']:,} rows x 20 ({d['mem_mb']:,.0f} MiB, "
                         f"{d['mem_mb'] / args.worker_memory:.1f}x a worker's limit)",
                         f"{d['dask_s']:.1f} s", f"{peak:.0f} MiB (limit {args.worker_memory})",
                         peer.get("failed") or f"{peer['seconds']:.1f} s, {peer['peak_mb']:,.0f} MiB",
                         "-" if "failed" in peer else f"{d['dask_s'] / peer['seconds']:.2f}x time, "
                         f"{peak / peer['peak_mb']:.2f}x peak", str(d["same"]),
                         f"{d['part_state_kb']:,.0f} kB / {d['merged_state_kb']:,.0f} kB"))
            q = d["quality"]
            if "quality_seconds" in peer:
                qpeak = max(q["workers"].values())
                rows.append(("check_quality", f"the current half: {q['rows']:,} rows x 20 "
                             f"({q['candidate_rows']:,} rows with a repeated key)",
                             f"{q['seconds']:.1f} s", f"{qpeak:.0f} MiB",
                             f"{peer['quality_seconds']:.1f} s (data already loaded; the "
                             "process peak is the drift's)",
                             f"{q['seconds'] / peer['quality_seconds']:.2f}x time",
                             str(q.get("same")), "as drift"))
            print(json.dumps({k: v for k, v in d.items() if k != "peer"} |
                             {"peer": {k: v for k, v in peer.items()
                                       if k not in ("columns", "quality", "quality_table")}},
                             default=str), flush=True)
        if args.skip != "logs":
            lg = bench_logs(client, args.lines, args.peer_lines)
            peer = lg["peer"]
            peak = max(lg["workers"].values())
            rate = lg["lines"] / lg["dask_s"]
            prate = peer["lines"] / peer["seconds"] if "failed" not in peer else None
            rows.append(("logs", f"{lg['lines']:,} lines in {lg['files']} files",
                         f"{lg['dask_s']:.1f} s ({rate:,.0f} lines/s)", f"{peak:.0f} MiB",
                         peer.get("failed") or f"{peer['lines']:,} lines: {peer['seconds']:.1f} s "
                         f"({prate:,.0f} lines/s; mining alone {peer['mine_seconds']:.1f} s), "
                         f"{peer['peak_mb']:,.0f} MiB",
                         "-" if prate is None else
                         f"{rate / prate:.2f}x lines/s, {peak / peer['peak_mb']:.2f}x peak",
                         str(lg["same"]),
                         f"{lg['part_state_kb']:,.0f} kB / {lg['merged_state_kb']:,.0f} kB"))
            print(json.dumps({k: v for k, v in lg.items() if k != "peer"} |
                             {"peer": {k: v for k, v in peer.items() if k != "templates"}},
                             default=str), flush=True)
    print()
    print("| call | data | Dask (2 workers) | peak per worker | one pandas process | "
          "ratio (Dask / one process) | identical | state: one partition / merged |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
