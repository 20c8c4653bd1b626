"""What safe chart rendering costs: sanitising specs, and rendering in a worker process.

Peer: vl-convert called directly in this process (what reports did before). Rows: the
sanitiser alone; a report's charts rendered in-process after sanitising (trusted specs, our own
results); the same charts in a worker process (specs read from a file). Median of 5 runs,
after one warm-up render in this process.

    python benchmarks/bench_charts.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np


def spec(i: int, n: int = 300) -> dict:
    rng = np.random.default_rng(i)
    values = [{"t": f"2024-05-01T10:{k // 60:02d}:{k % 60:02d}Z", "v": float(x),
               "s": f"series\x1b[3{i % 8}m{i}"} for k, x in enumerate(rng.normal(10, 1, n))]
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "data": {"values": values}, "mark": "line",
            "encoding": {"x": {"field": "t", "type": "temporal"},
                         "y": {"field": "v", "type": "quantitative"},
                         "color": {"field": "s", "type": "nominal"}}}


def median_time(fn, reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    import vl_convert as vlc

    from jupyter_ops.report.charts import render_svgs
    from jupyter_ops.safetext import safe_spec

    rows = []
    for n_charts in (1, 3):
        specs = [spec(i) for i in range(n_charts)]
        # the peer cannot take the raw specs (ESC would abort this process): give it the
        # sanitised ones, so it measures vl-convert alone
        clean = [safe_spec(s) for s in specs]
        vlc.vegalite_to_svg(clean[0])  # warm-up: the first render loads the JS runtime
        peer = median_time(lambda c=clean: [vlc.vegalite_to_svg(s) for s in c])
        san = median_time(lambda s=specs: [safe_spec(x) for x in s])
        here = median_time(lambda s=specs: render_svgs(s, isolate=False))
        worker = median_time(lambda s=specs: render_svgs(s, isolate=True), reps=3)
        assert all(svg for svg, _ in render_svgs(specs, isolate=True))
        rows.append((n_charts, peer, san, here, worker))
    print("| charts | vl-convert direct (peer) | safe_spec only | in-process, safe | worker "
          "process, safe | in-process / peer | worker / peer |")
    print("|---|---|---|---|---|---|---|")
    for n, peer, san, here, worker in rows:
        print(f"| {n} | {peer:.3f} s | {san * 1000:.1f} ms | {here:.3f} s | {worker:.2f} s | "
              f"{here / peer:.2f}x | {worker / peer:.1f}x |")


if __name__ == "__main__":
    main()
