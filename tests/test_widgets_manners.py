"""Notebook manners of the widgets and long work: no recompute per keystroke, the latest
request wins, progress bars with an off switch."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.config import get_settings
from jupyter_ops.progress import progress, progress_enabled
from jupyter_ops.widgets._recompute import LatestOnly, in_kernel


def test_text_controls_recompute_on_enter_or_blur_only():
    from jupyter_ops.aiops.logmining import mine_templates
    from jupyter_ops.datasets import incident_scenario
    from jupyter_ops.widgets import DriftDashboard, IncidentExplorer, TemplateBrowser

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=200)})
    cur = pd.DataFrame({"x": rng.normal(0.5, size=200)})
    dd = DriftDashboard(ref, cur)
    ie = IncidentExplorer(incident_scenario(seed=1, n_incidents=2, hours=2).alerts)
    tb = TemplateBrowser(mine_templates([f"tick {i}" for i in range(20)]))
    for control in (dd.threshold, ie.w_by, ie.w_hops, tb.search):
        assert control.continuous_update is False, control


def test_controls_go_through_the_superseding_runner():
    from jupyter_ops.datasets import incident_scenario
    from jupyter_ops.widgets import IncidentExplorer

    ie = IncidentExplorer(incident_scenario(seed=1, n_incidents=2, hours=2).alerts)
    before = ie.recompute_request.requests
    ie.w_window.value = "1min" if ie.w_window.value != "1min" else "2min"
    ie.w_hops.value = 0
    assert ie.recompute_request.requests == before + 2
    assert ie.correlation.params["window"] in ("0 days 00:01:00", "0 days 00:02:00")


def test_requests_during_a_run_collapse_into_one_run_with_the_latest_state():
    started, release = threading.Event(), threading.Event()
    seen: list[int] = []
    state = {"value": 0}

    def work():
        seen.append(state["value"])  # what the controls held when this run started
        started.set()
        release.wait(10)

    runner = LatestOnly(work, background=True)
    runner()
    assert started.wait(10)
    for v in range(1, 6):  # five changes while the first run is busy
        state["value"] = v
        runner()
    release.set()
    assert runner.wait(10)
    assert runner.requests == 6
    assert runner.runs == 2  # the first, then one for the five superseded requests
    assert seen == [0, 5]  # the second run saw the latest controls


def test_synchronous_mode_outside_a_kernel_and_errors_are_logged(caplog):
    assert not in_kernel()
    calls = []

    def work():
        calls.append(1)
        if len(calls) == 1:
            runner()  # a change made by the work itself: one more run, not recursion
            raise RuntimeError("boom")

    runner = LatestOnly(work)
    with caplog.at_level(logging.ERROR, logger="jupyter_ops.widgets"):
        runner()
    assert len(calls) == 2 and runner.runs == 2  # done when the call returns
    assert "recomputation failed" in caplog.text and "boom" in caplog.text


def test_progress_is_off_by_setting_and_outside_a_terminal(monkeypatch):
    import sys

    assert list(progress(range(3))) == [0, 1, 2]
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel") or object())
    assert progress_enabled(total=10)
    assert not progress_enabled(total=10, min_total=100)  # too little work for a bar
    get_settings().progress = False
    assert not progress_enabled(total=10)
    bar = progress(range(3), desc="x")
    assert list(bar) == [0, 1, 2] and type(bar).__name__ == "_NoBar"


def test_progress_draws_a_tqdm_bar_when_enabled(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel") or object())
    bar = progress(range(4), desc="sync", unit="run")
    assert type(bar).__module__.startswith("tqdm")
    assert list(bar) == [0, 1, 2, 3]
    assert "sync" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "false", "off"])
def test_progress_environment_switch(monkeypatch, value):
    from jupyter_ops.config import JupyterOps

    monkeypatch.setenv("JUPYTER_OPS_PROGRESS", value)
    JupyterOps.clear_instance()
    assert not progress_enabled(total=10)
