"""The jupyter-ops ``jupyter_server`` extension: REST endpoints used by the lab extension.

Enabled by ``etc/jupyter/jupyter_server_config.d/jupyter_ops.json`` (installed with the
wheel) or ``jupyter server extension enable jupyter_ops``. Endpoints (all authenticated like
every Jupyter endpoint, under the server's ``base_url``):

* ``GET /jupyter-ops/status``: ``{"version", "payload_version", "mime_type"}``
* ``GET /jupyter-ops/runs?limit=10&tracking_uri=...&experiment=...``: recent MLflow runs,
  newest first: ``{"tracking_uri", "runs": [{run_id, run_name, experiment, status,
  start_time, duration_s, metrics}]}``. Only the server's own tracking URI and those listed in
  ``JUPYTER_OPS_TRACKING_URIS`` are read (else 403); a store that does not exist yet is listed
  empty, never created; remote servers get a hard timeout (504) and at most four requests
  wait at once (else 503).
* ``GET /jupyter-ops/alerts``: active alerts of the Alertmanager configured on the server
  (``JUPYTER_OPS_ALERTMANAGER_URL``): ``{"configured", "alertmanager", "alerts": [{name,
  service, severity, status, message, host, starts_at, fingerprint}], "total"}``. Takes no
  URL from the client: the extension is never an open proxy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_jupyter_server_extension"]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the handlers on the running server (called by jupyter_server)."""
    from .handlers import setup_handlers

    setup_handlers(serverapp.web_app)
    serverapp.log.info("jupyter-ops server extension loaded")


# older name, still looked up by some tools
load_jupyter_server_extension = _load_jupyter_server_extension
