"""How long ``import jupyter_ops`` and ``%load_ext jupyter_ops`` take (target: < 0.5 s).

Each measurement runs in a fresh interpreter (median of 7), next to the cost of importing the
heavy libraries the package deliberately does not load up front.

    python benchmarks/bench_import.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys

SNIPPETS = {
    "python -c pass (baseline)": "pass",
    "import IPython + shell": "from IPython.core.interactiveshell import InteractiveShell as S; S.instance()",
    "import jupyter_ops": "import jupyter_ops",
    "%load_ext jupyter_ops": (
        "from IPython.core.interactiveshell import InteractiveShell as S\n"
        "ip = S.instance()\nimport time; t = time.perf_counter()\n"
        "ip.run_line_magic('load_ext', 'jupyter_ops')\n"
        "print(time.perf_counter() - t)"),
    "import pandas (for comparison)": "import pandas",
    "import mlflow (for comparison)": "import mlflow",
    "import sklearn.ensemble (for comparison)": "import sklearn.ensemble",
    "import altair (for comparison)": "import altair",
}


def wall(code: str, reps: int = 7) -> float:
    times = []
    for _ in range(reps):
        prog = ("import time; _t = time.perf_counter()\n" + code +
                "\nprint('WALL', time.perf_counter() - _t)")
        out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                             check=True).stdout
        times.append(float(out.strip().splitlines()[-1].split()[1]))
    return statistics.median(times)


def main() -> None:
    rows = []
    ipy = None
    for name, code in SNIPPETS.items():
        if name.startswith("%load_ext"):
            vals = []
            for _ in range(7):
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout
                vals.append(float(out.strip().splitlines()[-1]))
            t = statistics.median(vals)
        else:
            t = wall(code)
        if name.startswith("import IPython"):
            ipy = t
        rows.append((name, t))
    print(f"{'what':45s} {'median s':>9s}  target")
    for name, t in rows:
        target = "< 0.5 s" if "jupyter_ops" in name else ""
        print(f"{name:45s} {t:9.3f}  {target}")
    if ipy:
        print(f"\n(IPython shell start itself: {ipy:.3f} s, not counted in %load_ext)")


if __name__ == "__main__":
    main()
