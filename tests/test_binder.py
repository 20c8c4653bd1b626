"""Binder's files install the same core dependencies as pyproject.toml, and the project."""

from __future__ import annotations

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _reqs(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            r = Requirement(line)
            out[r.name.lower().replace("_", "-")] = str(r.specifier)
    return out


def test_binder_requirements_match_core_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = _reqs(project["dependencies"])
    binder = _reqs((ROOT / "binder" / "requirements.txt").read_text().splitlines())
    assert binder == core


def test_binder_postbuild_installs_this_repository():
    post = ROOT / "binder" / "postBuild"
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "pip install --no-deps ." in text
    assert post.stat().st_mode & 0o111, "postBuild must be executable"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.")


def test_readme_links_binder_to_the_example_notebooks():
    readme = (ROOT / "README.md").read_text()
    assert "mybinder.org/v2/gh/" in readme and "example_notebooks" in readme
