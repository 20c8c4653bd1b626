"""example_notebooks/live_investigation.ipynb against the real servers (the notebook test
runs it offline, where it replays the generated scenario)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from jupyter_ops.io import loki_push
from tests.live_servers import (
    prometheus_stack,
    wait_for,
)
from tests.loki_standin import LokiStandIn

ROOT = Path(__file__).resolve().parents[1]


def test_live_investigation_notebook_reads_live_sources(tmp_path, monkeypatch):
    import httpx
    import nbclient
    import nbformat

    with LokiStandIn() as loki, prometheus_stack(tmp_path) as servers:
        prom, am = servers["prom"], servers["am"]
        now = pd.Timestamp.now(tz="UTC")
        loki_push(loki.url, {(("app", "checkout"),): [
            (now - pd.Timedelta(seconds=100 - i),
             f"ERROR payment {i % 5} timed out" if i % 4 == 0 else f"INFO order {i} ok")
            for i in range(100)]})
        wait_for(lambda: httpx.get(am.url + "/api/v2/alerts", timeout=5).json(), timeout=40)
        for var, url in (("PROMETHEUS", prom.url), ("ALERTMANAGER", am.url),
                         ("LOKI", loki.url)):
            monkeypatch.setenv(f"JUPYTER_OPS_{var}_URL", url)
        monkeypatch.setenv("JUPYTER_OPS_HOME", str(tmp_path / "home"))
        work = tmp_path / "nb"
        work.mkdir()
        src = ROOT / "example_notebooks" / "live_investigation.ipynb"
        shutil.copy(src, work / src.name)
        nb = nbformat.read(work / src.name, as_version=4)
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        params.source = params.source.replace('SINCE = "6h"', 'SINCE = "2m"')
        client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                         resources={"metadata": {"path": str(work)}})
        client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "mode: LIVE" in text
    assert f"'server': '{prom.url}'" in text and f"'server': '{loki.url}'" in text
    assert (work / "live_postmortem.html").exists()
