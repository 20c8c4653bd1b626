"""Fetching a week of metrics from a real Prometheus: jupyter-ops vs prometheus-api-client.

    .venv/bin/python benchmarks/bench_live.py [--series 100] [--days 7] [--step 15] [--repeat 3]

Builds a Prometheus TSDB with ``promtool tsdb create-blocks-from openmetrics`` (Debian's
``prometheus`` package): ``--series`` gauge series with one sample every ``--step`` seconds
for ``--days`` days (seeded random walks), starts Prometheus on 127.0.0.1 on that data and
times, in the same run, best of ``--repeat``:

* ours: ``jupyter_ops.io.prometheus_query_range(url, "bench_value", start, end, "15s")``
  (splits the range under the 11,000-points limit, fetches the pieces concurrently, builds
  the canonical frame with numpy);
* peer: ``prometheus_api_client.PrometheusConnect.custom_query_range`` over the same
  sub-ranges (one request cannot exceed the limit either), then ``MetricRangeDataFrame``.

Checks that both return the same timestamps and values per series, then prints a table
with seconds and the ratio peer / ours (> 1 means ours is faster).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_servers import free_port, wait_ready  # noqa: E402


def write_openmetrics(path: Path, series: int, start_s: int, points: int, step: int,
                      seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ts = (start_s + np.arange(points) * step).astype(str)
    with open(path, "w") as f:
        f.write("# HELP bench_value synthetic gauge\n# TYPE bench_value gauge\n")
        for i in range(series):
            vals = np.round(100 + np.cumsum(rng.normal(0, 1, points)), 3).astype(str)
            prefix = f'bench_value{{series="s{i:03d}",service="svc{i % 10}"}} '
            f.write("\n".join(prefix + v + " " + t for v, t in zip(vals, ts, strict=True)))
            f.write("\n")
        f.write("# EOF\n")


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def peer_fetch(url: str, start: pd.Timestamp, end: pd.Timestamp, step: int,
               gzip: bool = True) -> pd.DataFrame:
    from prometheus_api_client import MetricRangeDataFrame, PrometheusConnect

    headers = None if gzip else {"Accept-Encoding": "identity"}
    prom = PrometheusConnect(url=url, disable_ssl=True, headers=headers)
    span = pd.Timedelta(seconds=step * 10_999)
    results: dict[tuple, dict] = {}
    s = start
    while s <= end:
        e = min(s + span, end)
        for r in prom.custom_query_range("bench_value", s.to_pydatetime(), e.to_pydatetime(),
                                         f"{step}s"):
            key = tuple(sorted(r["metric"].items()))
            results.setdefault(key, {"metric": r["metric"], "values": []})["values"] += \
                r["values"]
        s = e + pd.Timedelta(seconds=step)
    return MetricRangeDataFrame(list(results.values()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--days", type=float, default=7)
    ap.add_argument("--step", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", default=None,
                    help="keep the generated TSDB in this folder and reuse it on later runs")
    args = ap.parse_args()

    from jupyter_ops.io import prometheus_query_range

    for exe in ("prometheus", "promtool"):
        if shutil.which(exe) is None:
            sys.exit(f"{exe} not found: apt-get install prometheus")
    points = int(args.days * 86400 // args.step) + 1
    work = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="bench-live-"))
    work.mkdir(parents=True, exist_ok=True)
    meta_path = work / "meta.json"
    want = {"series": args.series, "points": points, "step": args.step}
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    proc = None
    try:
        t0 = time.perf_counter()
        if {k: meta.get(k) for k in want} != want or not (work / "tsdb").exists():
            shutil.rmtree(work / "tsdb", ignore_errors=True)
            end_s = (int(time.time()) // 3600 - 2) * 3600  # whole hours, safely in the past
            start_s = end_s - (points - 1) * args.step
            om = work / "data.om"
            write_openmetrics(om, args.series, start_s, points, args.step)
            subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om),
                            str(work / "tsdb")], check=True, capture_output=True)
            om.unlink()
            meta_path.write_text(json.dumps({**want, "start_s": start_s, "end_s": end_s}))
        else:
            start_s, end_s = meta["start_s"], meta["end_s"]
        (work / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(work / "prometheus.log", "w")
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={work / 'prometheus.yml'}",
             f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
             "--storage.tsdb.retention.time=30d", "--query.max-samples=100000000"],
            stdout=log, stderr=subprocess.STDOUT)
        proc.args = ["prometheus"]
        wait_ready(url + "/-/ready", proc, timeout=120)
        print(f"data: {args.series} series x {points} points "
              f"({args.series * points / 1e6:.2f}M samples), prepared in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        start = pd.Timestamp(start_s, unit="s", tz="UTC")
        end = pd.Timestamp(end_s, unit="s", tz="UTC")
        # warm Prometheus's page cache for both (first query reads the blocks from disk)
        prometheus_query_range(url, "bench_value", start, end, f"{args.step}s")
        t_ours, ours = best(lambda: prometheus_query_range(url, "bench_value", start, end,
                                                           f"{args.step}s"), args.repeat)
        t_peer, peer = best(lambda: peer_fetch(url, start, end, args.step), args.repeat)
        # the peer told not to compress either, so the ratio is not only the header
        t_peer_id, peer_id = best(lambda: peer_fetch(url, start, end, args.step, gzip=False),
                                  args.repeat)
        # ours forced to gzip (what it asks a remote server for)
        t_ours_gz, _ = best(lambda: prometheus_query_range(url, "bench_value", start, end,
                                                           f"{args.step}s", compression=True),
                            args.repeat)
        pd.testing.assert_frame_equal(peer, peer_id)

        # same values: per series, same timestamps and values in the same order
        peer = peer.reset_index()
        assert len(ours) == len(peer) == args.series * points, (len(ours), len(peer))
        for key, p in peer.groupby("series", sort=True):
            o = ours[ours["label_series"] == key]
            pt = pd.to_datetime(p["timestamp"]).dt.tz_localize("UTC").to_numpy()
            assert (o["timestamp"].to_numpy() == pt).all(), key
            assert np.array_equal(o["value"].to_numpy(), p["value"].to_numpy()), key
        print("same values: yes (every timestamp and value of every series)\n")
        case = (f"{args.series} series x {args.days:g} d at {args.step} s "
                f"({args.series * points / 1e6:.2f}M samples)")
        print("| case | jupyter-ops (s) | prometheus-api-client (s) | ratio peer/ours |")
        print("|---|---|---|---|")
        print(f"| {case}, defaults (ours: no gzip on loopback; peer: gzip) | {t_ours:.2f} | "
              f"{t_peer:.2f} | {t_peer / t_ours:.1f}x |")
        print(f"| {case}, both without gzip | {t_ours:.2f} | {t_peer_id:.2f} | "
              f"{t_peer_id / t_ours:.1f}x |")
        print(f"| {case}, both with gzip | {t_ours_gz:.2f} | {t_peer:.2f} | "
              f"{t_peer / t_ours_gz:.1f}x |")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if not args.data:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
