"""The incident CLI has the magics' commands, options and defaults."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_ops.cli import main
from jupyter_ops.datasets import incident_scenario


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    s = incident_scenario(seed=2)
    a = s.alerts.drop(columns=["labels"]).rename(columns={"timestamp": "time",
                                                          "service": "svc"})
    a.to_csv(d / "alerts.csv", index=False)
    s.topology.to_csv(d / "topo.csv", index=False)
    s.logs.to_csv(d / "logs.csv", index=False)
    (d / "rb.json").write_text('{"runbooks": [{"name": "look", "match": {"service": "*"}, '
                               '"steps": ["open the dashboard"]}]}')
    return d


def args(d, *extra):
    return ["aiops", *extra[:1], str(d / "alerts.csv"), "--columns", "time=timestamp,svc=service",
            "--topology", str(d / "topo.csv"), *extra[1:]]


def test_correlate_options_and_column_mapping(files, capsys):
    out = files / "a.csv"
    assert main(args(files, "correlate", "--hops", "2", "--similarity", "0",
                     "--min-severity", "warning", "--assignments", str(out))) == 0
    from jupyter_ops.aiops import correlate
    from jupyter_ops.io import load_alerts

    ref = correlate(load_alerts(files / "alerts.csv", columns="time=timestamp,svc=service"),
                    topology=pd.read_csv(files / "topo.csv"), hops=2, similarity=None,
                    min_severity="warning")
    assert pd.read_csv(out)["incident_id"].astype("Int64").tolist() == \
        ref.assignments.tolist()


def test_missing_column_without_mapping_is_exit_2(files, capsys):
    assert main(["aiops", "correlate", str(files / "alerts.csv")]) == 2
    assert "columns" in capsys.readouterr().err


def test_timeline_remediate_and_rca_default_top(files, capsys):
    assert main(args(files, "timeline", "--incident", "1", "--logs",
                     str(files / "logs.csv"))) == 0
    assert "from first to last alert" in capsys.readouterr().out
    assert main(args(files, "remediate", "--incident", "1", "--runbooks",
                     str(files / "rb.json"))) == 0
    assert "open the dashboard" in capsys.readouterr().out
    assert main(args(files, "rca", "--incident", "2", "--top", "1")) == 0
    out = capsys.readouterr().out
    assert "incident 2:" in out and "incident 1:" not in out
    assert main(args(files, "rca", "--incident", "999")) == 2
    assert "999" in capsys.readouterr().err


def test_cli_defaults_are_the_magics():
    from jupyter_ops.cli import build_parser
    from jupyter_ops.magics.incidents import IncidentMagics as M

    shared = {"correlate": (M.aiops_correlate, ["window", "hops", "similarity",
                                                "min_severity", "max_span", "by", "columns"]),
              "rca": (M.aiops_rca, ["top", "metrics", "deploys", "incident"]),
              "timeline": (M.aiops_timeline, ["margin", "logs", "deploys"]),
              "remediate": (M.aiops_remediate, ["root_cause"])}
    for cmd, (magic, names) in shared.items():
        extra = {"timeline": ["--incident", "1"],
                 "remediate": ["--incident", "1", "--runbooks", "r"]}.get(cmd, [])
        cli = vars(build_parser().parse_args(["aiops", cmd, "x.csv", *extra]))
        mag = vars(magic.parser.parse_args(["x", *extra]))
        for k in names:
            assert cli[k] == mag[k], (cmd, k, cli[k], mag[k])
    # the CLI's --rca-hops is the magic's --hops (the CLI's --hops is correlate's)
    assert build_parser().parse_args(["aiops", "rca", "x"]).rca_hops == \
        M.aiops_rca.parser.parse_args(["x"]).hops


def test_magic_takes_the_same_new_options(files, ip):
    path = files / "alerts.csv"
    c = ip.run_line_magic("aiops_correlate", f"{path} --columns time=timestamp,svc=service "
                          f"--topology {files / 'topo.csv'} --max-span none -o c")
    assert c.params["max_span"] is None
    r = ip.run_line_magic("aiops_rca", "c --hops 1 --top 2")
    assert r.provenance["params"]["hops"] == 1
