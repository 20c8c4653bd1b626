"""CLI subcommands for this capability (filled in by its issue).

``register(sub)`` adds parsers; the optional ``demo(ctx)`` adds this capability's part of
``jupyter-ops demo`` (see :mod:`jupyter_ops.cli.demo`).
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """No subcommands yet."""
