"""An editable install without Node.js works; the kernel then says how to get the extension."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_editable_build_succeeds_without_node(tmp_path):
    import editables  # noqa: F401 - hatchling's editable builds need it (a test dependency)

    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "node_modules", "__pycache__", "labextension*", "mlruns", "*.db",
        "test-artifacts", "demo-out", ".pytest_cache", ".ruff_cache"))
    shutil.copytree(ROOT / "labextension", src / "labextension", ignore=shutil.ignore_patterns(
        "node_modules", "lib", ".yarn", "*.tsbuildinfo"))
    assert not (src / "jupyter_ops" / "labextension").exists()
    nonode = tmp_path / "bin"  # a PATH with Python's own tools and no node/npm
    nonode.mkdir()
    (nonode / "python3").symlink_to(sys.executable)
    venv_bin = Path(sys.executable).parent
    assert shutil.which("node", path=f"{nonode}{os.pathsep}{venv_bin}") is None
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = ("import hatchling.build as b, sys; "
            f"print(b.build_editable({str(out_dir)!r}))")
    env = {"PATH": f"{nonode}{os.pathsep}{venv_bin}", "HOME": str(tmp_path),
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if "site-packages" in p)}
    res = subprocess.run([sys.executable, "-c", code], cwd=src, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    wheel = out_dir / res.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    assert any(n.endswith(".pth") or "_editable_impl" in n for n in names), names
    # no built extension (only its install.json metadata): there was no Node.js to build it
    assert not any("labextensions/jupyter-ops/package.json" in n or "/static/" in n
                   for n in names), names
    assert "Encountered build error" in res.stderr  # the extension build was tried, and skipped


def test_kernel_hint_when_the_extension_is_missing(monkeypatch):
    from jupyter_ops import _labext

    monkeypatch.setattr(_labext, "_shown", False)
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel") or object())
    monkeypatch.setattr(_labext, "labextension_installed", lambda: False)
    hint = _labext.hint_once()
    assert hint == _labext.HINT and "\n" not in hint and "Node.js" in hint
    assert _labext.hint_once() is None  # once per kernel
    monkeypatch.setattr(_labext, "_shown", False)
    monkeypatch.setattr(_labext, "labextension_installed", lambda: True)
    assert _labext.hint_once() is None


def test_no_hint_outside_a_kernel(monkeypatch):
    from jupyter_ops import _labext

    monkeypatch.setattr(_labext, "_shown", False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setattr(_labext, "labextension_installed", lambda: False)
    assert _labext.hint_once() is None
