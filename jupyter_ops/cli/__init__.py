"""The ``jupyter-ops`` command line.

Subcommands live in one module per concern. Each module in :data:`AIOPS_MODULES` /
:data:`MLOPS_MODULES` defines ``register(subparsers)``, adding its parsers with
``set_defaults(func=...)``; a ``func(args)`` returns the exit status.

Exit status contract (one place, :func:`main`; documented in ``docs/cli.md``):

- 0: done, nothing found;
- 1: a finding only (dataset drift, anomalies, a critical quality issue, ...);
- 2: bad input or a failed read/write (an :class:`~jupyter_ops.errors.OpsInputError`, an
  unreachable server, a file that cannot be read or written, invalid JSON/UTF-8, input nested
  too deeply, an invalid option): one line ``jupyter-ops: error: ...`` on stderr;
- 3: an unexpected internal error (a bug): one line on stderr naming the file in the temp
  folder where the full traceback was saved;
- 130: interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

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

    from . import demo, postmortem, report

    demo.register(sub)
    report.register(sub)
    postmortem.register(sub)
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


#: exit status of an unexpected internal error (a bug); 1 is reserved for findings
EXIT_INTERNAL = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status: 0 ok, 1 a finding such as drift, 2 bad input or
    a failed write, 3 an internal error (traceback saved to a file)."""
    import tempfile

    from ..errors import OpsConnectionError, OpsInputError
    from ..io.live import is_live_spec, materialize_argv
    from ._common import input_error_message

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(is_live_spec(a) for a in argv):
        # prometheus:/alertmanager:/loki: inputs are fetched into files first (kept until exit)
        live_dir = tempfile.TemporaryDirectory(prefix="jupyter-ops-live-")  # noqa: F841
        try:
            argv = materialize_argv(argv, live_dir.name)
        except (OpsInputError, OpsConnectionError) as e:
            print(f"jupyter-ops: error: {e}", file=sys.stderr)
            return 2
    args = parser.parse_args(argv)  # usage errors: argparse prints one line and exits 2
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    saved = sys.stdout, sys.stderr
    # findings print data (log lines, names): control characters must not drive the terminal
    # and a lone surrogate must not make print() itself fail
    sys.stdout, sys.stderr = _VisibleStream(sys.stdout), _VisibleStream(sys.stderr)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    except Exception as e:
        message = input_error_message(e)
        if message is not None:
            print(f"jupyter-ops: error: {message}", file=sys.stderr)
            return 2
        from ._common import save_traceback

        where = save_traceback(e, argv if argv is not None else sys.argv[1:])
        print(f"jupyter-ops: internal error: {type(e).__name__}: {_one_line(e)} (a bug; the "
              f"traceback is in {where}; please include it in a report)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        sys.stdout, sys.stderr = saved


class _VisibleStream:
    """A text stream whose writes go through :func:`jupyter_ops.safetext.visible`."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from ..safetext import visible

        return self._stream.write(visible(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _one_line(e: BaseException) -> str:
    from ..safetext import visible

    text = " ".join(str(e).split())
    return visible(text if len(text) <= 300 else text[:300] + "…")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
