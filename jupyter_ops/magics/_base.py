"""Shared plumbing of all magics: argument errors, input resolution, output and report log.

A magic body is typically::

    @magic_arguments()
    @argument("alerts")
    @argument("-o", "--output")
    @line_magic
    def aiops_correlate(self, line):
        with user_errors():
            args = parse(self.aiops_correlate, line)
            alerts = resolve_frame(self.shell, args.alerts, loader="alerts")
            result = correlate(alerts, ...)
        return publish(self.shell, result, "%aiops_correlate " + line, args.output)
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Iterator
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring

__all__ = ["user_errors", "parse", "resolve", "resolve_frame", "publish", "split_list"]


@contextlib.contextmanager
def user_errors(prefix: str = "") -> Iterator[None]:
    """Turn input errors into a one-line ``UsageError`` (no traceback in the notebook).

    Only the errors that describe the user's input: :class:`~jupyter_ops.errors.OpsInputError`,
    :class:`~jupyter_ops.errors.OpsConnectionError` and a missing file. Anything else (a
    ``KeyError`` included) is a bug and keeps its traceback.
    """
    from ..errors import OpsConnectionError, OpsInputError

    try:
        yield
    except UsageError:
        raise
    except (OpsInputError, OpsConnectionError, FileNotFoundError) as e:
        raise UsageError(" ".join(f"{prefix}{e}".split())) from None


#: magic -> {option dest: JupyterOps setting}: the setting is the default of that option
SETTING_DEFAULTS: dict[str, dict[str, str]] = {
    "aiops_correlate": {"window": "window"},
    "aiops_anomalies": {"threshold": "anomaly_threshold"},
    "mlops_drift": {"threshold": "drift_threshold"},
    "mlops_track": {"experiment": "experiment"},
}


def parse(magic_func: Any, line: str) -> Any:
    """``parse_argstring`` whose argparse errors become a one-line ``UsageError``.

    Options the user did not type take their default from the ``JupyterOps`` settings
    (``%config JupyterOps.window = "10min"``; see :data:`SETTING_DEFAULTS`), and a relative
    ``%ops_report`` path goes to ``JupyterOps.report_dir``.
    """
    from ..io.live import split_live_options

    try:
        # live sources (prometheus:/alertmanager:/loki:) take --since/--until/--step here
        args = parse_argstring(magic_func, split_live_options(line))
    except UsageError as e:
        raise UsageError(" ".join(str(e).split())) from None
    except SystemExit:  # pragma: no cover - argparse exiting on --help
        raise UsageError(f"see {magic_func.__name__}? for usage") from None
    _apply_settings(magic_func, line, args)
    return args


def _typed(parser: Any, dest: str, tokens: list[str]) -> bool:
    """Whether an option of ``dest`` appears in the typed tokens (``-w 1h``, ``--window=1h``)."""
    for action in getattr(parser, "_actions", ()):
        if action.dest != dest:
            continue
        for opt in action.option_strings:
            for tok in tokens:
                if tok == opt or tok.startswith(opt + "=") or (
                        len(opt) == 2 and not opt.startswith("--") and tok.startswith(opt)):
                    return True
    return False


def _apply_settings(magic_func: Any, line: str, args: Any) -> None:
    from ..config import get_settings

    name = getattr(magic_func, "__name__", "")
    settings = get_settings()
    table = SETTING_DEFAULTS.get(name, {})
    if table:
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        parser = getattr(magic_func, "parser", None)
        for dest, setting in table.items():
            value = getattr(settings, setting)
            if value in (None, "") or not hasattr(args, dest) or _typed(parser, dest, tokens):
                continue
            setattr(args, dest, value)
    if name == "ops_report" and getattr(args, "path", None):
        path = os.path.expanduser(args.path)
        if not os.path.isabs(path):
            # relative report paths go below report_dir, which is created when missing (any
            # other missing folder stays an error: a typo must not scatter folders around)
            if settings.report_dir:
                folder = os.path.expanduser(settings.report_dir)
                os.makedirs(folder, exist_ok=True)
                path = os.path.join(folder, path)
            args.path = path


def split_list(value: str | None) -> list[str] | None:
    """``"a,b, c"`` -> ``["a", "b", "c"]``; None stays None."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def resolve(shell: Any, name: str) -> Any:
    """A variable of the user namespace, or a path when no such variable exists.

    Returns the object, or the path string when ``name`` names an existing file.
    """
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        name = name[1:-1]
    ns = shell.user_ns
    if name in ns:
        return ns[name]
    from ..io.live import resolve_remembered

    live = resolve_remembered(name)  # prometheus:<promql>, alertmanager:, loki:<logql>
    if live is not None:
        return live
    # dotted access to an attribute of a variable, e.g. ``scenario.alerts``
    head, _, rest = name.partition(".")
    if rest and head in ns and name.replace(".", "").replace("_", "").isalnum():
        obj = ns[head]
        for part in rest.split("."):
            if not hasattr(obj, part):
                break
            obj = getattr(obj, part)
        else:
            return obj
    path = os.path.expanduser(name)
    if os.path.exists(path):
        return path
    raise UsageError(f"{name!r} is neither a variable in this notebook nor an existing file")


def resolve_frame(shell: Any, name: str, loader: str | None = None, **kwargs: Any) -> Any:
    """Resolve ``name`` and, for a path or a raw frame, run it through a canonical loader.

    ``loader`` is one of ``alerts``, ``logs``, ``metrics``, ``topology`` (functions of
    :mod:`jupyter_ops.io`) or None to read the file as a plain table.
    """
    from .. import io

    obj = resolve(shell, name)
    if loader is None:
        return io.read_table(obj) if isinstance(obj, str) else obj
    return getattr(io, f"load_{loader}")(obj, **kwargs)


def publish(shell: Any, result: Any, call: str, output: str | None = None,
            log: bool = True) -> Any:
    """Store the result as ``output`` in the user namespace, log it for the report, return it."""
    if output:
        if not output.isidentifier():
            raise UsageError(f"-o needs a Python variable name, got {output!r}")
        shell.user_ns[output] = result
    if log:
        from ..io.live import exact_call
        from ..report.session import session_log

        # live inputs: record the exact time range fetched, not "--since 6h"
        session_log().add(result, call=exact_call(call.strip()))
    return result


def quote(s: str) -> str:
    return shlex.quote(s)
