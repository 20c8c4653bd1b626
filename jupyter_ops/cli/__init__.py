"""The ``jupyter-ops`` command line.

Subcommands live in one module per concern. Each module in :data:`AIOPS_MODULES` /
:data:`MLOPS_MODULES` defines ``register(subparsers)``, adding its parsers with
``set_defaults(func=...)``; a ``func(args)`` returns the exit status. Input errors
(:class:`~jupyter_ops.errors.OpsInputError`) print ``jupyter-ops: error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__

__all__ = ["main", "build_parser"]

AIOPS_MODULES = ("jupyter_ops.cli.anomalies", "jupyter_ops.cli.incidents", "jupyter_ops.cli.logs")
MLOPS_MODULES = ("jupyter_ops.cli.tracking", "jupyter_ops.cli.drift")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-ops",
        description="Notebook-native AIOps and MLOps from the command line.")
    parser.add_argument("--version", action="version", version=f"jupyter-ops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    from . import demo, report

    demo.register(sub)
    report.register(sub)
    for group, modules, help_ in (
        ("aiops", AIOPS_MODULES, "incidents, anomalies, root cause and logs"),
        ("mlops", MLOPS_MODULES, "experiment tracking, drift and monitoring"),
    ):
        p = sub.add_parser(group, help=help_, description=help_)
        gsub = p.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
        for name in modules:
            importlib.import_module(name).register(gsub)
        p.set_defaults(func=_group_help(p))
    return parser


def _group_help(p: argparse.ArgumentParser):
    def run(args: argparse.Namespace) -> int:
        p.print_help(sys.stderr)
        return 2

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 a finding such as drift, 2 bad input)."""
    import tempfile

    from ..errors import OpsConnectionError, OpsInputError
    from ..io.live import is_live_spec, materialize_argv

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(is_live_spec(a) for a in argv):
        # prometheus:/alertmanager:/loki: inputs are fetched into files first (kept until exit)
        live_dir = tempfile.TemporaryDirectory(prefix="jupyter-ops-live-")
        try:
            argv = materialize_argv(argv, live_dir.name)
        except (OpsInputError, OpsConnectionError) as e:
            print(f"jupyter-ops: error: {e}", file=sys.stderr)
            return 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (OpsInputError, OpsConnectionError, FileNotFoundError) as e:
        print(f"jupyter-ops: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
