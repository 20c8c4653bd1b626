"""``%aiops_anomalies``: anomaly detection on metric series."""

from __future__ import annotations

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ._base import parse, publish, resolve, user_errors

_METHODS = ("auto", "robust", "seasonal", "iforest")


def _span(text: str) -> str | int:
    """``--window``: a number of points or a duration (validated by the core)."""
    return int(text) if text.strip().isdigit() else text


@magics_class
class AnomalyMagics(Magics):
    @magic_arguments()
    @argument("metrics", help="a metrics frame in the notebook (timestamp, service, metric, "
              "value), e.g. scenario.metrics, or a CSV/Parquet/JSON file path")
    @argument("--method", "-m", choices=_METHODS, default="auto",
              help="detector (default auto: seasonal or robust per series)")
    @argument("--service", "-s", default=None, help="only this service")
    @argument("--metric", default=None, help="only this metric")
    @argument("--window", "-w", type=_span, default=None,
              help="history behind each baseline: a duration (default 1D) or points")
    @argument("--threshold", "-t", type=float, default=None,
              help="detection threshold on the score, an anomaly likelihood in (0, 1) "
              "(default 0.999999)")
    @argument("--seed", type=int, default=0, help="seed of the IsolationForest")
    @argument("-o", "--output", default=None, help="store the result in this variable")
    @line_magic
    def aiops_anomalies(self, line: str = "") -> object:
        """Find anomalous episodes in metric series and say which method each series used.

        Shows the episodes (onset, end, peak), the method per series and a chart of each
        series (min/max per time bin) with the detections marked. ``-o NAME`` stores the
        :class:`~jupyter_ops.aiops.anomaly.AnomalyResult` (``.anomalies``, ``.episodes``,
        ``.methods``).

        Examples::

            %aiops_anomalies scenario.metrics -o anomalies
            %aiops_anomalies metrics.csv --method seasonal --service checkout
        """
        with user_errors():
            args = parse(self.aiops_anomalies, line)
            from ..aiops.anomaly import detect_anomalies

            metrics = resolve(self.shell, args.metrics)
            opts = {k: v for k, v in (("window", args.window), ("threshold", args.threshold))
                    if v is not None}
            result = detect_anomalies(metrics, method=args.method, seed=args.seed,
                                      service=args.service, metric=args.metric, **opts)
        return publish(self.shell, result, "%aiops_anomalies " + line, args.output)


MAGICS = [AnomalyMagics]
