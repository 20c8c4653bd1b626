"""Long work shows a progress bar (here on a terminal-like stderr); small work and the off
switch show none. The bars come from the core, so the magics, widgets and CLI all get them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_ops import progress as progress_mod
from jupyter_ops.config import JupyterOps, get_settings


@pytest.fixture
def terminal(monkeypatch):
    """Call in the test body: pytest's captured stderr then behaves as a terminal, so bars are
    drawn for large work (the capture object of the call phase is not the setup phase's)."""
    import sys

    JupyterOps.clear_instance()
    monkeypatch.delenv("JUPYTER_OPS_PROGRESS", raising=False)
    yield lambda: monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    JupyterOps.clear_instance()


def _alerts(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ts = pd.Timestamp("2024-05-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 7 * 86400, n)), unit="s")
    return pd.DataFrame({"timestamp": ts, "service": rng.choice([f"s{i}" for i in range(20)], n),
                         "name": [f"alert{i}" for i in range(n)], "severity": "warning",
                         "message": "p99 high"})


def test_correlate_shows_a_bar_above_100k_alerts_only(terminal, capsys):
    from jupyter_ops.aiops import correlate

    terminal()
    correlate(_alerts(5_000))
    assert "correlate" not in capsys.readouterr().err
    correlate(_alerts(120_000))
    assert "correlate" in capsys.readouterr().err


def test_drift_on_a_large_frame_shows_a_bar_and_the_switch_turns_it_off(terminal, capsys):
    from jupyter_ops.mlops import drift

    terminal()
    rng = np.random.default_rng(1)
    ref = pd.DataFrame(rng.normal(size=(120_000, 10)), columns=[f"f{i}" for i in range(10)])
    drift(ref, ref + 0.01, multivariate=False)
    assert "drift" in capsys.readouterr().err
    get_settings().progress = False
    drift(ref, ref + 0.01, multivariate=False)
    assert "drift" not in capsys.readouterr().err
    assert not progress_mod.progress_enabled(10)


def test_streamed_log_mining_shows_a_bar(terminal, capsys, tmp_path):
    from jupyter_ops.aiops.logmining import stream_templates

    terminal()
    p = tmp_path / "big.log"
    p.write_text("".join(f"connected to 10.0.0.{i % 250} port {i}\n" for i in range(50_000)))
    t = stream_templates(p)
    assert t.n_lines == 50_000
    assert "mining" in capsys.readouterr().err
