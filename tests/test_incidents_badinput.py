"""Bad input to the incident functions: each gets a correct result or a message naming it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.aiops import correlate, ops_metrics, rank_root_causes, timeline
from jupyter_ops.errors import OpsInputError


def alerts(n: int = 3, **cols) -> pd.DataFrame:
    base = {"timestamp": pd.date_range("2026-01-05 10:00", periods=n, freq="1min", tz="UTC"),
            "service": ["api"] * n, "name": ["HighErrorRate"] * n,
            "severity": ["error"] * n}
    base.update(cols)
    return pd.DataFrame(base)


def test_missing_column_names_it_and_the_columns_found():
    df = alerts().drop(columns="service")
    with pytest.raises(OpsInputError, match=r"alerts are missing column 'service'; columns "
                                            r"found: timestamp, name, severity"):
        correlate(df)


def test_empty_frame_is_named_empty():
    with pytest.raises(OpsInputError, match=r"the alerts are empty \(0 rows\)"):
        correlate(alerts().iloc[:0])


def test_unparseable_timestamps_name_the_row():
    df = alerts(timestamp=["2026-01-05T10:00:00Z", "yesterday-ish", "2026-01-05T10:02:00Z"])
    # the message is the loaders' (one timestamp parser for the package)
    with pytest.raises(OpsInputError, match=r"row 1: 'yesterday-ish'"):
        correlate(df)


def test_mixed_time_zones_follow_the_loaders_rule():
    from jupyter_ops.io import load_alerts

    df = alerts(timestamp=["2026-01-05T10:00:00+01:00", "2026-01-05 10:01:00",
                           "2026-01-05T10:02:00Z"])
    try:
        loaded = load_alerts(df)
    except OpsInputError as e:  # a loader that refuses mixed zones: correlate refuses too
        with pytest.raises(OpsInputError, match=str(e)[:30].replace("(", r"\(")):
            correlate(df)
    else:
        pd.testing.assert_series_equal(correlate(df).alerts["timestamp"], loaded["timestamp"])


def test_consistent_offsets_are_converted_to_utc():
    df = alerts(timestamp=["2026-01-05T11:00:00+01:00", "2026-01-05T10:01:00Z",
                           "2026-01-05T05:02:00-05:00"])
    c = correlate(df)
    assert str(c.alerts["timestamp"].dt.tz) == "UTC"
    assert c.alerts["timestamp"].dt.hour.tolist() == [10, 10, 10]
    assert len(c.incidents) == 1


def test_nan_severities_become_unknown_and_still_group():
    df = alerts(severity=[np.nan, "CRIT", None], name=["A", "B", "C"])
    c = correlate(df)
    assert c.alerts["severity"].tolist() == ["unknown", "critical", "unknown"]
    assert len(c.incidents) == 1 and c.incidents.loc[0, "max_severity"] == "critical"


def test_bad_parameters_are_named():
    with pytest.raises(OpsInputError, match=r"window='soon' is not a duration"):
        correlate(alerts(), window="soon")
    with pytest.raises(OpsInputError, match=r"min_severity='loud' is not one of"):
        correlate(alerts(), min_severity="loud")
    with pytest.raises(OpsInputError, match=r"by='team': the alerts have no column 'team' and "
                                            r"no label 'team'"):
        correlate(alerts(), by="team")
    with pytest.raises(OpsInputError, match=r"topology is missing column 'callee'"):
        correlate(alerts(), topology=pd.DataFrame({"caller": ["a"], "to": ["b"]}))
    with pytest.raises(OpsInputError, match=r"alerts must be a DataFrame or a file path"):
        correlate(42)


def test_other_functions_name_their_problems():
    c = correlate(alerts())
    with pytest.raises(OpsInputError, match=r"no incident 9; incident ids run from 1 to 1"):
        c.explain(9)
    with pytest.raises(OpsInputError, match=r"timeline\(correlation\) needs incident_id="):
        timeline(c)
    with pytest.raises(OpsInputError, match=r"rank_root_causes needs a Correlation"):
        rank_root_causes(3.5)
    with pytest.raises(OpsInputError, match=r"deploys are missing column 'service'"):
        rank_root_causes(c, deploys=pd.DataFrame({"timestamp": ["2026-01-05"]}))
    with pytest.raises(OpsInputError, match=r"assignments have 2 rows but the alerts have 3"):
        ops_metrics(alerts(), pd.DataFrame({"incident_id": [1], "start": ["2026-01-05"]}),
                    assignments=pd.Series([1, 1]))
    with pytest.raises(OpsInputError, match=r"which alert belongs to which incident"):
        ops_metrics(alerts(), pd.DataFrame({"incident_id": [1], "start": ["2026-01-05"]}))
