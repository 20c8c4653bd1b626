"""Log any jupyter-ops result into the active MLflow run: :func:`log_result`.

Analysis functions (``drift()``, ``monitor()``, ...) call this so that, inside a tracked run,
their key figures, tables and payload land in that run. Outside a run it does nothing and
never imports mlflow.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from typing import Any

__all__ = ["log_result"]

#: how many results of each kind were logged per run: metric step and artifact folder
_COUNTS: dict[tuple[str, str], int] = {}


def _slug(text: str) -> str:
    s = re.sub(r"[^0-9A-Za-z_\-./ ]+", "", str(text)).strip().lower()
    return re.sub(r"[\s/]+", "_", s)[:200] or "value"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def log_result(result: Any) -> bool:
    """Log ``result`` to the active MLflow run, if there is one.

    Numeric key figures become metrics named ``<kind>.<label>`` (e.g. ``drift.drifted_columns``),
    at step 0 for the first result of that kind in the run, 1 for the second, and so on. Each
    table is written as CSV under ``jupyter_ops/<kind>/<n>/<table>.csv`` and the whole JSON
    payload as ``.../result.json``.

    Parameters
    ----------
    result : jupyter_ops.results.Result
        Any result object.

    Returns
    -------
    bool
        True when something was logged, False when no run is active (mlflow not even loaded).
    """
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return False
    run = mlflow.active_run()
    if run is None:
        return False
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from ..serialize import to_jsonable

    run_id = run.info.run_id
    kind = _slug(getattr(result, "kind", "result"))
    key = (run_id, kind)
    step = _COUNTS.get(key, 0)
    _COUNTS[key] = step + 1
    now = int(time.time() * 1000)

    metrics = []
    seen: set[str] = set()
    for f in result.figures() if hasattr(result, "figures") else []:
        value = _number(f.get("value"))
        if value is None:
            continue
        name = f"{kind}.{_slug(f.get('label', 'value'))}"
        if name in seen:
            continue
        seen.add(name)
        metrics.append(Metric(name, value, now, step))
    # route through the tracker's buffer when one is active, else one batch request
    from . import tracker

    active = tracker.current_run()
    if active is not None and active.run_id == run_id:
        for m in metrics:
            active.log_metric(m.key, m.value, step=m.step, timestamp=m.timestamp)
    elif metrics:
        MlflowClient().log_batch(run_id, metrics=metrics)

    folder = f"jupyter_ops/{kind}/{step}"
    tables = result.tables() if hasattr(result, "tables") else {}
    for name, df in tables.items():
        try:
            mlflow.log_text(df.to_csv(index=False), f"{folder}/{_slug(name)}.csv")
        except Exception:  # a table that cannot be written must not lose the rest
            continue
    payload = (result.to_payload(include_charts=False) if hasattr(result, "to_payload")
               else to_jsonable(result))
    mlflow.log_text(json.dumps(payload, indent=1, default=str), f"{folder}/result.json")
    return True
