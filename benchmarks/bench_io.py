"""Speed of the canonical loaders against the plain approaches they replace (one command).

    .venv/bin/python benchmarks/bench_io.py [--rows 1000000] [--lines 100000]

Cases, each timed as the best of three runs in this process:

* alerts: ``load_alerts`` on a 1M-row DataFrame with tz-aware timestamps and with ISO
  strings, against the hand-written pandas a user would otherwise write (``pd.to_datetime(...,
  utc=True)`` plus a severity ``map``; no validation, no fingerprints, no error messages);
* text logs: ``load_logs`` on 100k lines of each Loghub sample (repeated), against the common
  hand-written loop: a regex
  for the header and ``dateutil.parser.parse`` per line (timestamps only, no levels).

Prints a table with seconds and the ratio peer / ours (> 1 means ours is faster).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LOGHUB = ROOT.parent / "shared" / "data" / "loghub-2k"

# header regexes a user would write for the dateutil loop (timestamp text only)
_HEADERS = {
    "HDFS": r"^(\d{6} \d{6})", "Hadoop": r"^(\S+ \S+),(\d+)", "Spark": r"^(\S+ \S+)",
    "Linux": r"^(\w{3}\s+\d+ \S+)", "OpenSSH": r"^(\w{3}\s+\d+ \S+)",
    "Mac": r"^(\w{3}\s+\d+ \S+)", "BGL": r"^\S+ (\d+)", "HealthApp": r"^(\S+?)\|",
}


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


_SEV = {"critical": "critical", "crit": "critical", "p1": "critical", "error": "error",
        "warning": "warning", "warn": "warning", "p3": "warning", "info": "info"}


def hand_written(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True, format="ISO8601")
    out["severity"] = out["severity"].str.lower().map(_SEV).fillna("unknown")
    out["message"] = ""
    return out


def dateutil_loop(lines: list[str], header: str) -> list:
    from dateutil import parser

    rx = re.compile(header)
    out, last = [], None
    for ln in lines:
        m = rx.match(ln)
        if m:
            text = m.group(1)
            try:
                if text.isdigit() and len(text) >= 10:
                    last = pd.Timestamp(int(text), unit="s")
                else:
                    last = parser.parse(text.replace("|", " "), fuzzy=False)
            except (ValueError, OverflowError):
                pass
        out.append(last)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--lines", type=int, default=100_000)
    args = ap.parse_args()

    from jupyter_ops.io import load_alerts, load_logs

    rows = []
    n = args.rows
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "timestamp": pd.date_range("2024-01-01", periods=n, freq="s", tz="UTC"),
        "service": rng.choice([f"svc{i}" for i in range(50)], n),
        "name": rng.choice([f"alert{i}" for i in range(20)], n),
        "severity": rng.choice(["critical", "warning", "P3", None], n),
    })
    ours = best(lambda: load_alerts(frame))
    peer = best(lambda: hand_written(frame))
    rows.append((f"alerts {n:,} rows, tz-aware", ours, "hand-written pandas", peer))
    text = frame.assign(timestamp=frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    ours = best(lambda: load_alerts(text))
    peer = best(lambda: hand_written(text))
    rows.append((f"alerts {n:,} rows, ISO strings", ours, "hand-written pandas", peer))

    tmp = Path(ROOT / ".bench-io-tmp")
    tmp.mkdir(exist_ok=True)
    try:
        for name, header in _HEADERS.items():
            src = LOGHUB / name / f"{name}_2k.log"
            if not src.exists():
                continue
            lines = src.read_text(errors="replace").splitlines()
            reps = -(-args.lines // len(lines))
            big = (lines * reps)[: args.lines]
            path = tmp / f"{name}.log"
            path.write_text("\n".join(big) + "\n")
            ours = best(lambda p=path: load_logs(p, year=2024), repeat=2)
            peer = best(lambda b=big, h=header: dateutil_loop(b, h), repeat=1)
            rows.append((f"logs {name} {len(big):,} lines", ours, "regex+dateutil loop", peer))
    finally:
        for p in tmp.glob("*.log"):
            p.unlink()
        tmp.rmdir()

    print("| case | ours (s) | peer | peer (s) | peer/ours |")
    print("|---|---:|---|---:|---:|")
    for case, o, pname, p in rows:
        print(f"| {case} | {o:.3f} | {pname} | {p:.3f} | {p / o:.2f} |")


if __name__ == "__main__":
    main()
