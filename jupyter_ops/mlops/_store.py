"""Where runs go: tracking URI resolution, reachability probe, MLflow error translation.

Private helpers shared by the tracking modules. mlflow is imported inside functions only.
"""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from ..errors import OpsConnectionError, OpsInputError

#: seconds to wait for ``GET <server>/health`` before a server counts as unreachable
PROBE_TIMEOUT = 2.0

_SCHEMES = ("sqlite", "file", "http", "https", "postgresql", "mysql", "mssql", "databricks")

#: seconds to wait for another process to finish creating/migrating a SQLite store
STORE_LOCK_TIMEOUT = 300.0

_READY: set[str] = set()  # SQLite files this process has already created/migrated


def resolve_uri(uri: str | None = None) -> str:
    """The tracking URI to use: ``uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's default.

    MLflow 3.x's own default is ``sqlite:///mlflow.db`` in the working directory (or
    ``./mlruns`` when that folder already holds file-store runs); we keep it so runs made here
    show up unchanged in ``mlflow ui`` run from the same folder.
    """
    import mlflow

    if uri:
        uri = str(uri).strip()
        check_uri(uri)
        return uri
    return mlflow.get_tracking_uri()


def check_uri(uri: str) -> None:
    """Raise :class:`OpsInputError` for a tracking URI MLflow cannot use."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    if scheme and len(scheme) > 1 and scheme not in _SCHEMES:
        raise OpsInputError(
            f"invalid tracking URI {uri!r}: unknown scheme {scheme!r}; use e.g. "
            "sqlite:///mlflow.db, a folder path or http://host:5000")
    if scheme in ("http", "https"):
        rest = uri.split("://", 1)[-1]
        if not rest or rest.startswith("/"):
            raise OpsInputError(f"invalid tracking URI {uri!r}: no host; use e.g. http://127.0.0.1:5000")


def sqlite_path(uri: str) -> str | None:
    """The absolute file path of a ``sqlite:///`` URI; None for other URIs and in-memory DBs."""
    if not uri.lower().startswith("sqlite:"):
        return None
    rest = uri.split(":", 1)[1]
    if not rest.startswith("///"):
        return None
    path = rest[3:].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return os.path.abspath(path)


def ensure_store(uri: str) -> None:
    """Create and migrate a local SQLite tracking store under a file lock, once per process.

    MLflow creates and migrates a new SQLite store on first use without a cross-process lock
    on Linux/macOS for the *migration* step, so two kernels (or a kernel and the lab sidebar)
    that open a fresh ``mlflow.db`` at the same moment race in Alembic ("table
    _alembic_tmp_metrics already exists") and can leave the file unusable. Here the first
    opener holds ``<db>.lock`` while MLflow builds the store (tables, migrations, the Default
    experiment); everyone else waits, then finds it ready. Other URIs are left alone.

    Parameters
    ----------
    uri : str
        A tracking URI; only ``sqlite:///path`` does anything.

    Raises
    ------
    OpsConnectionError
        Another process held the lock for longer than :data:`STORE_LOCK_TIMEOUT` seconds.
    """
    path = sqlite_path(uri)
    if path is None or path in _READY:
        return
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        return  # MLflow reports the missing folder itself; never create folders here
    from filelock import FileLock, Timeout
    from mlflow.tracking import MlflowClient

    def build() -> None:
        with store_errors(uri):
            # building the store creates the tables, runs Alembic and adds "Default"
            MlflowClient(tracking_uri=uri)._tracking_client.store  # noqa: B018

    lock = FileLock(path + ".lock", timeout=STORE_LOCK_TIMEOUT)
    try:
        lock.acquire()
    except Timeout:
        raise OpsConnectionError(
            f"tracking store {display_uri(uri)} is locked by another process (waited "
            f"{STORE_LOCK_TIMEOUT:.0f} s for {path}.lock); retry when it is done") from None
    except OSError:
        # no lock file possible (a read-only folder, e.g. a shared store opened to read):
        # nobody can be migrating it from here either, so open it as MLflow would
        build()
    else:
        try:
            build()
        finally:
            lock.release()
    _READY.add(path)


def is_remote(uri: str) -> bool:
    return uri.lower().startswith(("http://", "https://"))


