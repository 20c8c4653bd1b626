"""correlate on alert text as it really is (numbers and ids in messages) and on a steady stream:
templates instead of messages, identical results where messages have no numbers, no endless
chaining, and one answer through every door (raw frame, file, loaded frame, magic, CLI)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.aiops import AlertCorrelator, correlate
from jupyter_ops.aiops._corr_similarity import template, templates
from jupyter_ops.datasets import incident_scenario


def numbered(alerts: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The same alerts with numbers and ids appended to every message (all distinct)."""
    rng = np.random.default_rng(seed)
    n = len(alerts)
    ms = rng.integers(100, 5000, n)
    pod = rng.integers(0, 9, n)
    hx = rng.integers(0, 2**31, n)
    msg = [f"{m} p99 {a}ms > 800ms on pod-{p} id=0x{h:08x}"
           for m, a, p, h in zip(alerts["message"], ms, pod, hx, strict=True)]
    return alerts.assign(message=msg)


def test_templates_mask_words_with_digits_like_the_scalar_rule():
    texts = pd.Series(["p99 latency 1345ms > 800ms on redis-0", "no digits here", "",
                       "é1 x_2y abc", "HighLatency", "foo bar9 baz", "id=0xdeadbeef"])
    codes, uniq = templates(texts)
    assert [uniq[c] for c in codes] == [template(t) for t in texts]
    assert template("p99 latency 1345ms > 800ms on redis-0") == " latency  >  on redis-"
    assert template("no digits here") == "no digits here"
    # object columns (pandas 2) and Arrow strings (pandas 3) agree, missing values are ""
    c2, u2 = templates(texts.astype(object))
    assert [u2[c] for c in c2] == [uniq[c] for c in codes]
    c3, u3 = templates(pd.Series(["a", None, "b1"], dtype=object))
    assert [u3[c] for c in c3] == ["a", "", ""]


def test_numbers_in_messages_do_not_change_the_grouping():
    s = incident_scenario(seed=3, with_metrics=False, with_logs=False)
    plain = correlate(s.alerts, topology=s.topology)
    noisy = correlate(numbered(s.alerts), topology=s.topology)
    # the messages now differ in every alert; as templates they are the old ones plus a
    # constant tail, so similarity links (and so the incidents) stay the same
    assert noisy.alerts["message"].nunique() == len(s.alerts)
    pd.testing.assert_series_equal(plain.assignments, noisy.assignments)


def test_messages_without_numbers_give_the_result_of_the_unmasked_rule():
    from jupyter_ops.aiops._corr_similarity import _message_templates

    s = incident_scenario(seed=5, with_metrics=False, with_logs=False)
    msgs = s.alerts["message"].str.replace(r"\d", "", regex=True)
    codes, uniq = _message_templates(msgs)
    # no digit anywhere: every template is its message (so tokens, links are unchanged)
    assert [uniq[c] for c in codes] == list(msgs)
    ref_codes, _ = pd.factorize(msgs)
    np.testing.assert_array_equal(codes, ref_codes)


def test_many_distinct_numeric_messages_take_the_vectorised_path_and_agree():
    from jupyter_ops.aiops._corr_similarity import _message_templates

    rng = np.random.default_rng(1)
    msgs = pd.Series([f"disk {v}% on node-{k}" for v, k in
                      zip(rng.integers(0, 10**6, 30_000), rng.integers(0, 50, 30_000),
                          strict=True)])
    codes, uniq = _message_templates(msgs)  # > 20k rows, mostly distinct: row-by-row mask
    assert list(uniq) == ["disk % on node-"]
    assert (codes == 0).all()
    small, su = _message_templates(msgs.head(1000))  # dedup-first path: same answer
    assert list(su) == list(uniq) and (small == 0).all()


def steady_stream(days: float = 7, per_minute: float = 2.0, services: int = 65,
                  seed: int = 0) -> pd.DataFrame:
    """Unrelated alerts at a constant rate: no incident in them, just background."""
    rng = np.random.default_rng(seed)
    n = int(days * 24 * 60 * per_minute)
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    ts = t0 + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400, n)), unit="s")
    svc = rng.integers(0, services, n)
    return pd.DataFrame({
        "timestamp": ts, "service": [f"svc-{k}" for k in svc],
        "name": rng.choice(["HighLatency", "ErrorRate", "DiskFull"], n),
        "severity": rng.choice(["warning", "error", "critical"], n),
        "message": [f"value {v}" for v in rng.integers(0, 1000, n)]})


def test_a_steady_stream_does_not_chain_into_one_incident():
    a = steady_stream()
    uncapped = correlate(a, max_span=None)
    # what the cap is for: time-only links chain a week into one or two groups
    assert len(uncapped.incidents) <= 2
    c = correlate(a)
    assert c.params["max_span"] == "0 days 04:00:00"
    days = (a["timestamp"].max() - a["timestamp"].min()) / pd.Timedelta("4h")
    assert len(c.incidents) >= int(days)
    assert (c.incidents["duration"] < pd.Timedelta("4h")).all()
    # the cut is said in words: in the method text and on the alert where it was made
    rules = dict(c.explanations())["How alerts were grouped"]
    assert "cut into pieces of 0 days 04:00:00" in rules
    second = c.explain(2)
    assert "max_span" in second["reason"].iloc[0]
    assert second["joined"].isna().iloc[0]


def test_the_cap_leaves_the_generated_incidents_alone():
    s = incident_scenario(seed=0, with_metrics=False, with_logs=False)
    a = correlate(s.alerts, topology=s.topology)
    b = correlate(s.alerts, topology=s.topology, max_span=None)
    pd.testing.assert_series_equal(a.assignments, b.assignments)


def test_streaming_applies_the_same_cap():
    a = steady_stream(days=1)
    ac = AlertCorrelator()
    for lo in range(0, len(a), 700):
        ac.update(a.iloc[lo:lo + 700])
    res = ac.result()
    assert (res.incidents["duration"] < pd.Timedelta("4h")).all()
    assert len(res.incidents) >= 6


def test_max_span_must_hold_a_window():
    from jupyter_ops.errors import OpsInputError

    with pytest.raises(OpsInputError, match="max_span"):
        correlate(steady_stream(days=0.01), window="10min", max_span="5min")


@pytest.mark.parametrize("numeric", [False, True])
def test_the_input_digest_depends_on_the_alerts_only(numeric):
    """The provenance digest reuses the linking's factorizations; with or without them (and
    with similarity on or off, which caches more of them) it is the same, and one changed
    message changes it."""
    from jupyter_ops.aiops._corr_link import _hashable
    from jupyter_ops.aiops._incidents import canonical_alerts

    s = incident_scenario(seed=3, n_alerts=25_000, with_metrics=False, with_logs=False)
    al = numbered(s.alerts) if numeric else s.alerts
    on = correlate(al, topology=s.topology).provenance["inputs"]["alerts"]
    off = correlate(al, topology=s.topology, similarity=None).provenance["inputs"]["alerts"]
    bare = _hashable(canonical_alerts(al))
    assert on == off == bare
    changed = al.copy()
    changed.loc[changed.index[7], "message"] = "something else entirely"
    assert _hashable(canonical_alerts(changed)) != bare
