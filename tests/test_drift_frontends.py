"""%mlops_drift / %mlops_quality / %mlops_monitor in a real IPython shell; the CLI gate; MLflow."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError

from jupyter_ops import mlops
from jupyter_ops.cli import main
from jupyter_ops.datasets import drift_scenario
from jupyter_ops.report.session import session_log


@pytest.fixture(scope="module")
def scenario():
    return drift_scenario(seed=0, n_rows=2000)


def test_drift_magic(ip, scenario):
    ip.user_ns["s"] = scenario
    r = ip.run_line_magic("mlops_drift", "s.reference s.current --columns customer_age,income,"
                          "plan,region --target target --no-multivariate -o d")
    assert ip.user_ns["d"] is r
    assert sorted(r.drifted_columns) == ["customer_age", "income", "plan"]
    assert r.dataset_drift  # 3 of 4
    bundle = r._repr_mimebundle_()
    payload = bundle["application/vnd.jupyter-ops.result+json"]
    assert {c["name"] for c in payload["charts"]} == {"drift_scores", "distributions"}
    assert session_log().entries[-1].call.startswith("%mlops_drift s.reference")
    r2 = ip.run_line_magic("mlops_drift", "s.reference s.current --method ks --threshold 0.01 "
                           "--correction bh --no-multivariate")
    t = r2.columns.set_index("column")
    assert t.loc["customer_age", "test"] == "ks" and "p_adjusted" in r2.columns
    assert t.loc["plan", "test"] == "jensenshannon"  # KS does not apply to categories: auto
    assert "does not apply" in t.loc["plan", "note"]


def test_drift_magic_with_profile_file(ip, scenario, tmp_path):
    mlops.profile(scenario.reference).save(tmp_path / "ref.profile.json")
    scenario.current.to_parquet(tmp_path / "cur.parquet")
    r = ip.run_line_magic("mlops_drift", f"{tmp_path / 'ref.profile.json'} {tmp_path / 'cur.parquet'}")
    assert {"customer_age", "income", "plan"} <= set(r.drifted_columns)
    assert r.multivariate["skipped"].startswith("the reference is a profile")


def test_magic_reads_csv_files_as_the_cli_does(ip, scenario, tmp_path, capsys):
    # ISO timestamps in a CSV are datetimes in the magic too: left out as a datetime column,
    # not taken for an identifier
    scenario.reference.to_csv(tmp_path / "ref.csv", index=False)
    scenario.current.to_csv(tmp_path / "cur.csv", index=False)
    r = ip.run_line_magic("mlops_drift", f"{tmp_path / 'ref.csv'} {tmp_path / 'cur.csv'} "
                          "--no-multivariate")
    reason = r.skipped.set_index("column").loc["timestamp", "reason"]
    assert reason.startswith("datetime column")
    assert main(["mlops", "drift", str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv"),
                 "--no-multivariate"]) == int(r.dataset_drift)
    assert f"skipped timestamp: {reason}" in capsys.readouterr().out
    assert r.columns.equals(mlops.drift(scenario.reference, scenario.current,
                                        multivariate=False).columns)


def test_magic_errors_are_one_line_usage_errors(ip, scenario):
    ip.user_ns["s"] = scenario
    with pytest.raises(UsageError, match="neither a variable"):
        ip.run_line_magic("mlops_drift", "nothere s.current")
    with pytest.raises(UsageError, match=r"column\(s\) \['nope'\] not found"):
        ip.run_line_magic("mlops_drift", "s.reference s.current --columns nope")
    with pytest.raises(UsageError, match="unknown method"):
        ip.run_line_magic("mlops_drift", "s.reference s.current --method magic")
    with pytest.raises(UsageError, match="not a pandas frequency"):
        ip.run_line_magic("mlops_monitor", "s.current --window often")


def test_quality_and_monitor_magics(ip, scenario):
    ip.user_ns["s"] = scenario
    q = ip.run_line_magic("mlops_quality", "s.current --reference s.reference -o q")
    assert "plan" in set(q.issues["column"]) and ip.user_ns["q"] is q
    m = ip.run_line_magic("mlops_monitor", "s.current --y-score score --reference s.reference "
                          "--kpi accuracy,roc_auc -o m")
    assert m.retrain and m.kpis == ["accuracy", "roc_auc"]
    assert "kpi_over_time" in {c["name"] for c in m.to_payload()["charts"]}
    ip.run_line_magic("ops_report", "r.html")
    assert "Model monitoring" in open("r.html", encoding="utf-8").read()


def test_cli_gate_exit_codes(tmp_path, scenario, capsys):
    s = scenario
    ref, cur, same = tmp_path / "ref.parquet", tmp_path / "cur.csv", tmp_path / "same.parquet"
    s.reference.to_parquet(ref)
    s.current.to_csv(cur, index=False)
    s.reference.sample(frac=1.0, random_state=1).to_parquet(same)
    cols = "customer_age,income,plan,region"
    assert main(["mlops", "drift", str(ref), str(cur), "--columns", cols,
                 "--report", str(tmp_path / "d.html")]) == 1
    assert "Dataset drift detected" in capsys.readouterr().out
    assert (tmp_path / "d.html").read_text().startswith("<!DOCTYPE html>")
    assert main(["mlops", "drift", str(ref), str(same), "--no-multivariate"]) == 0
    assert main(["mlops", "drift", str(ref), str(tmp_path / "missing.csv")]) == 2
    assert main(["mlops", "drift", str(ref), str(cur), "--columns", "nope"]) == 2
    assert "not found" in capsys.readouterr().err
    prof = tmp_path / "ref.json"
    assert main(["mlops", "profile", str(ref), str(prof)]) == 0
    assert main(["mlops", "drift", str(prof), str(cur), "--columns", cols]) == 1
    assert main(["mlops", "quality", str(cur), "--reference", str(prof)]) == 1  # new plans
    assert main(["mlops", "quality", str(same), "--reference", str(ref)]) == 0
    assert main(["mlops", "monitor", str(cur), "--y-score", "score"]) == 1
    assert "Retrain advised" in capsys.readouterr().out


def test_results_log_into_active_mlflow_run(mlflow_uri, scenario):
    import mlflow

    with mlflow.start_run() as run:
        d = mlops.drift(scenario.reference, scenario.current, columns=scenario.features,
                        multivariate=False)
        mlops.monitor(scenario.current, reference=scenario.reference)
    data = mlflow.get_run(run.info.run_id).data
    assert data.metrics["drift.share_drifted"] == pytest.approx(d.share_drifted, abs=1e-3)
    assert any(k.startswith("monitor.") for k in data.metrics)
    client = mlflow.MlflowClient()
    names = {a.path for a in client.list_artifacts(run.info.run_id, "jupyter_ops/drift/0")}
    assert any(n.endswith("result.json") for n in names)
    path = client.download_artifacts(run.info.run_id, "jupyter_ops/drift/0/result.json")
    assert json.load(open(path))["kind"] == "drift"
