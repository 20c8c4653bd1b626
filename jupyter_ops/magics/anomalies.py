"""``%aiops_anomalies`` and ``%aiops_forecast``: anomalies, forecasts and time to breach."""

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



@magics_class
class ForecastMagics(Magics):
    @magic_arguments()
    @argument("metrics", help="a metrics frame in the notebook or a CSV/Parquet/JSON path")
    @argument("--horizon", "-H", default="6h", help="how far ahead, a duration (default 6h)")
    @argument("--threshold", "-t", type=float, default=None,
              help="also say when each series crosses this line (time to breach)")
    @argument("--direction", choices=("auto", "up", "down"), default="auto",
              help="crossing direction for --threshold (default auto)")
    @argument("--level", type=float, default=0.8, help="interval coverage (default 0.8)")
    @argument("--service", "-s", default=None, help="only this service")
    @argument("--metric", default=None, help="only this metric")
    @argument("-o", "--output", default=None, help="store the result in this variable")
    @line_magic
    def aiops_forecast(self, line: str = "") -> object:
        """Forecast metric series with prediction intervals; with ``--threshold``, say when
        each crosses it (time to breach), how sure, and why.

        Examples::

            %aiops_forecast metrics --horizon 6h -o fc
            %aiops_forecast disk.csv --horizon 2D --threshold 90
        """
        with user_errors():
            args = parse(self.aiops_forecast, line)
            from ..aiops.forecasting import forecast, time_to_breach

            metrics = resolve(self.shell, args.metrics)
            common = dict(horizon=args.horizon, level=args.level, service=args.service,
                          metric=args.metric)
            if args.threshold is None:
                result = forecast(metrics, **common)
            else:
                result = time_to_breach(metrics, threshold=args.threshold,
                                        direction=args.direction, **common)
        return publish(self.shell, result, "%aiops_forecast " + line, args.output)


MAGICS = [AnomalyMagics, ForecastMagics]
