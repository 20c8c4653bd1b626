"""The package's layers, checked on the source: lower layers never import upper ones.

Layers, bottom to top (see docs/architecture.md):

1. ``errors``, ``serialize``, ``provenance``, ``htmltext``, ``atomic``, ``config``, ``progress``
   (import nothing above themselves);
2. ``results``;
3. the core: ``io``, ``aiops``, ``mlops``, ``datasets``;
4. ``report`` (on top of results and the core);
5. the front ends: ``magics``, ``widgets``, ``cli``, ``server``.

Every ``import`` counts, also the lazy ones inside functions: a lazy import still makes a
circle, it only hides it until run time.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "jupyter_ops"

BASE = {"errors", "serialize", "provenance", "htmltext", "atomic", "config", "progress", "_lazy"}
CORE = {"io", "aiops", "mlops", "datasets"}
FRONT = {"magics", "widgets", "cli", "server"}

#: what each layer must not import (package parts, and IPython for everything below the front)
FORBIDDEN = {
    "base": {"results", "report", *CORE, *FRONT, "IPython", "ipywidgets", "ipykernel"},
    "results": {"report", *CORE, *FRONT, "IPython", "ipywidgets", "ipykernel"},
    "core": {"report", *FRONT, "IPython", "ipywidgets", "ipykernel"},
    "report": {*FRONT, "IPython", "ipywidgets", "ipykernel"},
}


def _layer(path: Path) -> str | None:
    rel = path.relative_to(PKG)
    top = rel.parts[0].removesuffix(".py")
    if top in BASE:
        return "base"
    if top == "results":
        return "results"
    if top in CORE:
        return "core"
    if top == "report":
        return "report"
    return None


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, first name)`` of every import: package parts for ``jupyter_ops`` imports,
    the top-level module for third-party ones."""
    rel = path.relative_to(PKG)
    package = list(rel.parts[:-1])  # the importing module's package inside jupyter_ops
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "jupyter_ops":
                    out.append((node.lineno, parts[1] if len(parts) > 1 else ""))
                else:
                    out.append((node.lineno, parts[0]))
        elif isinstance(node, ast.ImportFrom):
            mod = (node.module or "").split(".") if node.module else []
            if node.level == 0:
                if mod and mod[0] == "jupyter_ops":
                    names = mod[1:2] or [a.name for a in node.names]
                    out += [(node.lineno, n) for n in names]
                elif mod:
                    out.append((node.lineno, mod[0]))
                continue
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            if node.level - 1 > len(package):
                raise AssertionError(f"{path}: relative import above the package")
            full = base + [m for m in mod if m]
            if full:
                out.append((node.lineno, full[0]))
            else:  # ``from . import x`` at the package root
                out += [(node.lineno, a.name) for a in node.names]
    return out


def _violations() -> list[str]:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        layer = _layer(path)
        if layer is None:
            continue
        for line, name in _imports(path):
            if name in FORBIDDEN[layer]:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} ({layer}) imports {name}")
    return bad


def test_lower_layers_never_import_upper_ones():
    assert _violations() == []


def test_the_checker_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    # the checker itself must be able to fail: a lazy relative import of report in the core
    fake = tmp_path / "jupyter_ops"
    (fake / "aiops").mkdir(parents=True)
    (fake / "aiops" / "x.py").write_text(
        "def f():\n    from ..report.model import Report\n    import IPython\n")
    (fake / "results.py").write_text("from .report import Report\n")
    (fake / "provenance.py").write_text("from jupyter_ops.results import Result\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    got = _violations()
    assert len(got) == 4, got
    assert any("aiops/x.py:2" in g and "report" in g for g in got)
    assert any("IPython" in g for g in got)


@pytest.mark.parametrize("name", sorted(BASE - {"_lazy", "config", "progress"}))
def test_base_modules_exist(name):
    assert (PKG / f"{name}.py").is_file()
