"""What a tracked run records as parameters and metrics, and MLflow's size limits.

* :func:`cell_params`: a cell's top-level scalar assignments, found with :mod:`ast`;
* :func:`_returned_metrics`: metrics from a cell's last expression;
* key cleaning and value truncation to what MLflow accepts.

Pure functions: no MLflow import, no state.
"""

from __future__ import annotations

import ast
import math
import re
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["cell_params", "MAX_PARAM_LENGTH", "BATCH_SIZE", "PARAM_BATCH"]

#: MLflow's limit on a parameter value (mlflow.utils.validation.MAX_PARAM_VAL_LENGTH in 3.x)
MAX_PARAM_LENGTH = 6000
#: MLflow accepts at most this many metrics per log_batch request
BATCH_SIZE = 1000
#: at most this many params or tags per log_batch request (MLflow's limit)
PARAM_BATCH = 100
_KEY_RE = re.compile(r"[^0-9A-Za-z_\-. /]")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _clean_key(key: Any) -> str:
    # MLflow keys: alphanumerics, underscores, dashes, periods, spaces, slashes; <= 250 chars
    k = _KEY_RE.sub("_", str(key)).strip() or "_"
    return k[:250]


def _param_value(value: Any) -> tuple[str, str | None]:
    """``(text, note)``: the value as MLflow stores it, and a note when it was changed."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception as e:  # objects whose repr raises must never crash a run
        return f"<unrepresentable {type(value).__name__}>", f"repr failed: {type(e).__name__}"
    if len(text) > MAX_PARAM_LENGTH:
        note = f"truncated from {len(text):,} to {MAX_PARAM_LENGTH:,} characters"
        suffix = f" ...[{note}]"
        return text[: MAX_PARAM_LENGTH - len(suffix)] + suffix, note
    return text, None


def _is_scalar(v: Any) -> bool:
    if isinstance(v, (bool, int, float, str)):
        return True
    t = type(v).__module__
    return t == "numpy" and hasattr(v, "item") and getattr(v, "ndim", 1) == 0


def cell_params(source: str, namespace: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The cell's top-level scalar assignments, found with :mod:`ast` (nothing is evaluated).

    ``lr = 0.1``, ``name: str = "rf"``, ``n = -3`` and ``a = b`` where ``b`` is a scalar bound
    earlier in the cell or in ``namespace`` are parameters; anything computed
    (``n = len(df)``) is not. Later assignments win. Unparseable source gives ``{}``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    ns = namespace or {}
    found: dict[str, Any] = {}

    def literal(node: ast.AST) -> tuple[bool, Any]:
        if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, str)):
            return True, node.value
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
                and isinstance(node.operand, ast.Constant)
                and isinstance(node.operand.value, (int, float))
                and not isinstance(node.operand.value, bool)):
            v = node.operand.value
            return True, -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Name):
            if node.id in found:
                return True, found[node.id]
            if node.id in ns and _is_scalar(ns[node.id]):
                v = ns[node.id]
                return True, v.item() if hasattr(v, "item") else v
        return False, None

    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        ok, v = literal(value)
        for t in targets:
            if isinstance(t, ast.Name):
                if ok:
                    found[t.id] = v
                else:
                    found.pop(t.id, None)  # rebound to something computed: no longer a param
    return found


def _returned_metrics(value: Any) -> dict[str, float]:
    """Metrics from a cell's last expression: a mapping (or Series) of names to numbers."""
    items: Any = None
    if isinstance(value, Mapping):
        items = value.items()
    elif type(value).__name__ == "Series" and hasattr(value, "items"):
        items = value.items()
    if items is None:
        return {}
    out = {}
    for k, v in items:
        if isinstance(v, bool) or not isinstance(k, str):
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[k] = f
    return out
