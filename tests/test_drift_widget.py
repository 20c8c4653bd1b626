"""DriftDashboard: picking a column shows its distributions; test/threshold changes update verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.widgets import DriftDashboard


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    n = 1500
    ref = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n),
                        "<b>c</b>": rng.choice(list("xyz"), n)})
    cur = pd.DataFrame({"a": rng.normal(0.3, 1, n), "b": rng.normal(0.02, 1, n),
                        "<b>c</b>": rng.choice(list("xyz"), n)})
    return ref, cur


def test_controls_update_verdicts(frames):
    ref, cur = frames
    d = DriftDashboard(ref, cur)
    assert d.verdicts.to_dict() == {"a": True, "b": False, "<b>c</b>": False}
    d.test.value = "ks"
    assert d.result.columns.set_index("column").loc["a", "test"] == "ks"
    assert d.verdicts["b"] == bool(d.result.columns.set_index("column").loc["b", "p_value"] < 0.05)
    d.threshold.value = "1e-300"  # no KS p-value is that small...
    assert not d.verdicts[["a", "b"]].any()
    # ...but the category fell back to a distance, where any difference exceeds it
    assert d.verdicts["<b>c</b>"]
    assert "1 of 3 features drifted" in d.summary.value
    d.threshold.value = "oops"
    assert "threshold must be a number" in d.message.value
    assert d.verdicts.sum() == 1  # the last good settings stay


def test_column_choice_shows_binned_distributions(frames):
    ref, cur = frames
    d = DriftDashboard(ref, cur)
    d.column.value = "b"
    assert d.chart_spec["title"] == "b"
    values = d.chart_spec["datasets"][next(iter(d.chart_spec["datasets"]))]
    assert {v["side"] for v in values} == {"reference", "current"}
    assert len(values) <= 2 * 30
    # hostile column names are escaped in the HTML widgets
    assert "<b>c</b>" not in d.table.value and "&lt;b&gt;c&lt;/b&gt;" in d.table.value
    d.column.value = "<b>c</b>"
    assert d.chart_spec["title"] == "<b>c</b>"  # chart text is data, not HTML
    values = d.chart_spec["datasets"][next(iter(d.chart_spec["datasets"]))]
    assert {(v["side"], v["bin"]) for v in values} == {
        (side, b) for side in ("reference", "current") for b in "xyz"}
    assert "application/vnd.jupyter.widget-view+json" in d._repr_mimebundle_()
