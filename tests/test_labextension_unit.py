"""Runs the lab extension's TypeScript unit tests (Vitest) so that ``pytest`` is the one test
command. Skipped where Node.js or the extension's node_modules are missing (a wheel install)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests._ci import skip_or_fail

LABEXT = Path(__file__).resolve().parents[1] / "labextension"


def test_typescript_unit_tests_pass():
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    jlpm = shutil.which("jlpm", path=env["PATH"])
    if shutil.which("node", path=env["PATH"]) is None or jlpm is None:
        skip_or_fail("Node.js or jlpm not available")
    if not (LABEXT / "node_modules" / "vitest").is_dir():
        skip_or_fail("labextension/node_modules missing (pip install -e . installs it)")
    p = subprocess.run([jlpm, "test"], cwd=LABEXT, env=env, capture_output=True, text=True,
                       timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-5000:]
    assert " passed" in out and " failed" not in out, out[-3000:]
