"""What a test does when a tool is missing: skip on a laptop, fail in CI."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """True in CI (``CI=true``, as GitHub Actions, GitLab and ``.ci/run`` set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip on a laptop that lacks a tool; under CI=true a missing tool fails the test."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing tool fails instead of skipping)")
    pytest.skip(reason)
