"""The SCM root-cause scenario family: deterministic, ground truth consistent, options honoured."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_ops.datasets.rcascenarios import scm_scenario, scm_scenarios
from jupyter_ops.errors import OpsInputError


def test_same_seed_same_scenario_and_truth_is_consistent():
    a, b = scm_scenario(seed=3), scm_scenario(seed=3)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    pd.testing.assert_frame_equal(a.alerts, b.alerts)
    assert a.root_causes == b.root_causes
    nodes = set(a.topology["caller"]) | set(a.topology["callee"])
    assert set(a.root_causes) <= nodes and set(a.sli) <= nodes
    assert not set(a.root_causes) & set(a.sli)  # a user-facing service is never the root
    assert set(a.sli).isdisjoint(set(a.topology["callee"]))
    assert a.metrics["service"].nunique() == 20


def test_options_never_alerting_root_sli_only_two_roots_and_fan_in():
    s = scm_scenario(seed=5, root_alerts="never", fan_in=True, roots=2, fault="noise",
                     link="nonlinear")
    assert len(s.root_causes) == 2
    assert not s.alerts["service"].isin(s.root_causes).any()
    assert (s.topology["callee"] == "shared-db").sum() >= 20 // 3
    sli = scm_scenario(seed=5, alerts="sli")
    assert len(sli.alerts) and sli.alerts["service"].isin(sli.sli).all()
    # the incident is visible to users: a user-facing alert after the fault
    assert (sli.alerts["timestamp"] >= sli.fault_time).any()


def test_a_set_varies_and_bad_options_are_named():
    ss = scm_scenarios(8, seed=1)
    assert len({s.params["fault"] for s in ss}) == 2
    with pytest.raises(OpsInputError, match="fault='spike'"):
        scm_scenario(fault="spike")
    with pytest.raises(OpsInputError, match="n_services=3"):
        scm_scenario(n_services=3)
