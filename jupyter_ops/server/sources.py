"""What the server extension may read, and how: server-side configuration only, hard timeouts.

The endpoints never act as an open proxy: the MLflow stores they read are the server's own
tracking URI plus an allow-list (``JUPYTER_OPS_TRACKING_URIS``, comma separated), and the
Alertmanager is the server-side ``JUPYTER_OPS_ALERTMANAGER_URL``. A GET never creates a store:
a SQLite file or store folder that does not exist yet is reported as empty. Remote tracking
servers are read over MLflow's REST API with a hard timeout (MLflow's own client retries for
minutes), and all blocking work runs in a small dedicated thread pool, so a hanging server
cannot starve ``jupyter server``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..errors import OpsConnectionError, OpsInputError

T = TypeVar("T")

#: seconds an endpoint waits for a store or source before answering 504
TIMEOUT = float(os.environ.get("JUPYTER_OPS_SERVER_TIMEOUT", "5"))
#: blocking calls in flight at once; more answer 503 at once instead of queueing
MAX_IN_FLIGHT = 4
#: environment variable with extra tracking URIs the sidebar may read
ALLOW_ENV = "JUPYTER_OPS_TRACKING_URIS"

_pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="jupyter-ops")
_in_flight = 0
_lock = threading.Lock()


class Busy(OpsConnectionError):
    """Every worker is waiting on a slow source."""


class Forbidden(OpsInputError):
    """A source the server is not configured to read."""


class TimedOut(OpsConnectionError):
    """A source did not answer within :data:`TIMEOUT`."""


async def run_blocking(fn: Callable[[], T], what: str, timeout: float | None = None) -> T:
    """Run ``fn`` in the extension's own pool with a hard timeout (never on the event loop).

    Raises :class:`Busy` when :data:`MAX_IN_FLIGHT` calls are already running (a hanging
    source holds its worker until its own timeout) and :class:`TimedOut` after ``timeout``.
    """
    global _in_flight
    with _lock:
        if _in_flight >= MAX_IN_FLIGHT:
            raise Busy(f"{what} is busy: {MAX_IN_FLIGHT} earlier requests are still waiting; "
                       f"try again later")
        _in_flight += 1

    def call() -> T:
        global _in_flight
        try:
            return fn()
        finally:
            with _lock:
                _in_flight -= 1

    fut = asyncio.get_running_loop().run_in_executor(_pool, call)
    limit = TIMEOUT if timeout is None else timeout
    try:
        return await asyncio.wait_for(asyncio.shield(fut), limit)
    except asyncio.TimeoutError:
        raise TimedOut(f"{what} did not answer within {limit:g} s") from None


# -- MLflow stores -----------------------------------------------------------------------------

def _normal(uri: str) -> str:
    from ..mlops import _store

    uri = uri.strip()
    if "://" not in uri and not uri.startswith("sqlite:"):
        uri = "file://" + os.path.abspath(os.path.expanduser(uri))
    elif uri.startswith("file://") and not uri.startswith("file:///"):
        uri = "file://" + os.path.abspath(uri[len("file://"):])
    return _store.display_uri(uri).rstrip("/")


def allowed_uris() -> list[str]:
    """The server's own tracking URI, then the allow-list, normalised (absolute paths)."""
    from ..mlops import _store

    uris = [_store.resolve_uri(None)]
    uris += [u for u in os.environ.get(ALLOW_ENV, "").replace(";", ",").split(",") if u.strip()]
    out: list[str] = []
    for u in uris:
        n = _normal(u)
        if n not in out:
            out.append(n)
    return out


def notebook_store(root_dir: str, notebook: str) -> str:
    """The default store of a notebook's kernel: ``mlflow.db`` in the notebook's folder.

    A kernel runs in its notebook's folder, so with no ``MLFLOW_TRACKING_URI`` its runs land in
    ``<folder>/mlflow.db``. Only folders inside the server's root are read (403 otherwise).
    """
    root = os.path.realpath(root_dir)
    folder = os.path.realpath(os.path.join(root, os.path.dirname(notebook.lstrip("/"))))
    if os.path.commonpath([root, folder]) != root:
        raise Forbidden("the notebook is outside this Jupyter server's root")
    return "sqlite:///" + os.path.join(folder, "mlflow.db")


def choose_uri(requested: str | None, notebook: str | None = None,
               root_dir: str | None = None) -> str:
    """The store to read: ``requested`` when the server allows it; else, with no
    ``MLFLOW_TRACKING_URI`` set, the store next to ``notebook`` (its kernel's store); else the
    server's own."""
    from ..mlops import _store

    allowed = allowed_uris()
    if not requested:
        if notebook and root_dir and not os.environ.get("MLFLOW_TRACKING_URI"):
            return notebook_store(root_dir, notebook)
        return allowed[0]
    _store.check_uri(requested.strip())
    n = _normal(requested)
    if n not in allowed:
        raise Forbidden(
            f"this Jupyter server does not read the tracking store {_store.display_uri(n)}; "
            f"its administrator can allow it with {ALLOW_ENV}=<uri> (comma separated)")
    return n


