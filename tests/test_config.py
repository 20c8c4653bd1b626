"""``%config JupyterOps.*``: the notebook settings, their defaults and where they apply."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jupyter_ops.config import JupyterOps, get_settings
from jupyter_ops.datasets import incident_scenario


@pytest.fixture(scope="module")
def scen():
    return incident_scenario(seed=2, n_incidents=2, hours=4)


def test_config_magic_changes_the_settings_and_lists_them(ip, capsys):
    ip.run_line_magic("config", 'JupyterOps.window = "10min"')
    assert get_settings().window == "10min"
    ip.run_line_magic("config", "JupyterOps")
    listing = capsys.readouterr().out
    for name in ("window", "anomaly_threshold", "drift_threshold", "report_dir", "experiment",
                 "progress", "prometheus_url", "alertmanager_url", "loki_url"):
        assert f"JupyterOps.{name}=" in listing


def test_a_bad_window_is_refused_and_the_old_value_kept(ip):
    ip.run_line_magic("config", 'JupyterOps.window = "2min"')
    ip.run_line_magic("config", 'JupyterOps.window = "soon"')  # IPython logs the TraitError
    assert get_settings().window == "2min"
    with pytest.raises(Exception, match="positive pandas offset"):
        get_settings().window = "-5min"


def test_configured_window_is_the_default_and_a_typed_one_wins(ip, scen):
    ip.user_ns["scenario"] = scen
    default = ip.run_line_magic("aiops_correlate", "scenario.alerts")
    assert default.params["window"] == "0 days 00:05:00"
    ip.run_line_magic("config", 'JupyterOps.window = "10min"')
    configured = ip.run_line_magic("aiops_correlate", "scenario.alerts")
    assert configured.params["window"] == "0 days 00:10:00"
    for typed in ("--window 1min", "-w 1min", "--window=1min"):
        assert ip.run_line_magic("aiops_correlate", f"scenario.alerts {typed}"
                                 ).params["window"] == "0 days 00:01:00"


def test_report_dir_takes_relative_report_paths(ip, scen, tmp_path):
    ip.user_ns["scenario"] = scen
    ip.run_line_magic("aiops_correlate", "scenario.alerts")
    ip.run_line_magic("config", f'JupyterOps.report_dir = "{tmp_path / "out" / "reports"}"')
    ip.run_line_magic("ops_report", "r.html")
    assert (tmp_path / "out" / "reports" / "r.html").is_file()
    assert not (tmp_path / "r.html").exists()
    ip.run_line_magic("ops_report", str(tmp_path / "abs.md"))  # absolute paths stay
    assert (tmp_path / "abs.md").is_file()


def test_experiment_setting_names_tracked_runs(ip, mlflow_uri):
    ip.run_line_magic("config", 'JupyterOps.experiment = "configured-exp"')
    card = ip.run_cell_magic("mlops_track", "--no-autolog", "x = 1\n")
    assert card.experiment == "configured-exp"
    typed = ip.run_cell_magic("mlops_track", "-e typed-exp --no-autolog", "x = 2\n")
    assert typed.experiment == "typed-exp"


def test_url_settings_default_from_the_environment(monkeypatch):
    monkeypatch.setenv("JUPYTER_OPS_PROMETHEUS_URL", "http://127.0.0.1:9090/")
    monkeypatch.setenv("JUPYTER_OPS_ALERTMANAGER_URL", "http://127.0.0.1:9093")
    monkeypatch.delenv("JUPYTER_OPS_LOKI_URL", raising=False)
    JupyterOps.clear_instance()
    s = get_settings()
    assert s.prometheus_url == "http://127.0.0.1:9090"  # trailing slash dropped
    assert s.alertmanager_url == "http://127.0.0.1:9093"
    assert s.loki_url == ""
    with pytest.raises(Exception, match="must start with http"):
        s.loki_url = "localhost:3100"


def test_progress_off_by_environment(monkeypatch):
    monkeypatch.setenv("JUPYTER_OPS_PROGRESS", "0")
    JupyterOps.clear_instance()
    assert get_settings().progress is False


def test_ipython_config_file_values_apply_on_load(ip):
    from traitlets.config import Config

    JupyterOps.clear_instance()
    cfg = Config()
    cfg.JupyterOps.window = "15min"
    ip.config.merge(cfg)
    try:
        ip.run_line_magic("load_ext", "jupyter_ops")
        ip.extension_manager.reload_extension("jupyter_ops")
        assert get_settings().window == "15min"
        assert sum(isinstance(c, JupyterOps) for c in ip.configurables) == 1
    finally:
        del ip.config["JupyterOps"]


def test_settings_work_without_ipython():
    code = ("import sys, jupyter_ops.config as c; s = c.get_settings(); "
            "assert s.window == '5min'; assert 'IPython' not in sys.modules, 'IPython imported'")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr



def test_drift_threshold_setting_is_the_default(ip):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    ip.user_ns["ref"] = pd.DataFrame({"x": rng.normal(size=300)})
    ip.user_ns["cur"] = pd.DataFrame({"x": rng.normal(0.3, size=300)})
    ip.run_line_magic("config", "JupyterOps.drift_threshold = 0.2")
    r = ip.run_line_magic("mlops_drift", "ref cur --no-multivariate -m wasserstein")
    assert r.columns["threshold"].tolist() == [0.2]
    typed = ip.run_line_magic("mlops_drift", "ref cur --no-multivariate -m wasserstein "
                                             "--threshold 0.05")
    assert typed.columns["threshold"].tolist() == [0.05]


def test_a_configured_live_url_wins_over_the_environment_and_reaches_the_loaders(monkeypatch):
    from jupyter_ops.config import JupyterOps, get_settings
    from jupyter_ops.io.http import server_url

    JupyterOps.clear_instance()
    try:
        monkeypatch.setenv("JUPYTER_OPS_ALERTMANAGER_URL", "http://127.0.0.1:9093")
        assert server_url("alertmanager") == "http://127.0.0.1:9093"
        get_settings().alertmanager_url = "http://127.0.0.1:19093"
        assert server_url("alertmanager") == "http://127.0.0.1:19093"
        # an explicit argument still wins; an environment change is seen when nothing is set
        assert server_url("alertmanager", "http://127.0.0.1:1") == "http://127.0.0.1:1"
        monkeypatch.setenv("JUPYTER_OPS_PROMETHEUS_URL", "http://127.0.0.1:29090")
        assert server_url("prometheus") == "http://127.0.0.1:29090"
    finally:
        JupyterOps.clear_instance()
