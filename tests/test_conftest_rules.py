"""The test suite's own rules: missing data fails in CI, warnings from our code are not hidden."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_pytest(tmp_path, body: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    """Run one test file (in tmp_path) with this suite's conftest and pyproject settings."""
    test = tmp_path / "test_rules_probe.py"
    test.write_text(body)
    env = {**os.environ, **env_extra,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), *sys.path])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(test), "-q", "-p", "no:cacheprovider",
         "-p", "conftest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


MISSING_DATA = """
import conftest

conftest.SHARED_DATA = conftest.Path("/nonexistent/shared/data")


def test_uses_data(shared_data):
    pass
"""


def test_missing_shared_data_skips_locally_and_fails_in_ci(tmp_path):
    local = _run_pytest(tmp_path, MISSING_DATA, {"CI": ""})
    assert "1 skipped" in local.stdout, local.stdout + local.stderr
    ci = _run_pytest(tmp_path, MISSING_DATA, {"CI": "true"})
    assert ci.returncode != 0 and "CI=true" in ci.stdout, ci.stdout + ci.stderr


DEPRECATIONS = """
import warnings


def test_ours():
    warnings.warn_explicit("old", DeprecationWarning, "x.py", 1,
                           module="jupyter_ops.mlops.tracker")


def test_third_party_is_quiet():
    warnings.warn_explicit("old", DeprecationWarning, "y.py", 1, module="somelib.sub")
"""


def test_deprecation_warnings_of_our_code_fail_third_party_ones_do_not(tmp_path):
    res = _run_pytest(tmp_path, DEPRECATIONS, {})
    assert "1 failed, 1 passed" in res.stdout, res.stdout + res.stderr
