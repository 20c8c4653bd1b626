"""Charts shown outside the result renderer draw offline; drift distributions stay readable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_ops import mlops
from jupyter_ops.results import chart_spec, offline_chart_renderer

VEGALITE6 = "application/vnd.vegalite.v6+json"


def test_offline_renderer_sends_vegalite_json_and_altairs_html():
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json",
            "data": {"values": [{"a": 1}]}, "mark": "bar", "encoding": {"x": {"field": "a"}}}
    bundle = offline_chart_renderer(spec)
    # JupyterLab + our extension draws this one, offline
    assert bundle[VEGALITE6] == spec
    # VS Code / classic Notebook / nbconvert keep what Altair's default renderer shows
    assert "vega-embed" in bundle["text/html"] and '"mark": "bar"' in bundle["text/html"]
    assert bundle["text/plain"]


def _bar_widths(spec: dict) -> dict[str, list[float]]:
    """Width of every bar of each panel, from the scenegraph Vega computes (no browser)."""
    import vl_convert as vlc

    out: dict[str, list[float]] = {}

    def walk(node):
        if isinstance(node, dict):
            if node.get("marktype") == "rect" and node.get("role") == "mark":
                out[node["name"]] = [it["width"] for it in node.get("items", [])]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(vlc.vegalite_to_scenegraph(spec))
    return out


def test_distribution_bars_are_readable_for_few_and_many_categories():
    rng = np.random.default_rng(0)
    n = 3000
    ref = pd.DataFrame({"rating": rng.integers(0, 25, n), "plan": rng.choice(list("ABCDEFGHIJKL"), n),
                        "two": rng.choice(["yes", "no"], n), "x": rng.normal(0, 1, n)})
    cur = pd.DataFrame({"rating": rng.integers(3, 28, n), "plan": rng.choice(list("ABCDEFGHIJKLMN"), n),
                        "two": rng.choice(["yes", "no"], n), "x": rng.normal(0.5, 1, n)})
    r = mlops.drift(ref, cur, multivariate=False, log=False)
    order = r.columns["column"].head(6).tolist()
    widths = _bar_widths(chart_spec(r.charts()["distributions"]))
    by_col = dict(zip(order, (widths[f"concat_{i}_marks"] for i in range(len(order))), strict=True))
    assert len(by_col["rating"]) == 2 * 28  # one bar per value and side
    assert min(by_col["rating"]) >= 5  # 28 values: the panel grows instead of squeezing
    # two categories: wide bars (a shared offset scale made them as thin as rating's)
    assert min(by_col["two"]) >= 30
    assert min(by_col["plan"]) >= 5
    # numbers: overlaid histograms on 30 shared bins over the full panel width
    assert len(by_col["x"]) == 2 * 30 and min(by_col["x"]) >= 7


@pytest.mark.timeout(300)
def test_charts_draw_offline_in_a_kernel_without_setup(tmp_path):
    """In a real kernel: %load_ext imports no Altair; a widget's chart switches Altair to the
    jupyter-ops renderer, result.chart() then carries the Vega-Lite 6 JSON the lab extension
    draws; a renderer the user chose is kept."""
    import nbclient
    import nbformat

    cells = [
        "import sys\n%load_ext jupyter_ops\nprint('altair' in sys.modules)",
        # a widget's chart (its output goes to the front end, so check the renderer it used)
        "from jupyter_ops.datasets import drift_scenario\n"
        "from jupyter_ops.widgets import DriftDashboard\n"
        "ds = drift_scenario(seed=0, n_rows=500)\n"
        "dash = DriftDashboard(ds.reference, ds.current, columns=ds.numeric[:2])\n"
        "import altair as alt\nprint(alt.renderers.active)",
        "from jupyter_ops import mlops\n"
        "r = mlops.drift(ds.reference, ds.current, columns=ds.numeric[:2], multivariate=False,"
        " log=False)\n"
        "r.chart('distributions')",
        "alt.renderers.enable('json')\nr.chart('distributions')",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = [c.outputs for c in nb.cells]
    assert out[0][0]["text"].strip() == "False"
    assert out[1][-1]["text"].strip() == "jupyter_ops"
    chart = out[2][0]["data"]
    assert "/vega-lite/v6" in chart[VEGALITE6]["$schema"] and "text/html" in chart
    assert set(out[3][0]["data"]) == {"application/json", "text/plain"}
