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
        from ..aiops.logmining import Templates, mine_templates, select_logs
        from ..errors import OpsInputError

        with user_errors():
            args = parse(self.aiops_logs, line)
            where = {"service": args.service, "since": args.since, "until": args.until}
            source = resolve(self.shell, args.source)
            if isinstance(source, Templates):
                if args.more is None:
                    raise OpsInputError(f"{args.source} is already a Templates result; add "
                                        "--more LINES to continue mining it")
                more = select_logs(resolve(self.shell, args.more), **where)
                result = source.update(more)
            else:
                if args.more is not None:
                    raise OpsInputError("--more continues a Templates result; SOURCE "
                                        f"{args.source!r} is not one")
                result = mine_templates(select_logs(source, **where), masks=args.mask)
        return publish(self.shell, result, "%aiops_logs " + line, args.output)


MAGICS = [LogsMagics]
