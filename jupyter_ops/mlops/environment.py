"""What a run ran on: Python, platform, packages, git commit, notebook path."""

from __future__ import annotations

import functools
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["run_environment", "git_commit", "notebook_path"]

#: packages recorded with every run (besides jupyter-ops' core set)
PACKAGES_OF_INTEREST = (
    "jupyter-ops", "mlflow", "scikit-learn", "pandas", "numpy", "scipy", "xgboost",
    "lightgbm", "torch", "tensorflow", "statsmodels", "pyarrow", "ipython",
)


@functools.lru_cache(maxsize=1)
def _static_environment() -> dict[str, Any]:
    # package versions do not change within a process (metadata lookups take ~ms each)
    versions = {}
    for name in PACKAGES_OF_INTEREST:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "packages": versions,
    }


def run_environment() -> dict[str, Any]:
    """Python version, platform, installed versions of the packages of interest, git commit.

    Returns
    -------
    dict
        ``{"python", "implementation", "executable", "platform", "packages": {name: version},
        "git_commit", "cwd", "notebook"}``; missing packages are left out.
    """
    env = dict(_static_environment())
    env["packages"] = dict(env["packages"])
    env["git_commit"] = git_commit()
    env["cwd"] = os.getcwd()
    env["notebook"] = notebook_path()
    return env


def _git_dir(start: Path) -> Path | None:
    for d in (start, *start.parents):
        g = d / ".git"
        if g.is_dir():
            return g
        if g.is_file():  # worktree: "gitdir: <path>"
            text = g.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                p = Path(text[len("gitdir:"):].strip())
                return p if p.is_absolute() else (d / p)
    return None


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """The commit checked out in the git repository containing ``path`` (default: cwd).

    Read from ``.git/HEAD`` and the refs directly (no ``git`` subprocess, ~0.1 ms);
    None outside a repository.
    """
    try:
        g = _git_dir(Path(path or os.getcwd()).resolve())
        if g is None:
            return None
        head = (g / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head[len("ref:"):].strip()
        common = g
        if (g / "commondir").is_file():  # linked worktree: refs live in the main .git
            common = (g / (g / "commondir").read_text().strip()).resolve()
        for base in (g, common):
            f = base / ref
            if f.is_file():
                return f.read_text().strip() or None
        for base in (g, common):
            packed = base / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == ref:
                        return parts[0]
    except OSError:
        return None
    return None


def notebook_path() -> str | None:
    """The notebook this kernel runs, when Jupyter tells us (``__session__`` /
    ``JPY_SESSION_NAME``), else None.

    JupyterLab and Notebook 7 set ``JPY_SESSION_NAME`` in the kernel's environment;
    ipykernel also puts ``__session__`` into the user namespace.
    """
    path = os.environ.get("JPY_SESSION_NAME")
    if path:
        return path
    main = sys.modules.get("__main__")
    session = getattr(main, "__session__", None)
    if isinstance(session, str) and session:
        return session
    try:  # the IPython user namespace, without importing IPython
        ipy = sys.modules.get("IPython")
        shell = ipy.get_ipython() if ipy is not None else None
        session = shell.user_ns.get("__session__") if shell is not None else None
        if isinstance(session, str) and session:
            return session
    except Exception:
        return None
    return None
