"""Scale-out adapters: the core's calls on Dask (``pip install jupyter-ops[dask]``).

The public core functions (``drift``, ``profile``, ``mine_templates``, ``detect_anomalies``,
``correlate``) hand a Dask DataFrame, or any input with ``engine="dask"``, to the adapters in
this package. Each adapter runs the single-process algorithm per partition (or per group of
series / time slice), sends only partial states between workers and merges them; the result
equals the single-process call (see ``docs/scale.md``).

This module must stay cheap to import: nothing here imports Dask (``is_dask`` looks at the
type's module name only), so the core can ask "is this a Dask object?" for free.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_dask", "is_summary"]


def is_dask(obj: Any) -> bool:
    """True for a Dask collection (DataFrame, Series, Bag), without importing Dask."""
    mod = type(obj).__module__ or ""
    return mod == "dask" or mod.startswith(("dask.", "dask_expr"))


def is_summary(obj: Any) -> bool:
    """True for a merged partition summary (:class:`jupyter_ops.scale.summary.FrameSummary`)."""
    return type(obj).__name__ == "FrameSummary" and hasattr(obj, "stats_by_col")
