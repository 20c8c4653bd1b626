"""Tornado handlers of the jupyter-ops server extension (see :mod:`jupyter_ops.server`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..errors import OpsConnectionError, OpsInputError

#: upper bound of ``limit`` (the sidebar shows a handful of runs)
MAX_RUNS = 200


def recent_runs(limit: int = 10, tracking_uri: str | None = None,
                experiment: str | None = None) -> dict[str, Any]:
    """The newest ``limit`` runs of the store as JSON-ready dicts.

    Uses :func:`jupyter_ops.mlops.list_runs` (newest first); metrics are the run's latest
    values. Raises :class:`OpsInputError` / :class:`OpsConnectionError` like ``list_runs``.
    """
    from ..mlops import _store
    from ..mlops.runlist import list_runs
    from ..serialize import to_jsonable

    uri = _store.resolve_uri(tracking_uri)
    df = list_runs(experiment=experiment, tracking_uri=uri, max_results=limit)
    runs = []
    metric_cols = [c for c in df.columns if c.startswith("metrics.")]
    for rec in df.head(limit).to_dict(orient="records"):
        runs.append({
            "run_id": to_jsonable(rec.get("run_id")),
            "run_name": to_jsonable(rec.get("run_name")) or "",
            "experiment": to_jsonable(rec.get("experiment")) or "",
            "status": to_jsonable(rec.get("status")) or "",
            "start_time": to_jsonable(rec.get("start_time")),
            "duration_s": to_jsonable(rec.get("duration_s")),
            "metrics": {c[len("metrics."):]: to_jsonable(rec[c]) for c in metric_cols
                        if to_jsonable(rec[c]) is not None},
        })
    return {"tracking_uri": _store.display_uri(uri), "runs": runs}


class StatusHandler(APIHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        from .._version import __version__
        from ..results import MIME_TYPE, PAYLOAD_VERSION

        self.finish(json.dumps({"version": __version__, "payload_version": PAYLOAD_VERSION,
                                "mime_type": MIME_TYPE}))


class RunsHandler(APIHandler):
    def _fail(self, status: int, message: str) -> None:
        # written directly: tornado's HTTPError would %-format messages holding URIs
        self.set_status(status)
        self.finish(json.dumps({"message": message}))

    @tornado.web.authenticated
    async def get(self) -> None:
        raw = self.get_query_argument("limit", "10")
        try:
            limit = int(raw)
        except ValueError:
            return self._fail(400, f"limit must be an integer, got {raw!r}")
        if not 1 <= limit <= MAX_RUNS:
            return self._fail(400, f"limit must be between 1 and {MAX_RUNS}, got {limit}")
        uri = self.get_query_argument("tracking_uri", "") or None
        experiment = self.get_query_argument("experiment", "") or None
        try:
            # MLflow calls block: keep the server's event loop free
            reply = await asyncio.get_running_loop().run_in_executor(
                None, lambda: recent_runs(limit, uri, experiment))
        except OpsInputError as e:
            return self._fail(400, str(e))
        except OpsConnectionError as e:
            return self._fail(503, str(e))
        self.finish(json.dumps(reply))


def setup_handlers(web_app: Any) -> None:
    """Add the handlers under ``<base_url>/jupyter-ops/``."""
    base = url_path_join(web_app.settings["base_url"], "jupyter-ops")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "status"), StatusHandler),
        (url_path_join(base, "runs"), RunsHandler),
    ])
