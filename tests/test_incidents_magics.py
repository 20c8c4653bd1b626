"""Incident magics in a real IPython shell, the report they feed, and the CLI."""

from __future__ import annotations

import json
import re

import pytest
from IPython.core.error import UsageError

from jupyter_ops.cli import main
from jupyter_ops.datasets import incident_scenario
from jupyter_ops.report.session import session_log


@pytest.fixture(scope="module")
def scen():
    return incident_scenario(seed=2)


def test_investigation_magics_feed_the_report(ip, scen, tmp_path):
    ip.user_ns["scenario"] = scen
    corr = ip.run_line_magic("aiops_correlate",
                             "scenario.alerts --topology scenario.topology -o corr")
    assert ip.user_ns["corr"] is corr
    assert len(corr.incidents) >= len(scen.truth.incidents)
    ip.run_line_magic("aiops_rca", "corr --deploys scenario.deploys --top 2 -o rca")
    assert ip.user_ns["rca"].ranking.groupby("incident_id").size().max() <= 2
    prov = ip.user_ns["rca"].provenance
    assert prov["call"] == "rank_root_causes" and prov["params"]["top"] == 2
    assert set(prov["inputs"]) == {"alerts", "deploys"}
    tl = ip.run_line_magic("aiops_timeline",
                           "corr --incident 1 --logs scenario.logs --deploys scenario.deploys")
    assert tl.incident.incident_id == 1
    om = ip.run_line_magic("aiops_metrics", "scenario.alerts scenario.truth -o om")
    assert om.value("MTTA") > 0
    (tmp_path / "rb.json").write_text('{"runbooks": [{"name": "look", "match": '
                                      '{"service": "*"}, "steps": ["open the dashboard"]}]}')
    rem = ip.run_line_magic("aiops_remediate", f"corr -i 1 --runbooks {tmp_path / 'rb.json'}")
    assert len(rem.steps) == 1
    calls = [e.call for e in session_log().entries]
    assert calls[0].startswith("%aiops_correlate scenario.alerts")
    assert len(calls) == 5
    ip.run_line_magic("ops_report", "postmortem.html --title Postmortem")
    html = (tmp_path / "postmortem.html").read_text()
    for heading in ("Alert correlation", "Root-cause candidates", "Timeline of incident 1",
                    "Ops metrics", "Remediation suggestions"):
        assert heading in html


def test_magics_read_files(ip, scen, tmp_path):
    scen.alerts.drop(columns=["labels"]).to_csv(tmp_path / "alerts.csv", index=False)
    scen.topology.to_csv(tmp_path / "topo.csv", index=False)
    c = ip.run_line_magic("aiops_correlate", "alerts.csv --topology topo.csv --window 10min")
    assert c.params["window"] == "0 days 00:10:00"
    assert len(c.alerts) == len(scen.alerts)


def test_magic_errors_are_one_line_usage_errors(ip, scen):
    ip.user_ns["scenario"] = scen
    with pytest.raises(UsageError, match=r"'nothing_here' is neither a variable in this "
                                         r"notebook nor an existing file"):
        ip.run_line_magic("aiops_correlate", "nothing_here")
    ip.user_ns["bad"] = scen.alerts.drop(columns=["service"])
    with pytest.raises(UsageError, match=r"alerts are missing column 'service'"):
        ip.run_line_magic("aiops_correlate", "bad")
    ip.run_line_magic("aiops_correlate", "scenario.alerts -o c")
    with pytest.raises(UsageError, match=r"needs --incident ID"):
        ip.run_line_magic("aiops_timeline", "c")
    with pytest.raises(UsageError, match=r"--incident needs an incident id"):
        ip.run_line_magic("aiops_rca", "c --incident first")
    with pytest.raises(UsageError, match=r"no incident 999"):
        ip.run_line_magic("aiops_timeline", "c --incident 999")
    with pytest.raises(UsageError, match=r"-o needs a Python variable name"):
        ip.run_line_magic("aiops_correlate", "scenario.alerts -o 1x")


def test_cli_correlate_rca_metrics(tmp_path, scen, capsys):
    scen.alerts.drop(columns=["labels"]).to_csv(tmp_path / "alerts.csv", index=False)
    scen.topology.to_csv(tmp_path / "topo.csv", index=False)
    scen.deploys.to_csv(tmp_path / "deploys.csv", index=False)
    a, t = str(tmp_path / "alerts.csv"), str(tmp_path / "topo.csv")
    out = tmp_path / "r.html"
    assert main(["aiops", "correlate", a, "--topology", t, "--report", str(out),
                 "--assignments", str(tmp_path / "assign.csv")]) == 0
    assert "Alert correlation" in out.read_text()
    assert (tmp_path / "assign.csv").read_text().startswith("alert,incident_id")
    assert main(["aiops", "rca", a, "--topology", t, "--deploys",
                 str(tmp_path / "deploys.csv")]) == 0
    rca_out = capsys.readouterr().out
    assert "most likely root causes" in rca_out
    assert re.search(r"incident \d+: \S", rca_out), rca_out  # says which incident, not "#1"
    assert main(["aiops", "metrics", a, "--topology", t]) == 0
    assert "MTTA" in capsys.readouterr().out
    assert main(["aiops", "correlate", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err
    # the report records the command as given to main(), not the process' sys.argv
    js = tmp_path / "rca.json"
    assert main(["aiops", "rca", a, "--top", "2", "--report", str(js)]) == 0
    assert f"wrote {js}" in capsys.readouterr().err
    calls = {s["provenance"].get("call") for s in json.loads(js.read_text())["sections"]}
    assert (f"jupyter-ops aiops rca {a} --window 5min --hops 1 --similarity 0.5 "
            "--min-severity error --max-span 4h --top 2") in calls
    rca = [s for s in json.loads(js.read_text())["sections"]
           if s["provenance"].get("params", {}).get("top") == 2]
    assert rca and "alerts" in rca[0]["provenance"]["inputs"]
