"""Notebook settings: ``%config JupyterOps.window = "10min"`` and friends.

:class:`JupyterOps` is a traitlets ``SingletonConfigurable``, so it is configured the way
IPython users expect: ``%config JupyterOps`` lists the settings, ``%config
JupyterOps.window = "10min"`` changes one, and ``c.JupyterOps.window = "10min"`` in
``ipython_config.py`` sets it for every kernel. ``%load_ext jupyter_ops`` registers it with
the shell. Outside IPython (scripts, the CLI, core code) :func:`get_settings` returns the same
object; it never imports IPython.

Settings are *defaults*: an option typed in a magic always wins. The table of settings is in
``docs/configuration.md``.
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Bool, Float, Unicode, default, observe, validate
from traitlets.config import SingletonConfigurable

__all__ = ["JupyterOps", "get_settings", "ENV_URLS"]

#: live-source URL settings and the environment variables they default from
ENV_URLS = {
    "prometheus_url": "JUPYTER_OPS_PROMETHEUS_URL",
    "alertmanager_url": "JUPYTER_OPS_ALERTMANAGER_URL",
    "loki_url": "JUPYTER_OPS_LOKI_URL",
}


class JupyterOps(SingletonConfigurable):
    """jupyter-ops settings of this kernel (see ``docs/configuration.md``)."""

    window = Unicode(
        "5min", help="Default window of %aiops_correlate: the longest gap between linked "
        "alerts, a pandas offset such as '5min' or '1h'.").tag(config=True)
    anomaly_threshold = Float(
        None, allow_none=True, help="Default --threshold of %aiops_anomalies (None: the "
        "detector's own default).").tag(config=True)
    drift_threshold = Float(
        None, allow_none=True, help="Default --threshold of %mlops_drift for every column "
        "(None: per test, p < 0.05 or distance >= 0.1).").tag(config=True)
    report_dir = Unicode(
        "", help="Folder that relative %ops_report paths are written to ('' = the working "
        "directory). Created when missing.").tag(config=True)
    experiment = Unicode(
        "", help="Default MLflow experiment of %%mlops_track and %mlops_track start ('' = "
        "MLFLOW_EXPERIMENT_NAME, else 'Default').").tag(config=True)
    progress = Bool(
        True, help="Show progress bars for long work (sync, large logs, large drift/quality, "
        "large correlations). Also off with JUPYTER_OPS_PROGRESS=0.").tag(config=True)
    prometheus_url = Unicode(
        help="Prometheus base URL for live queries (default: $JUPYTER_OPS_PROMETHEUS_URL)."
    ).tag(config=True)
    alertmanager_url = Unicode(
        help="Alertmanager base URL (default: $JUPYTER_OPS_ALERTMANAGER_URL).").tag(config=True)
    loki_url = Unicode(
        help="Grafana Loki base URL (default: $JUPYTER_OPS_LOKI_URL).").tag(config=True)

    @observe("prometheus_url", "alertmanager_url", "loki_url")
    def _url_set(self, change: Any) -> None:
        # remembered so that a URL set with %config wins over the environment variable, which
        # io.http.server_url re-reads on every call (tests and shells may change it later)
        self.__dict__.setdefault("_explicit_urls", set()).add(change["name"])

    def explicit_url(self, kind: str) -> str:
        """The ``<kind>_url`` set by ``%config`` or a config file, or ``""`` if never set."""
        name = f"{kind}_url"
        return getattr(self, name) if name in self.__dict__.get("_explicit_urls", ()) else ""

    @default("prometheus_url")
    def _prometheus_default(self) -> str:
        return _env_url("prometheus_url")

    @default("alertmanager_url")
    def _alertmanager_default(self) -> str:
        return _env_url("alertmanager_url")

    @default("loki_url")
    def _loki_default(self) -> str:
        return _env_url("loki_url")

    @default("progress")
    def _progress_default(self) -> bool:
        return os.environ.get("JUPYTER_OPS_PROGRESS", "1").strip().lower() not in (
            "0", "false", "no", "off")

    @validate("window")
    def _check_window(self, proposal: Any) -> str:
        import pandas as pd

        value = str(proposal["value"]).strip()
        try:
            if pd.Timedelta(pd.tseries.frequencies.to_offset(value)) <= pd.Timedelta(0):
                raise ValueError
        except (ValueError, TypeError):
            from traitlets import TraitError

            raise TraitError(f"JupyterOps.window must be a positive pandas offset such as "
                             f"'5min' or '1h', got {value!r}") from None
        return value

    @validate("prometheus_url", "alertmanager_url", "loki_url")
    def _check_url(self, proposal: Any) -> str:
        value = str(proposal["value"]).strip()
        if value and not value.startswith(("http://", "https://")):
            from traitlets import TraitError

            raise TraitError(f"JupyterOps.{proposal['trait'].name} must start with http:// or "
                             f"https://, got {value!r}")
        return value.rstrip("/")


def _env_url(setting: str) -> str:
    # the same normalisation as a value set with %config (validators skip dynamic defaults)
    return os.environ.get(ENV_URLS[setting], "").strip().rstrip("/")


def get_settings() -> JupyterOps:
    """The settings of this process (created on first use; no IPython needed).

    Returns
    -------
    JupyterOps
        The one instance; ``%config JupyterOps.*`` and ``ipython_config.py`` change it once
        the extension is loaded.
    """
    return JupyterOps.instance()


def register(shell: Any) -> JupyterOps:
    """Make ``%config JupyterOps`` work in ``shell`` and apply its config files (idempotent)."""
    settings = get_settings()
    if settings not in shell.configurables:
        # a settings object of an earlier instance (after clear_instance) is replaced
        shell.configurables[:] = [c for c in shell.configurables if not isinstance(c, JupyterOps)]
        shell.configurables.append(settings)
        if "JupyterOps" in shell.config:  # c.JupyterOps.* from ipython_config.py
            from traitlets import TraitError

            try:
                settings.update_config(shell.config)
            except TraitError as e:  # a bad config file must not stop %load_ext
                import warnings

                warnings.warn(f"ignoring the JupyterOps config: {e}", stacklevel=2)
    return settings