def _local_path(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):  # sqlite:///rel/x.db and sqlite:////abs/x.db
        return os.path.abspath(uri[len("sqlite:///"):].split("?", 1)[0])
    if uri.startswith("file://"):
        return uri[len("file://"):]
    return None


def recent_runs(limit: int, uri: str, experiment: str | None = None,
                timeout: float = TIMEOUT) -> dict[str, Any]:
    """The newest ``limit`` runs of an allowed store as JSON-ready dicts (blocking).

    Local stores that do not exist yet give no runs (nothing is created); remote servers are
    read with ``timeout`` per request and no retries.
    """
    from ..mlops import _store

    shown = _store.display_uri(uri)
    path = _local_path(uri)
    if path is not None and not os.path.exists(path):
        return {"tracking_uri": shown, "runs": [],
                "message": f"no MLflow store at {shown} yet"}
    if _store.is_remote(uri):
        return {"tracking_uri": shown, "runs": _remote_runs(uri, limit, experiment, timeout)}
    if path is not None and uri.startswith("sqlite") and not _is_sqlite(path):
        raise OpsInputError(f"cannot read the tracking store {shown}: not an SQLite database")
    try:
        return {"tracking_uri": shown, "runs": _local_runs(uri, limit, experiment)}
    except (OpsInputError, OpsConnectionError):
        raise
    except Exception as e:  # a damaged or foreign store: the client's problem, not a crash
        first = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise OpsInputError(f"cannot read the tracking store {shown}: {first}") from None


def _is_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return head == b"SQLite format 3\x00" or head == b""


def _local_runs(uri: str, limit: int, experiment: str | None) -> list[dict[str, Any]]:
    from ..mlops.runlist import list_runs
    from ..serialize import to_jsonable

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
    return runs


def _remote_runs(uri: str, limit: int, experiment: str | None,
                 timeout: float) -> list[dict[str, Any]]:
    """MLflow's REST API (``experiments/search``, ``runs/search``) with a hard timeout."""
    import datetime as dt

    import httpx

    base = uri.rstrip("/") + "/api/2.0/mlflow"
    try:
        with httpx.Client(timeout=timeout, trust_env=True) as http:
            exps = http.post(base + "/experiments/search",
                             json={"max_results": 1000, "view_type": "ACTIVE_ONLY"})
            exps.raise_for_status()
            names = {e["experiment_id"]: e["name"]
                     for e in exps.json().get("experiments", [])}
            if experiment:
                names = {k: v for k, v in names.items() if experiment in (k, v)}
            if not names:
                return []
            resp = http.post(base + "/runs/search", json={
                "experiment_ids": list(names), "max_results": limit,
                "order_by": ["attributes.start_time DESC"]})
            resp.raise_for_status()
            body = resp.json()
    except httpx.TimeoutException:
        raise TimedOut(f"tracking server {uri} did not answer within {timeout:g} s") from None
    except httpx.HTTPStatusError as e:
        raise OpsConnectionError(f"tracking server {uri} answered "
                                 f"{e.response.status_code}") from None
    except (httpx.HTTPError, ValueError) as e:
        raise OpsConnectionError(f"tracking server {uri} cannot be reached "
                                 f"({type(e).__name__})") from None

    def when(ms: Any) -> str | None:
        if ms in (None, ""):
            return None
        return dt.datetime.fromtimestamp(int(ms) / 1000, dt.timezone.utc).isoformat()

    runs = []
    for r in body.get("runs", [])[:limit]:
        info, data = r.get("info", {}), r.get("data", {})
        start, end = info.get("start_time"), info.get("end_time")
        runs.append({
            "run_id": info.get("run_id"), "run_name": info.get("run_name") or "",
            "experiment": names.get(info.get("experiment_id"), ""),
            "status": info.get("status") or "", "start_time": when(start),
            "duration_s": (int(end) - int(start)) / 1000 if start and end else None,
            "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])
                        if isinstance(m.get("value"), (int, float))},
        })
    return runs


# -- Alertmanager ------------------------------------------------------------------------------

def firing_alerts(limit: int = 200, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Active alerts of the server-side configured Alertmanager as JSON-ready dicts."""
    from ..io.alertmanager import fetch_alerts
    from ..io.http import SOURCES, display_url, server_url

    try:
        url = server_url("alertmanager")
    except OpsInputError:
        return {"configured": False, "alertmanager": None, "alerts": [],
                "message": f"no Alertmanager configured on this server: set "
                           f"{SOURCES['alertmanager'][1]} before starting Jupyter"}
    df = fetch_alerts(url, timeout=timeout, retries=0)
    alerts = []
    for rec in df.head(limit).to_dict(orient="records"):
        ts = rec.get("timestamp")
        alerts.append({
            "name": str(rec.get("name") or ""), "service": str(rec.get("service") or ""),
            "severity": str(rec.get("severity") or ""), "status": str(rec.get("status") or ""),
            "message": str(rec.get("message") or ""), "host": str(rec.get("host") or ""),
            "starts_at": None if ts is None or ts != ts else ts.isoformat(),
            "fingerprint": str(rec.get("fingerprint") or ""),
        })
    return {"configured": True, "alertmanager": display_url(url), "alerts": alerts,
            "total": len(df)}
