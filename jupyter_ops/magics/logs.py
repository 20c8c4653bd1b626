"""``%aiops_logs``: mine log templates from a variable or a log file."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ._base import parse, publish, resolve, user_errors


@magics_class
class LogsMagics(Magics):
    @magic_arguments()
    @argument("source", help="a logs frame or list of lines in the notebook, a Templates result "
              "to continue from (with --more), or a log file (text, .gz, CSV/Parquet/JSON)")
    @argument("--service", "-s", default=None,
              help="only this service (frames with a service column); names the service of a "
              "text log file")
    @argument("--since", default=None, help="only lines at or after this time (UTC if no zone)")
    @argument("--until", default=None, help="only lines before this time (UTC if no zone)")
    @argument("--mask", "-m", action="append", default=None,
              help="extra regex whose matches are variables (repeatable)")
    @argument("--more", default=None,
              help="continue SOURCE (a Templates result) with these lines or this file")
    @argument("-o", "--output", default=None, help="store the Templates result in this variable")
    @line_magic
    def aiops_logs(self, line: str = "") -> Any:
        """Mine log templates: group lines that differ only in variables (IDs, IPs, numbers...).

        Shows the templates with counts, first/last seen and an example line; the result
        (``-o NAME``) has ``.templates``, ``.assignments``, ``.parameters``, ``.lines`` and
        feeds ``aiops.log_signals(NAME)`` and ``widgets.TemplateBrowser(NAME)``.

        Examples::

            %aiops_logs scenario.logs --service payments -o tpl
            %aiops_logs /var/log/app.log --since "2026-01-05 12:00" --until "2026-01-05 14:00"
            %aiops_logs tpl --more new_lines -o tpl
        """
        from ..aiops.logmining import Templates, mine_templates
        from ..errors import OpsInputError

        with user_errors():
            args = parse(self.aiops_logs, line)
            source = resolve(self.shell, args.source)
            if isinstance(source, Templates):
                if args.more is None:
                    raise OpsInputError(f"{args.source} is already a Templates result; add "
                                        "--more LINES to continue mining it")
                more = _logs(self.shell, resolve(self.shell, args.more), args)
                result = source.update(more)
            else:
                if args.more is not None:
                    raise OpsInputError("--more continues a Templates result; SOURCE "
                                        f"{args.source!r} is not one")
                result = mine_templates(_logs(self.shell, source, args), masks=args.mask)
        return publish(self.shell, result, "%aiops_logs " + line, args.output)


def _logs(shell: Any, source: Any, args: Any) -> Any:
    """The lines to mine: a path loads as a logs frame; filters by service and time."""
    import pandas as pd

    from ..errors import OpsInputError

    if isinstance(source, str):
        from .. import io

        frame = io.load_logs(source, service=args.service)
    elif isinstance(source, pd.DataFrame):
        frame = source
    elif isinstance(source, pd.Series) or (isinstance(source, (list, tuple))):
        frame = pd.DataFrame({"message": list(source)})
    else:
        raise OpsInputError(f"cannot mine a {type(source).__name__}; pass a logs frame, a list "
                            "of lines or a log file")
    if args.service is not None and not isinstance(source, str):
        if "service" not in frame.columns:
            raise OpsInputError("--service needs a 'service' column; the logs have "
                                f"{', '.join(map(str, frame.columns))}")
        services = frame["service"].astype(str)
        if not (services == args.service).any():
            known = ", ".join(sorted(services.unique())[:10])
            raise OpsInputError(f"no lines of service {args.service!r}; services: {known}")
        frame = frame[services == args.service]
    if args.since is not None or args.until is not None:
        if "timestamp" not in frame.columns:
            raise OpsInputError("--since/--until need timestamps; these logs have none "
                                "(load them with jupyter_ops.io.load_logs)")
        ts = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce")
        keep = pd.Series(True, index=frame.index)
        if args.since is not None:
            keep &= ts >= _when(args.since, "--since")
        if args.until is not None:
            keep &= ts < _when(args.until, "--until")
        frame = frame[keep.to_numpy()]
    return frame.reset_index(drop=True)


def _when(text: str, option: str) -> Any:
    import pandas as pd

    from ..errors import OpsInputError

    text = text.strip().strip("'\"")
    try:
        t = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise OpsInputError(f"{option} {text!r} is not a time; use e.g. '2026-01-05 12:00'")
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


MAGICS = [LogsMagics]
