"""``jupyter-ops demo``: generate sample scenarios, run every capability, write a report.

Each CLI module may define ``demo(ctx: DemoContext)``; it adds its results to ``ctx.report``.
The demo grows as capabilities land, without this file changing.
"""

from __future__ import annotations

import argparse
import importlib
import time
from functools import cached_property
from pathlib import Path
from typing import Any


class DemoContext:
    """What a capability's demo step gets: the seed, an output folder, the report, scenarios."""

    def __init__(self, out_dir: Path, seed: int = 0) -> None:
        from ..report import Report

        self.out_dir = out_dir
        self.seed = seed
        self.report = Report("jupyter-ops demo report")
        self.timings: dict[str, float] = {}

    @cached_property
    def incidents(self) -> Any:
        """An :func:`~jupyter_ops.datasets.incident_scenario` (generated on first use)."""
        from ..datasets import incident_scenario

        return incident_scenario(seed=self.seed)

    @cached_property
    def drift(self) -> Any:
        """A :func:`~jupyter_ops.datasets.drift_scenario` (generated on first use)."""
        from ..datasets import drift_scenario

        return drift_scenario(seed=self.seed)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="generate sample data, run every analysis and write a report",
        description="Generate an incident scenario and a drift scenario (deterministic by "
        "--seed), run every capability on them and write report.html, report.md and "
        "report.json to --out.")
    p.add_argument("--out", default="demo-out", help="output folder (created if missing)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated scenarios")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from . import AIOPS_MODULES, MLOPS_MODULES

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out, seed=args.seed)
    ctx.report.add(
        "This report was made by `jupyter-ops demo` on generated data with known ground truth "
        f"(seed {args.seed}). Re-run the same command to get the same findings.")
    for name in AIOPS_MODULES + MLOPS_MODULES:
        step = getattr(importlib.import_module(name), "demo", None)
        if step is None:
            continue
        t0 = time.perf_counter()
        step(ctx)
        ctx.timings[name.rsplit(".", 1)[-1]] = time.perf_counter() - t0
    _record_sources(ctx)
    # what was found, one line per result, so the terminal shows value before the report opens
    for section in ctx.report.sections:
        if section.kind == "markdown" and (section.provenance or {}).get("blocks"):
            head, _, summary = section.content.partition("\n\n")
            print(f"{head.lstrip('# ')}: {' '.join(summary.split())}" if summary else head.lstrip("# "))
    for fmt in ("html", "md", "json"):
        path = ctx.report.save(out / f"report.{fmt}")
        print(f"wrote {path}")
    return 0


def _record_sources(ctx: DemoContext) -> None:
    """Name the generated data sets as the sections' inputs, so ``report verify`` re-runs them."""
    from ..report.sources import attach_dataset_sources

    made = {"incident_scenario": "incidents", "drift_scenario": "drift"}
    attach_dataset_sources(ctx.report, {gen: (ctx.seed, getattr(ctx, attr))
                                        for gen, attr in made.items() if attr in vars(ctx)})
