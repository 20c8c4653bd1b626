"""``%ops_report``: write the session's results as a reproducible report."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ._base import parse, user_errors


@magics_class
class ReportMagics(Magics):
    @magic_arguments()
    @argument("path", nargs="?", help="file to write; the format follows its suffix "
              "(.html, .md, .json) unless --format is given")
    @argument("--title", "-t", default="jupyter-ops report", help="report heading")
    @argument("--format", "-f", choices=["html", "md", "json"], default=None,
              help="output format (default: from the file suffix)")
    @argument("--clear", action="store_true", help="empty the session's report log")
    @argument("--list", action="store_true", help="list what the report would contain")
    @line_magic
    def ops_report(self, line: str = "") -> object:
        """Write every result of this session (in order) to an HTML, Markdown or JSON report.

        Each section carries its provenance: the magic line that made it, its parameters, the
        sha256 of its inputs and the seed; the report ends with the versions it ran with.

        Examples::

            %ops_report postmortem.html --title "Checkout outage 2026-11-29"
            %ops_report --list
        """
        from ..report.session import session_log

        args = parse(self.ops_report, line)
        log = session_log()
        if args.clear:
            log.clear()
            return None
        if args.list:
            return "\n".join(f"{i + 1}. {e.call}" for i, e in enumerate(log.entries)) or "(empty)"
        if not args.path:
            raise UsageError("%ops_report needs a file path, e.g. %ops_report report.html")
        if not len(log):
            raise UsageError("nothing to report yet: run a jupyter-ops magic first "
                             "(e.g. %aiops_correlate alerts)")
        with user_errors():
            path = log.to_report(args.title).save(args.path, format=args.format)
        print(f"wrote {path} ({len(log)} results)")
        return None


MAGICS = [ReportMagics]
