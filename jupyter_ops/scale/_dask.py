"""Dask plumbing shared by the adapters: inputs, the client, computing with progress."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import OpsInputError

try:
    import dask
    import dask.dataframe as dd
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("the Dask engine needs the 'dask' extra: pip install 'jupyter-ops[dask]'") \
        from e

__all__ = ["as_frame", "get_client", "compute", "cluster_info"]

#: seconds to wait for a scheduler given by address before giving up with a clear error
CONNECT_TIMEOUT = 10


def _paths(obj: Any) -> list[str] | None:
    if isinstance(obj, (str, os.PathLike)):
        return [os.fspath(obj)]
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(p, (str, os.PathLike))
                                                      for p in obj):
        return [os.fspath(p) for p in obj]
    return None


def as_frame(obj: Any, what: str, npartitions: int = 1) -> Any:
    """A Dask DataFrame from a Dask DataFrame, a pandas frame or Parquet/CSV path(s)."""
    import pandas as pd

    from . import is_dask

    if is_dask(obj):
        if not isinstance(obj, dd.DataFrame):
            raise OpsInputError(f"{what} is a {type(obj).__name__}; pass a Dask DataFrame")
        return _str_columns(obj)
    if isinstance(obj, pd.DataFrame):
        # keep object columns as they are (Dask would turn them into strings: 1 and "1" merge)
        with dask.config.set({"dataframe.convert-string": False}):
            return _str_columns(dd.from_pandas(obj, npartitions=max(1, npartitions), sort=False))
    paths = _paths(obj)
    if paths is None:
        raise OpsInputError(f"{what} must be a Dask DataFrame, a DataFrame or Parquet/CSV "
                            f"path(s) with engine='dask', got {type(obj).__name__}")
    missing = [p for p in paths if "*" not in p and not Path(p).exists()]
    if missing:
        raise OpsInputError(f"{what}: file(s) not found: {missing[:3]}")
    suffixes = {Path(p.rstrip("/")).suffix.lower() or ("dir" if Path(p).is_dir() else "") for p in paths}
    if suffixes <= {".parquet", ".pq", "dir"}:
        return _str_columns(dd.read_parquet(paths if len(paths) > 1 else paths[0]))
    if suffixes <= {".csv", ".gz"}:
        return _str_columns(dd.read_csv(paths, blocksize="64MB"))
    raise OpsInputError(f"{what}: cannot read {sorted(suffixes)} files with engine='dask'; "
                        "use Parquet (.parquet) or CSV (.csv)")


def _str_columns(ddf: Any) -> Any:
    names = [str(c) for c in ddf.columns]
    if names != list(ddf.columns):
        ddf = ddf.copy()
        ddf.columns = names
    return ddf


def get_client(client: Any = None) -> Any:
    """The ``distributed.Client`` to use: the given one, one connected to the given address,
    the current default client, or None (Dask's local scheduler)."""
    if client is not None and not isinstance(client, str):
        return client
    try:
        import distributed
    except ImportError:
        if client is not None:
            raise OpsInputError("a scheduler address needs 'distributed': "
                                "pip install 'jupyter-ops[dask]'")
        return None
    if isinstance(client, str):
        try:
            return distributed.Client(client, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise OpsInputError(f"cannot reach the Dask scheduler at {client!r} within "
                                f"{CONNECT_TIMEOUT} s ({type(e).__name__}); check the address and "
                                "that the scheduler is running (e.g. `dask scheduler`)") from None
    try:
        return distributed.get_client()
    except ValueError:  # no client in this process: Dask's default local scheduler
        return None


def cluster_info(client: Any) -> dict[str, Any]:
    """What ran the computation: the dashboard link and the number of workers."""
    if client is None:
        return {"scheduler": dask.config.get("scheduler", "threads") or "threads",
                "dashboard": None, "workers": None}
    try:
        workers = len(client.scheduler_info().get("workers", {}))
    except Exception:  # noqa: BLE001 - informational only
        workers = None
    return {"scheduler": getattr(client.scheduler, "address", None),
            "dashboard": getattr(client, "dashboard_link", None), "workers": workers}


def compute(obj: Any, client: Any, progress: bool = False) -> Any:
    """Compute one Dask object on ``client`` (or locally), optionally with a progress bar.

    Errors raised in a task (e.g. a partition with another schema) come back as themselves.
    A worker that dies mid-task is replaced by the scheduler and its tasks rerun: the
    partial states are pure functions of their partition, so the result stays exact.
    """
    if client is None:
        if progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar():
                return dask.compute(obj)[0]
        return dask.compute(obj)[0]
    fut = client.compute(obj)  # a list of objects gives a list of futures
    if progress:
        from distributed import progress as show  # a widget in a kernel, a text bar elsewhere

        show(fut)
    return client.gather(fut)
