"""``%mlops_drift``, ``%mlops_quality``, ``%mlops_monitor``: drift, data quality, monitoring."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ._base import parse, publish, resolve, split_list, user_errors


def load_reference(shell: Any, name: str) -> Any:
    """A frame, a :class:`~jupyter_ops.mlops.Profile` variable, or a file (profile JSON or table)."""
    import pandas as pd

    from ..mlops._inputs import read_data, read_reference

    obj = resolve(shell, name)
    if isinstance(obj, pd.DataFrame):
        return read_data(obj)  # the same time columns as the file door
    return read_reference(obj) if isinstance(obj, str) else obj


def _frame(shell: Any, name: str) -> Any:
    """A DataFrame variable, or a table file read as the CLI reads it."""
    import pandas as pd

    from ..mlops._inputs import read_data

    obj = resolve(shell, name)
    if isinstance(obj, (str, pd.DataFrame)):
        obj = read_data(obj)  # a variable and a file mean the same data
    if not isinstance(obj, pd.DataFrame):
        raise UsageError(f"{name!r} is a {type(obj).__name__}, not a DataFrame or a table file")
    return obj


@magics_class
class DriftMagics(Magics):
    @magic_arguments()
    @argument("reference", help="reference DataFrame, Profile or file (CSV/Parquet/JSON, or a "
              "saved profile .json)")
    @argument("current", help="current DataFrame or file")
    @argument("--columns", "-c", help="comma-separated columns to test (default: all shared)")
    @argument("--target", "-t", help="label column (tested, not counted in the drift share)")
    @argument("--prediction", "-p", help="model output column (tested, not counted)")
    @argument("--method", "-m", default="auto",
              help="auto (default), ks, wasserstein, chisquare, psi or jensenshannon")
    @argument("--threshold", type=float, help="drift threshold for every column "
              "(default per test: p < 0.05, distances >= 0.1)")
    @argument("--correction", choices=["bonferroni", "bh"], help="multiple-testing correction")
    @argument("--drift-share", type=float, default=0.5,
              help="dataset drift when this share of features drifts (default 0.5)")
    @argument("--no-multivariate", action="store_true", help="skip the domain classifier")
    @argument("--seed", type=int, default=0, help="seed of the domain classifier")
    @argument("-o", "--output", help="store the DriftResult in this variable")
    @line_magic
    def mlops_drift(self, line: str = "") -> Any:
        """Which columns drifted between a reference and the current data, and how much.

        Shows a summary, the table sorted by drift, drift-score bars and the reference vs
        current distributions (binned). Inside an MLflow run the result is logged to it.

        Examples::

            %mlops_drift train_df this_week -o d
            %mlops_drift ref.profile.json current.parquet --target churn --method ks
        """
        from ..mlops.driftcheck import drift

        with user_errors():
            args = parse(self.mlops_drift, line)
            ref = load_reference(self.shell, args.reference)
            cur = _frame(self.shell, args.current)
            result = drift(ref, cur, columns=split_list(args.columns), target=args.target,
                           prediction=args.prediction, method=args.method,
                           threshold=args.threshold, correction=args.correction,
                           drift_share=args.drift_share,
                           multivariate=False if args.no_multivariate else None, seed=args.seed)
        return publish(self.shell, result, "%mlops_drift " + line, args.output)

    @magic_arguments()
    @argument("data", help="DataFrame or file to check")
    @argument("--reference", "-r", help="reference DataFrame, Profile or file")
    @argument("--require", help="comma-separated columns that must be present")
    @argument("-o", "--output", help="store the QualityResult in this variable")
    @line_magic
    def mlops_quality(self, line: str = "") -> Any:
        """Data quality issues with severities: missing values (and their change), unseen
        categories, values out of the reference range, dtype changes, duplicates, constants.

        Examples::

            %mlops_quality this_week --reference train_df
        """
        from ..mlops.quality import check_quality

        with user_errors():
            args = parse(self.mlops_quality, line)
            df = _frame(self.shell, args.data)
            ref = load_reference(self.shell, args.reference) if args.reference else None
            result = check_quality(df, reference=ref, schema=split_list(args.require))
        return publish(self.shell, result, "%mlops_quality " + line, args.output)

    @magic_arguments()
    @argument("data", help="scored DataFrame or file with outcomes")
    @argument("--time", default="timestamp", help="time column (default timestamp)")
    @argument("--y-true", default="target", help="label column (default target)")
    @argument("--y-pred", default="prediction", help="prediction column (default prediction)")
    @argument("--y-score", help="probability column (adds ROC AUC)")
    @argument("--window", "-w", default="1D", help="window, a pandas frequency (default 1D)")
    @argument("--reference", "-r", help="reference DataFrame or file (default: first windows)")
    @argument("--kpi", help="metric(s) that decide retraining, comma-separated "
              "(default accuracy / rmse)")
    @argument("--tolerance", type=float, default=0.1,
              help="relative worsening that counts as degraded (default 0.1)")
    @argument("--patience", type=int, default=2,
              help="consecutive degraded windows before advising a retrain (default 2)")
    @argument("--min-rows", type=int, default=30, help="windows with fewer rows are not judged")
    @argument("-o", "--output", help="store the MonitorResult in this variable")
    @line_magic
    def mlops_monitor(self, line: str = "") -> Any:
        """A model's metrics per time window against its reference level, with retrain advice.

        Examples::

            %mlops_monitor scored --y-score score --window 1D --reference validation -o mon
        """
        from ..mlops.monitoring import monitor

        with user_errors():
            args = parse(self.mlops_monitor, line)
            df = _frame(self.shell, args.data)
            ref = _frame(self.shell, args.reference) if args.reference else None
            result = monitor(df, time=args.time, y_true=args.y_true, y_pred=args.y_pred,
                             y_score=args.y_score, window=args.window, reference=ref,
                             kpi=split_list(args.kpi), tolerance=args.tolerance,
                             patience=args.patience, min_rows=args.min_rows)
        return publish(self.shell, result, "%mlops_monitor " + line, args.output)


MAGICS = [DriftMagics]
