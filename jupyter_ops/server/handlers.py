"""Tornado handlers of the jupyter-ops server extension (see :mod:`jupyter_ops.server`)."""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..errors import OpsConnectionError, OpsInputError
from . import sources

#: upper bound of ``limit`` (the sidebar shows a handful of runs)
MAX_RUNS = 200


def recent_runs(limit: int = 10, tracking_uri: str | None = None,
                experiment: str | None = None) -> dict[str, Any]:
    """The newest ``limit`` runs of an allowed store (see :mod:`jupyter_ops.server.sources`)."""
    return sources.recent_runs(limit, sources.choose_uri(tracking_uri), experiment)


class StatusHandler(APIHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        from .._version import __version__
        from ..results import MIME_TYPE, PAYLOAD_VERSION

        self.finish(json.dumps({"version": __version__, "payload_version": PAYLOAD_VERSION,
                                "mime_type": MIME_TYPE}))


class _Base(APIHandler):
    def _fail(self, status: int, message: str) -> None:
        # written directly: tornado's HTTPError would %-format messages holding URIs
        self.set_status(status)
        self.finish(json.dumps({"message": message}))

    async def _answer(self, fn: Any, what: str) -> None:
        try:
            reply = await sources.run_blocking(fn, what)
        except sources.Forbidden as e:
            return self._fail(403, str(e))
        except OpsInputError as e:
            return self._fail(400, str(e))
        except sources.TimedOut as e:
            return self._fail(504, str(e))
        except OpsConnectionError as e:
            return self._fail(503, str(e))
        self.finish(json.dumps(reply))


class RunsHandler(_Base):
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
        notebook = self.get_query_argument("notebook", "") or None
        root = self.settings.get("server_root_dir") or self.contents_manager.root_dir
        try:
            # allow-list first: nothing is contacted before; a notebook's own store (its
            # folder's mlflow.db, inside the root) is read, never created
            chosen = sources.choose_uri(uri, notebook, root)
        except sources.Forbidden as e:
            return self._fail(403, str(e))
        except OpsInputError as e:
            return self._fail(400, str(e))
        await self._answer(lambda: sources.recent_runs(limit, chosen, experiment),
                           f"the tracking store {chosen}")


class AlertsHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        # no parameters: the Alertmanager is the server's, never one named by the client
        await self._answer(sources.firing_alerts, "the Alertmanager")


def setup_handlers(web_app: Any) -> None:
    """Add the handlers under ``<base_url>/jupyter-ops/``."""
    base = url_path_join(web_app.settings["base_url"], "jupyter-ops")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "status"), StatusHandler),
        (url_path_join(base, "runs"), RunsHandler),
        (url_path_join(base, "alerts"), AlertsHandler),
    ])
