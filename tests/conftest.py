"""Shared fixtures: a real IPython shell, the development data, an isolated MLflow store."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests._ci import in_ci, skip_or_fail  # noqa: F401 (re-exported for tests)

ROOT = Path(__file__).resolve().parents[1]
#: development data beside the project root (never copied into the repo)
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


# -- the tests leave the working tree as they found it -------------------------------------
#: build and cache output that may appear during tests (documented output folders)
_ALLOWED_NEW = ("__pycache__", ".pytest_cache", ".ruff_cache", "test-artifacts/",
                "jupyter_ops/labextension/", "labextension/", "dist/", "build/", ".egg-info",
                "benchmarks/results/")
_TREE_BEFORE: set[str] | None = None


def _tree_state() -> set[str] | None:
    """Untracked and ignored paths of the repository (None outside a git checkout)."""
    if not (ROOT / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return {line[3:] for line in out.stdout.splitlines()
            if line[:2] in ("??", "!!") and not any(a in line[3:] for a in _ALLOWED_NEW)}


def pytest_sessionstart(session: pytest.Session) -> None:
    global _TREE_BEFORE
    _TREE_BEFORE = _tree_state()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when tests left files in the repository (e.g. ./mlruns, reports)."""
    if _TREE_BEFORE is None:
        return
    after = _tree_state() or set()
    new = sorted(after - _TREE_BEFORE)
    if new:
        shown = ", ".join(new[:10]) + (" ..." if len(new) > 10 else "")
        print(f"\nERROR: the tests left {len(new)} new file(s) in the repository: {shown}; "
              "write to tmp_path instead")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The development data; on a laptop without it the test skips, in CI it fails."""
    if not SHARED_DATA.is_dir():
        msg = f"development data not found at {SHARED_DATA}"
        if in_ci():
            pytest.fail(f"{msg} (CI=true: a missing data set fails instead of skipping)")
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture
def ip(tmp_path, monkeypatch):
    """A real IPython InteractiveShell with ``%load_ext jupyter_ops`` done, cwd in tmp_path.

    The report log is emptied for each test so tests do not see each other's results.
    """
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_ops.report.session import session_log

    monkeypatch.chdir(tmp_path)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_ops")
    # the shell outlives tests; a test's fresh settings object must be the one %config sees
    from jupyter_ops.config import register

    register(shell)
    session_log().clear()
    saved = set(shell.user_ns)
    yield shell
    for k in set(shell.user_ns) - saved:
        shell.user_ns.pop(k, None)
    session_log().clear()
    shell.config.pop("JupyterOps", None)  # %config keeps its values in the shell's config


@pytest.fixture
def mlflow_uri(tmp_path, monkeypatch) -> str:
    """An isolated MLflow store (SQLite file in tmp_path), set as MLFLOW_TRACKING_URI."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # a SQLite store puts artifacts in ./mlruns of the working directory: keep them out of
    # the repository
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    try:
        import mlflow

        mlflow.set_tracking_uri(uri)
    except ImportError:  # pragma: no cover
        pass
    yield uri
    try:
        import mlflow

        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
    except Exception:  # pragma: no cover
        pass
    os.environ.pop("MLFLOW_TRACKING_URI", None)


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Every test starts with default ``JupyterOps`` settings (a ``%config`` does not leak)."""
    from jupyter_ops.config import JupyterOps

    JupyterOps.clear_instance()
    yield
    JupyterOps.clear_instance()


@pytest.fixture(autouse=True)
def _no_mlflow_experiment_leaks():
    """``mlflow.set_experiment`` writes MLFLOW_EXPERIMENT_ID into os.environ and a module
    global; left behind, a later test's fresh store has no such experiment."""
    yield
    import sys

    for var in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        os.environ.pop(var, None)
    fluent = sys.modules.get("mlflow.tracking.fluent")
    if fluent is not None and hasattr(fluent, "_active_experiment_id"):
        fluent._active_experiment_id = None
