"""One answer through every door: a raw frame, a file, a loaded frame, the magic and the CLI
give the same fingerprints and the same incidents (all go through ``io.load_alerts``)."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_ops.aiops import correlate, rank_root_causes
from jupyter_ops.cli import main
from jupyter_ops.datasets import incident_scenario
from jupyter_ops.io import load_alerts


@pytest.fixture(scope="module")
def raw():
    """Alerts as a user has them: text times with offsets, pager severities, no fingerprint."""
    s = incident_scenario(seed=4, with_metrics=False, with_logs=False)
    a = s.alerts.drop(columns=[c for c in ("fingerprint", "labels") if c in s.alerts.columns])
    a = a[["timestamp", "service", "name", "severity", "message"]].copy()
    ts = a["timestamp"].dt.tz_convert("Europe/Berlin")
    a["timestamp"] = ts.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    a["severity"] = a["severity"].map({"critical": "P1", "error": "P2", "warning": "P3",
                                       "info": "P5"}).fillna("P4")
    return a, s.topology


def test_raw_loaded_and_file_give_the_same_correlation(raw, tmp_path):
    a, topo = raw
    path = tmp_path / "alerts.csv"
    a.to_csv(path, index=False)
    doors = {"raw": correlate(a, topology=topo),
             "loaded": correlate(load_alerts(a), topology=topo),
             "file": correlate(str(path), topology=topo)}
    ref = doors["raw"]
    assert len(ref.incidents) >= 2
    for name, c in doors.items():
        pd.testing.assert_series_equal(c.alerts["fingerprint"], ref.alerts["fingerprint"],
                                       check_names=False, obj=name)
        assert c.assignments.tolist() == ref.assignments.tolist(), name
        assert c.provenance["inputs"]["alerts"] == ref.provenance["inputs"]["alerts"], name
    # what correlate works on is exactly what the loader gives
    pd.testing.assert_frame_equal(ref.alerts, load_alerts(a))
    r1 = rank_root_causes(doors["raw"], top=3)
    r2 = rank_root_causes(doors["file"], top=3)
    pd.testing.assert_frame_equal(r1, r2)


def test_magic_and_cli_agree_with_the_core(raw, tmp_path, ip):
    a, topo = raw
    path, tpath = tmp_path / "alerts.csv", tmp_path / "topo.csv"
    a.to_csv(path, index=False)
    topo.to_csv(tpath, index=False)
    core = correlate(a, topology=topo)
    ip.user_ns["raw_alerts"], ip.user_ns["topo"] = a, topo
    by_var = ip.run_line_magic("aiops_correlate", "raw_alerts --topology topo")
    by_path = ip.run_line_magic("aiops_correlate", f"{path} --topology {tpath}")
    assert by_var.assignments.tolist() == core.assignments.tolist()
    assert by_path.assignments.tolist() == core.assignments.tolist()
    out = tmp_path / "assign.csv"
    assert main(["aiops", "correlate", str(path), "--topology", str(tpath),
                 "--assignments", str(out)]) == 0
    cli = pd.read_csv(out)["incident_id"].astype("Int64")
    assert cli.tolist() == core.assignments.tolist()