def probe(uri: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Raise :class:`OpsConnectionError` when an HTTP tracking server does not answer quickly.

    Local stores (sqlite, file) are always reachable. The probe is one ``GET /health`` with a
    short timeout, so a dead server is detected in about ``timeout`` seconds instead of
    MLflow's default retries with backoff (minutes).
    """
    if not is_remote(uri):
        return
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - http(s) only
            if resp.status >= 500:
                raise OpsConnectionError(f"tracking server {uri} answered {resp.status}")
    except urllib.error.HTTPError as e:
        if e.code >= 500:
            raise OpsConnectionError(f"tracking server {uri} answered {e.code}") from None
        # 404 etc.: something answers (an older server without /health): count it as up
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise OpsConnectionError(f"tracking server {uri} cannot be reached ({reason})") from None


@contextlib.contextmanager
def fast_http() -> Iterator[None]:
    """Few retries and a short timeout for MLflow REST calls (restored afterwards)."""
    with env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="5",
             MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true"):
        yield


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep MLflow from printing run URLs to stdout (core code never prints)."""
    with env(MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true"):
        yield


@contextlib.contextmanager
def env(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` (or its cause chain) says a server could not be reached."""
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 8:
        if isinstance(e, (ConnectionError, socket.timeout, OpsConnectionError)):
            return True
        name = type(e).__name__
        if name in ("ConnectionError", "MaxRetryError", "NewConnectionError", "ConnectTimeout",
                    "ReadTimeout", "Timeout", "ProtocolError", "RemoteDisconnected"):
            return True
        text = str(e)
        if "Max retries exceeded" in text or "Connection refused" in text:
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def client(uri: str) -> Any:
    """An ``MlflowClient`` for ``uri`` with unknown schemes turned into a one-line error."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    check_uri(uri)
    ensure_store(uri)
    try:
        with store_errors(uri):
            return MlflowClient(tracking_uri=uri)
    except MlflowException as e:
        raise OpsInputError(f"invalid tracking URI {uri!r}: {_first_line(e)}") from None


@contextlib.contextmanager
def store_errors(uri: str) -> Iterator[None]:
    """Turn a store that cannot be used (missing driver, database down) into a clear error."""
    try:
        yield
    except ImportError as e:
        raise OpsInputError(f"tracking URI {uri!r} needs the Python package {e.name!r}; "
                            f"install it (pip install {e.name}) or use another URI") from None
    except Exception as e:
        if type(e).__name__ == "OperationalError" or is_connection_error(e):
            raise OpsConnectionError(f"tracking store {uri} cannot be reached "
                                     f"({_first_line(e)[:200]})") from None
        raise


def get_run(c: Any, run_id: str) -> Any:
    """``client.get_run`` with a clear error for an id that does not exist."""
    from mlflow.exceptions import MlflowException

    run_id = str(run_id).strip()
    try:
        return c.get_run(run_id)
    except MlflowException as e:
        if is_connection_error(e):
            raise OpsConnectionError(f"tracking server {c.tracking_uri} cannot be reached") from None
        raise OpsInputError(
            f"no run {run_id!r} in {display_uri(c.tracking_uri)}; list runs with %mlops_runs "
            "or mlops.list_runs()") from None


def find_experiment(c: Any, name_or_id: str | None, create: bool = False) -> Any:
    """The experiment named (or with id) ``name_or_id``; created when missing and ``create``."""
    if name_or_id is None:
        return None
    exp = c.get_experiment_by_name(str(name_or_id))
    if exp is None and str(name_or_id).isdigit():
        with contextlib.suppress(Exception):
            exp = c.get_experiment(str(name_or_id))
    if exp is None and create:
        from mlflow.exceptions import MlflowException

        try:
            exp = c.get_experiment(c.create_experiment(str(name_or_id)))
        except MlflowException as e:
            # another kernel created it a moment ago (two team members, one new experiment)
            if e.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            exp = c.get_experiment_by_name(str(name_or_id))
    return exp


def display_uri(uri: str) -> str:
    """A URI as a user would recognise it (sqlite paths made absolute)."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path = uri[len("sqlite:///"):]
        return "sqlite:///" + os.path.abspath(path)
    return uri


def ui_command(uri: str) -> str:
    """How to look at runs of ``uri`` in the MLflow UI."""
    if is_remote(uri):
        return f"open {uri}"
    return f"mlflow ui --backend-store-uri {display_uri(uri)}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
