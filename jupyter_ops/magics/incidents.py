"""Incident magics: ``%aiops_correlate``, ``%aiops_rca``, ``%aiops_timeline``,
``%aiops_metrics``, ``%aiops_remediate``.

Light at import time: the analysis core is imported inside each magic.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ._base import parse, publish, resolve, resolve_frame, split_list, user_errors


def _frame(shell: Any, name: str | None, loader: str) -> Any:
    """A variable as is (frames keep their index), a file path through the canonical loader."""
    if name is None:
        return None
    obj = resolve(shell, name)
    if isinstance(obj, str):
        return resolve_frame(shell, name, loader=loader)
    return obj


def _incident_arg(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.lstrip("#"))
    except ValueError:
        raise UsageError(f"--incident needs an incident id (a number), got {value!r}") from None


@magics_class
class IncidentMagics(Magics):
    @magic_arguments()
    @argument("alerts", help="alerts in the notebook (e.g. scenario.alerts) or a file path")
    @argument("--topology", "-T", default=None,
              help="service graph (caller, callee): a variable or a file")
    @argument("--window", "-w", default="5min", help="longest gap between linked alerts")
    @argument("--by", default=None, help="label keys whose shared values link alerts, "
              "comma separated (e.g. team,env)")
    @argument("--hops", type=int, default=1, help="how many calls apart services may be")
    @argument("--similarity", type=float, default=0.5,
              help="message-similarity threshold (token Jaccard); 0 turns it off")
    @argument("--min-severity", default="error",
              help="lone alert sources below this severity are noise")
    @argument("--max-span", default="4h",
              help="longest incident; longer linked groups are cut ('none': no cap)")
    @argument("--columns", default=None,
              help="rename your alert columns, e.g. time=timestamp,svc=service")
    @argument("-o", "--output", default=None, help="store the Correlation in this variable")
    @line_magic
    def aiops_correlate(self, line: str = "") -> object:
        """Group alerts into incidents (deduplication, topology, time, labels, similarity).

        Shows the incidents, compression and noise; ``-o NAME`` stores the
        :class:`~jupyter_ops.aiops.Correlation` (``.incidents``, ``.assignments``,
        ``.explain(id)``).

        Examples::

            %aiops_correlate scenario.alerts --topology scenario.topology -o corr
            %aiops_correlate alerts.csv --window 10min --by team
        """
        with user_errors():
            args = parse(self.aiops_correlate, line)
            from ..aiops.correlation import correlate

            if args.columns:  # the mapping applies before the loader's column checks
                from ..io import load_alerts

                alerts = load_alerts(resolve(self.shell, args.alerts), columns=args.columns)
            else:
                alerts = _frame(self.shell, args.alerts, "alerts")
            topo = _frame(self.shell, args.topology, "topology")
            span = None if str(args.max_span).lower() in ("none", "off", "0") else args.max_span
            result = correlate(alerts, window=args.window, topology=topo,
                               by=split_list(args.by), hops=args.hops,
                               similarity=args.similarity or None,
                               min_severity=args.min_severity, max_span=span)
        return publish(self.shell, result, "%aiops_correlate " + line, args.output)

    @magic_arguments()
    @argument("incidents", help="a Correlation (from %%aiops_correlate -o), an incident, or "
              "the alerts of one incident")
    @argument("--incident", "-i", default=None, help="only this incident id")
    @argument("--metrics", "-m", default=None,
              help="metrics (each candidate is scanned for a change)")
    @argument("--anomalies", "-a", default=None, help="anomaly result or episodes frame")
    @argument("--topology", "-T", default=None, help="service graph (default: the correlation's)")
    @argument("--deploys", "-d", default=None, help="change events (timestamp, service, ...)")
    @argument("--top", type=int, default=5, help="candidates per incident")
    @argument("--hops", type=int, default=None,
              help="candidates down to this many calls below the alerted services (default: all)")
    @argument("-o", "--output", default=None, help="store the result (.ranking) here")
    @line_magic
    def aiops_rca(self, line: str = "") -> object:
        """Rank root-cause candidates per incident, with the evidence in words.

        Random walk on the dependency graph weighted by alert/anomaly evidence (MicroRCA
        style) + first onset + deploy proximity. ``-o NAME`` stores a result whose
        ``.ranking`` is the frame of :func:`~jupyter_ops.aiops.rank_root_causes`.

        Examples::

            %aiops_rca corr --metrics scenario.metrics --deploys scenario.deploys -o rca
            %aiops_rca corr --incident 2
        """
        with user_errors():
            args = parse(self.aiops_rca, line)
            from ..aiops.rootcause import RootCauses

            iid = _incident_arg(args.incident)
            result = RootCauses.rank(
                _frame(self.shell, args.incidents, "alerts"),
                metrics=_frame(self.shell, args.metrics, "metrics"),
                anomalies=resolve(self.shell, args.anomalies) if args.anomalies else None,
                topology=_frame(self.shell, args.topology, "topology"),
                deploys=resolve(self.shell, args.deploys) if args.deploys else None,
                incidents=[iid] if iid is not None else None, top=args.top, hops=args.hops)
        return publish(self.shell, result, "%aiops_rca " + line, args.output)

    @magic_arguments()
    @argument("incident", help="a Correlation (with --incident), an incident, or alerts")
    @argument("--incident", "-i", dest="incident_id", default=None, help="incident id")
    @argument("--alerts", default=None, help="all alerts, to show the others around it")
    @argument("--logs", "-l", default=None, help="logs (warnings and errors are shown)")
    @argument("--anomalies", "-a", default=None, help="anomaly result or episodes frame")
    @argument("--deploys", "-d", default=None, help="change events")
    @argument("--margin", default="15min", help="time shown before and after the incident")
    @argument("-o", "--output", default=None, help="store the Timeline in this variable")
    @line_magic
    def aiops_timeline(self, line: str = "") -> object:
        """Show what happened in what order: alerts, logs, anomalies, changes, per service.

        Examples::

            %aiops_timeline corr --incident 1 --logs scenario.logs --deploys scenario.deploys
        """
        with user_errors():
            args = parse(self.aiops_timeline, line)
            from ..aiops.correlation import Correlation
            from ..aiops.timelines import timeline

            obj = _frame(self.shell, args.incident, "alerts")
            iid = _incident_arg(args.incident_id)
            if isinstance(obj, Correlation) and iid is None:
                raise UsageError("%aiops_timeline on a correlation needs --incident ID "
                                 "(see its incidents table)")
            result = timeline(
                obj, incident_id=iid, alerts=_frame(self.shell, args.alerts, "alerts"),
                logs=_frame(self.shell, args.logs, "logs"),
                anomalies=resolve(self.shell, args.anomalies) if args.anomalies else None,
                deploys=resolve(self.shell, args.deploys) if args.deploys else None,
                margin=args.margin)
        return publish(self.shell, result, "%aiops_timeline " + line, args.output)

    @magic_arguments()
    @argument("alerts", help="alerts (with acknowledged_at / resolved_at for MTTA / MTTR)")
    @argument("incidents", help="a Correlation, a scenario's truth, or an incidents frame")
    @argument("--resolutions", default=None,
              help="per incident: incident_id, acknowledged_at, resolved_at")
    @argument("--on-call-hours", type=float, default=None, help="hours of on-call covered")
    @argument("-o", "--output", default=None, help="store the OpsMetrics in this variable")
    @line_magic
    def aiops_metrics(self, line: str = "") -> object:
        """MTTD, MTTA, MTTR, false-positive rate, alert fatigue and compression.

        Examples::

            %aiops_metrics scenario.alerts corr
            %aiops_metrics scenario.alerts scenario.truth
        """
        with user_errors():
            args = parse(self.aiops_metrics, line)
            from ..aiops.opsmetrics import ops_metrics

            result = ops_metrics(
                _frame(self.shell, args.alerts, "alerts"), resolve(self.shell, args.incidents),
                resolutions=resolve(self.shell, args.resolutions) if args.resolutions else None,
                on_call_hours=args.on_call_hours)
        return publish(self.shell, result, "%aiops_metrics " + line, args.output)

    @magic_arguments()
    @argument("incident", help="a Correlation (with --incident), an incident, or alerts")
    @argument("--runbooks", "-r", required=True, help="runbook file (YAML or JSON)")
    @argument("--incident", "-i", dest="incident_id", default=None, help="incident id")
    @argument("--root-cause", default=None, help="the most likely root-cause service")
    @argument("-o", "--output", default=None, help="store the Remediation in this variable")
    @line_magic
    def aiops_remediate(self, line: str = "") -> object:
        """Suggest runbook steps for an incident. Nothing is executed (dry run, approvals only).

        Examples::

            %aiops_remediate corr --incident 1 --runbooks runbooks.yaml -o fix
            fix.approve(0)   # records the approval and what would run; runs nothing
        """
        with user_errors():
            args = parse(self.aiops_remediate, line)
            from ..aiops.remediation import suggest_remediation

            obj = _frame(self.shell, args.incident, "alerts")
            books = resolve(self.shell, args.runbooks)
            result = suggest_remediation(obj, books, root_cause=args.root_cause,
                                         incident_id=_incident_arg(args.incident_id))
        return publish(self.shell, result, "%aiops_remediate " + line, args.output)


MAGICS = [IncidentMagics]
