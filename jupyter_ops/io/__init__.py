"""Loaders that turn files and frames into the canonical frames (see docs/data-model.md).

``read_table`` reads CSV/TSV/JSON/JSON Lines/Parquet; ``load_alerts``, ``load_logs``,
``load_metrics`` and ``load_topology`` return the canonical alerts, logs, metrics and topology
frames (UTC ``timestamp``, input row order, RangeIndex) from files, DataFrames, Alertmanager and
Prometheus JSON, or plain text logs. Bad input raises a one-line ``OpsInputError``.
"""

from .._lazy import lazy_namespace

__getattr__, __dir__ = lazy_namespace(__name__, __path__)
