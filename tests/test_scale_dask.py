"""The core's calls on a real Dask cluster equal the single-process calls (jupyter_ops.scale).

One ``LocalCluster(processes=True, n_workers=2, threads_per_worker=1)`` (a scheduler and two
worker processes) serves the whole module. Under CI=true a missing Dask fails (the 'test'
extra installs it); elsewhere the module is skipped without it.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.errors import OpsInputError

if os.environ.get("CI") != "true":
    pytest.importorskip("distributed")
import dask  # noqa: E402
import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    # the workers import this worktree's jupyter_ops (PYTHONPATH is inherited)
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with dask.config.set({"distributed.nanny.environ": env}), \
            LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                         host="127.0.0.1", dashboard_address=":0",
                         memory_limit="1GB") as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(autouse=True)
def _keep_objects():
    # object columns stay objects (Dask would make 1 and "1" the same string)
    with dask.config.set({"dataframe.convert-string": False}):
        yield


def _frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(shift, 1, n),
        "r": rng.normal(0, 1, n).round(1),
        "k": rng.choice(["a", "b", "c", "d"], n, p=[.4, .3, .2, .1]).astype(object),
        "i": rng.integers(0, 4, n),
        "m": pd.Series(rng.choice(np.array(["x", 1, 2.5, None], dtype=object), n), dtype=object),
        "t": pd.date_range("2024-01-01", periods=n, freq="min"),
        "b": rng.random(n) < 0.3,
    })


def _same_drift(a, b) -> None:
    pd.testing.assert_frame_equal(a.columns, b.columns, check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(a.distributions, b.distributions, check_exact=False,
                                  rtol=1e-9)
    pd.testing.assert_frame_equal(a.skipped, b.skipped)
    assert a.multivariate == b.multivariate
    assert a.dataset_drift == b.dataset_drift


# -- drift / profile ------------------------------------------------------------------------
@pytest.mark.parametrize("n_ref", [800, 3000])  # p-value tests (KS, chi2) and distances
def test_drift_equals_single_process(client, n_ref):
    ref, cur = _frame(n_ref, 0.0, 1), _frame(900, 0.15, 2)
    cur.loc[5:40, "x"] = np.nan
    cols = ["x", "r", "k", "i", "m", "t", "b"]
    a = drift_call(ref, cur, cols)
    b = drift_call(dd.from_pandas(ref, npartitions=4), dd.from_pandas(cur, npartitions=3), cols,
                   client=client)
    _same_drift(a, b)
    if n_ref <= 1000:
        assert set(a.columns["test"]) >= {"ks", "chisquare"}
        assert np.allclose(a.columns["p_value"].dropna(), b.columns["p_value"].dropna(),
                           rtol=0, atol=1e-9)
    assert b.scale["workers"] == 2 and b.scale["dashboard"]


def drift_call(ref, cur, cols, **kw):
    from jupyter_ops.mlops import drift

    return drift(ref, cur, columns=cols, log=False, **kw)


def test_drift_from_parquet_paths_and_profile(client, tmp_path):
    from jupyter_ops.mlops import drift, profile

    ref, cur = _frame(2000, 0.0, 3), _frame(2000, 0.3, 4)
    ref, cur = ref.drop(columns=["m"]), cur.drop(columns=["m"])
    paths = []
    for i, (lo, hi) in enumerate([(0, 600), (600, 1300), (1300, 2000)]):
        part = cur.iloc[lo:hi]
        p = tmp_path / f"cur-{i}.parquet"
        part.to_parquet(p)
        paths.append(str(p))
    a = drift(ref, cur, log=False)
    b = drift(ref, paths, engine="dask", client=client, log=False)
    _same_drift(a, b)
    # profiles of the partitions merge into the single-process profile
    pa = profile(ref)
    pb = profile(dd.from_pandas(ref, npartitions=5), client=client)
    assert pa == pb
    a2 = drift(pa, cur, log=False)
    b2 = drift(pb, dd.from_pandas(cur, npartitions=2), client=client, log=False)
    pd.testing.assert_frame_equal(a2.columns, b2.columns, check_exact=False, rtol=1e-9)


def test_empty_partition_changes_nothing(client):
    ref, cur = _frame(1500, 0.0, 5), _frame(1500, 0.2, 6)
    parts = [cur.iloc[:700], cur.iloc[:0], cur.iloc[700:]]
    ddf = dd.from_delayed([dask.delayed(p) for p in parts], meta=cur.iloc[:0])
    a = drift_call(ref, cur, None)
    b = drift_call(ref, ddf, None, client=client)
    _same_drift(a, b)


def test_partitions_with_different_schemas_fail_clearly(client, tmp_path):
    from jupyter_ops.mlops import drift

    ref = _frame(500, 0.0, 7).drop(columns=["m"])
    good = ref.copy()
    bad = ref.copy()
    bad["x"] = bad["x"].astype(str)  # numbers in one file, text in another
    ddf = dd.from_delayed([dask.delayed(good), dask.delayed(bad)], meta=good.iloc[:0],
                          verify_meta=False)
    with pytest.raises(OpsInputError, match=r"column 'x' is .* in partition 1"):
        drift(ref, ddf, client=client, log=False)
    other = ref.rename(columns={"r": "r2"})
    ddf2 = dd.from_delayed([dask.delayed(good), dask.delayed(other)], meta=good.iloc[:0],
                           verify_meta=False)
    with pytest.raises(OpsInputError, match="partition 1 has other columns"):
        drift(ref, ddf2, client=client, log=False)


def test_unreachable_scheduler_is_a_clear_error():
    from jupyter_ops.mlops import drift
    from jupyter_ops.scale import _dask

    ref = _frame(200, 0.0, 8)
    old = _dask.CONNECT_TIMEOUT
    _dask.CONNECT_TIMEOUT = 2
    try:
        with pytest.raises(OpsInputError, match="cannot reach the Dask scheduler at"):
            drift(ref, ref, engine="dask", client="tcp://127.0.0.1:9", log=False)
    finally:
        _dask.CONNECT_TIMEOUT = old


def test_bad_engine_and_input():
    from jupyter_ops.mlops import drift

    ref = _frame(100, 0.0, 9)
    with pytest.raises(OpsInputError, match="engine must be None or 'dask'"):
        drift(ref, ref, engine="spark", log=False)
    with pytest.raises(OpsInputError, match="not found"):
        drift(ref, ["/nonexistent/x.parquet"], engine="dask", log=False)


def _hold_first_task(marker: str) -> None:
    """In a worker: the first task to get here writes its pid to the marker and holds for 3 s,
    while the test kills that worker; every later task (the rerun too) goes straight on. So the
    kill always lands on a running task, whatever the machine's speed."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    time.sleep(3)


def _kill_the_holding_worker(marker: Path) -> list[float]:
    """SIGKILL the worker that holds the first task (see :func:`_hold_first_task`); the returned
    list gets the time of the kill."""
    import threading

    killed: list[float] = []

    def kill():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pid = marker.read_text() if marker.exists() else ""
            if pid:  # (empty between the worker's create and write)
                os.kill(int(pid), 9)
                killed.append(time.monotonic())
                return
            time.sleep(0.01)

    threading.Thread(target=kill, daemon=True).start()
    return killed


def _slow_summary(df, kinds, forced=(), *, marker: str):
    from jupyter_ops.scale.summary import summarise

    _hold_first_task(marker)
    return summarise(df, kinds, forced)


def test_worker_killed_mid_task_result_still_exact(client, monkeypatch, tmp_path):
    """A worker dies while summarising: the nanny restarts it, Dask reruns its tasks, and the
    merged result is still the single-process one (partial states are pure functions)."""
    import cloudpickle

    import jupyter_ops.scale.drift as sd

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    ref, cur = _frame(1200, 0.0, 10), _frame(1200, 0.25, 11)
    a = drift_call(ref, cur, None)
    # (the marker travels with the task: a partial of a function pickled by value)
    monkeypatch.setattr(sd, "summarise",
                        functools.partial(_slow_summary, marker=str(tmp_path / "held")))
    before = set(client.run(os.getpid).values())
    killed = _kill_the_holding_worker(tmp_path / "held")
    b = drift_call(dd.from_pandas(ref, npartitions=6), dd.from_pandas(cur, npartitions=6), None,
                   client=client)
    assert killed, "no worker was killed while a task ran"
    _same_drift(a, b)
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != before  # a worker really died


# -- log templates ---------------------------------------------------------------------------
def _loghub_lines(shared_data: Path) -> list[str]:
    lines: list[str] = []
    for name in ("HDFS", "Linux", "OpenSSH", "Spark"):
        p = shared_data / "loghub-2k" / name / f"{name}_2k.log"
        lines += p.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


@pytest.mark.parametrize("k", [1, 3, 9])
def test_templates_k_partitions_merged_equal_single_pass(client, shared_data, k):
    from jupyter_ops.aiops import mine_templates

    lines = _loghub_lines(shared_data)
    lines[10] = ""  # an empty line is counted as an issue on both paths
    a = mine_templates(lines)
    b = mine_templates(db.from_sequence(lines, npartitions=k), client=client)
    pd.testing.assert_frame_equal(a.templates, b.templates)
    assert a.issues == b.issues and a.n_lines == b.n_lines


def test_templates_from_frame_and_files(client, shared_data, tmp_path):
    from jupyter_ops.aiops import mine_templates

    lines = _loghub_lines(shared_data)
    df = pd.DataFrame({"message": lines,
                       "timestamp": pd.date_range("2024-01-01", periods=len(lines), freq="s")})
    a = mine_templates(df)
    b = mine_templates(dd.from_pandas(df, npartitions=4), client=client)
    pd.testing.assert_frame_equal(a.templates, b.templates)
    files = []
    for i, chunk in enumerate(np.array_split(np.array(lines, dtype=object), 3)):
        p = tmp_path / f"part{i}.log"
        p.write_text("\n".join(chunk) + "\n", encoding="utf-8")
        files.append(p)
    c = mine_templates(files, engine="dask", client=client)
    pd.testing.assert_frame_equal(mine_templates(lines).templates, c.templates)


def test_merge_states_is_associative():
    from jupyter_ops.aiops._logparser import ParserState
    from jupyter_ops.scale.logs import merge_states

    lines = [f"user {i % 7} logged in from 10.0.0.{i % 5}" for i in range(50)] + \
        [f"disk {i} full" for i in range(20)] + ["boot ok"] * 3
    parts = [lines[:20], lines[20:55], lines[55:]]
    states = []
    for p in parts:
        s = ParserState()
        s.add(p)
        states.append(s)
    left = merge_states(merge_states(states[0], states[1]), states[2])
    right = merge_states(states[0], merge_states(states[1], states[2]))
    whole = ParserState()
    whole.add(lines)
    for s in (left, right):
        s.regroup()
    whole.regroup()
    assert left.to_dict() == right.to_dict() == whole.to_dict()


# -- anomalies ----------------------------------------------------------------------------------
def _metrics(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-01-01", periods=500, freq="5min", tz="UTC")
    rows = []
    for s in ["api", "db", "web", "cache", "queue"]:
        for m in ["cpu", "lat"]:
            v = rng.normal(10, 1, len(ts))
            v[300:304] += 12
            rows.append(pd.DataFrame({"timestamp": ts, "service": s, "metric": m, "value": v}))
    return pd.concat(rows).sample(frac=1, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("kw", [{}, {"method": "iforest"}, {"service": "db"}])
def test_anomalies_equal_single_process(client, kw):
    from jupyter_ops.aiops import detect_anomalies

    df = _metrics(3)
    a = detect_anomalies(df, **kw)
    b = detect_anomalies(dd.from_pandas(df, npartitions=4), client=client, **kw)
    for name in ("anomalies", "episodes", "methods"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.anomalies["is_anomaly"].any()


# -- correlation ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed,shuffled", [(0, False), (2, True)])
def test_correlate_slices_equal_single_process(client, seed, shuffled):
    """The alerts stay on the workers (loaded per partition, cut into time bins, then slices);
    incidents cross the input partitions' edges (shuffled: every partition spans the whole
    time range) and the time bins' edges (more bins than quiet gaps) and are stitched: the
    assignments, incidents and dedup counts equal the single-process call."""
    from jupyter_ops.aiops import correlate
    from jupyter_ops.datasets import incident_scenario

    s = incident_scenario(seed=seed, hours=48, n_incidents=30, with_metrics=False,
                          with_logs=False)
    alerts = s.alerts.sample(frac=1, random_state=seed) if shuffled else s.alerts
    a = correlate(alerts, topology=s.topology)
    ddf = dd.from_pandas(alerts, npartitions=3, sort=False)
    b = correlate(ddf, topology=s.topology, client=client)
    assert b.scale["slices"] > 1  # really cut, not one slice
    assert b.scale["time_bins"] > b.scale["slices"]  # bin edges fall inside incidents
    pd.testing.assert_series_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.incidents.reset_index(drop=True),
                                  b.incidents.reset_index(drop=True))
    assert a.dedup == b.dedup
    # an incident with alerts in two input partitions was joined
    part_of = pd.Series(np.repeat(np.arange(3), ddf.map_partitions(len).compute().to_numpy()),
                        index=alerts.index)
    spread = pd.DataFrame({"inc": b.assignments, "part": part_of}).dropna() \
        .groupby("inc")["part"].nunique()
    assert (spread > 1).any()


def test_quiet_cuts_respect_resolution_and_flapping():
    from jupyter_ops.scale.correlate import quiet_cuts

    m = 60 * 10**9
    ts = np.array([0, 1, 20, 21, 60], dtype=np.int64) * m
    nat = np.iinfo(np.int64).min
    assert quiet_cuts(ts, None, 5 * m).tolist() == [2, 4]
    res = np.array([nat, 30, nat, nat, nat], dtype=np.int64) * 1
    res[1] = 30 * m  # still firing at minute 30: no cut before minute 30
    assert quiet_cuts(ts, res, 5 * m).tolist() == [4]
    assert quiet_cuts(ts, None, 5 * m, blocked=[(0, 21 * m)]).tolist() == [4]


# -- no Dask unless asked ----------------------------------------------------------------------
def test_core_does_not_import_dask():
    code = ("import sys, pandas as pd\n"
            "import jupyter_ops\n"
            "from jupyter_ops.mlops import drift, profile, check_quality\n"
            "from jupyter_ops.aiops import mine_templates, detect_anomalies, correlate\n"
            "df = pd.DataFrame({'x': range(50)})\n"
            "drift(df, df, log=False); profile(df); mine_templates(['a b', 'a c'])\n"
            "check_quality(df, reference=df)\n"
            "bad = [m for m in sys.modules if m == 'dask' or m.startswith(('dask.', "
            "'distributed'))]\n"
            "print(bad)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- data quality ------------------------------------------------------------------------------
def _quality_frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = _frame(n, shift, seed)
    df["m"] = pd.Series(rng.choice(np.array(["x", 1, 2.5, None, 1.0, True], dtype=object), n),
                        dtype=object)  # 1 == 1.0 == True: one value for pandas
    df["t"] = df["t"].where(rng.random(n) < 0.5, pd.Timestamp("2024-01-01"))
    df["txt"] = pd.Series([f"free text message number {v} with a few more words"
                           for v in rng.integers(0, 2 * n, n)], dtype=object)
    return df


@pytest.mark.parametrize("ref_kind", ["frame", "profile", "dask"])
def test_check_quality_equals_single_process(client, ref_kind):
    """Issues and the column table equal the single-process call, including exact duplicate
    rows and distinct values of datetime/text columns (hash shuffle), with an empty
    partition in the middle."""
    from jupyter_ops.mlops import check_quality, profile

    ref, cur = _quality_frame(900, 0.0, 12), _quality_frame(800, 0.3, 13)
    cur.loc[3:40, "x"] = np.nan
    cur.loc[50:60, "x"] = np.inf
    cur.loc[5, "k"] = "never seen"
    cur = pd.concat([cur, cur.iloc[100:130], cur.iloc[[1, 1, 1]]], ignore_index=True)
    parts = [cur.iloc[:300], cur.iloc[:0], cur.iloc[300:700], cur.iloc[700:]]
    ddf = dd.from_delayed([dask.delayed(p) for p in parts], meta=cur.iloc[:0])
    schema = {"x": "numeric", "k": "text", "absent": None}
    reference = {"frame": ref, "profile": profile(ref),
                 "dask": dd.from_pandas(ref, npartitions=3)}[ref_kind]
    a = check_quality(cur, reference=ref if ref_kind == "dask" else reference, schema=schema)
    b = check_quality(ddf, reference=reference, schema=schema, client=client)
    pd.testing.assert_frame_equal(a.issues, b.issues)
    pd.testing.assert_frame_equal(a.summary_table, b.summary_table)
    assert {"duplicate_rows", "unseen_categories", "infinite", "schema_type"} <= \
        set(b.issues["check"])
    assert b.scale["workers"] == 2 and b.scale["buckets"] >= 4


def test_check_quality_schema_mismatch_names_partition(client):
    from jupyter_ops.mlops import check_quality

    good = _frame(300, 0.0, 14).drop(columns=["m"])
    bad = good.copy()
    bad["i"] = bad["i"].astype(str)
    ddf = dd.from_delayed([dask.delayed(good), dask.delayed(bad)], meta=good.iloc[:0],
                          verify_meta=False)
    with pytest.raises(OpsInputError, match=r"column 'i' is .* in partition 1"):
        check_quality(ddf, client=client)


# -- forecasts ---------------------------------------------------------------------------------
def test_forecast_and_breach_equal_single_process(client):
    """Series spread over the workers: forecasts, models, history and breaches equal the
    single-process calls (jupyter_ops.scale.forecast / time_to_breach)."""
    from jupyter_ops import scale
    from jupyter_ops.aiops import forecast, time_to_breach

    rng = np.random.default_rng(15)
    ts = pd.date_range("2024-01-01", periods=150, freq="30min", tz="UTC")
    rows = [pd.DataFrame({"timestamp": ts, "service": s, "metric": m,
                          "value": 50 + 0.1 * np.arange(150) + rng.normal(0, 1, 150)})
            for s in ("api", "db", "web") for m in ("cpu", "disk")]
    df = pd.concat(rows).sample(frac=1, random_state=15).reset_index(drop=True)
    ddf = dd.from_pandas(df, npartitions=3)
    a, b = forecast(df, horizon="3h"), scale.forecast(ddf, horizon="3h", client=client)
    for name in ("forecasts", "models", "history"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert b.scale["workers"] == 2 and b.scale["groups"] == 4
    a = time_to_breach(df, threshold=60, horizon="12h")
    b = scale.time_to_breach(ddf, threshold=60, horizon="12h", client=client)
    pd.testing.assert_frame_equal(a.breaches, b.breaches)
    assert a.params == b.params
    # the public calls dispatch a Dask DataFrame to the same adapter
    c = time_to_breach(ddf, threshold=60, horizon="12h", client=client)
    pd.testing.assert_frame_equal(a.breaches, c.breaches)
    pd.testing.assert_frame_equal(forecast(df, horizon="3h").forecasts,
                                  forecast(ddf, horizon="3h", client=client).forecasts)
    short = pd.concat([df, pd.DataFrame({"timestamp": ts[:4], "service": "tiny",
                                         "metric": "cpu", "value": 1.0})], ignore_index=True)
    with pytest.raises(OpsInputError, match="tiny/cpu: 4 points are too few"):
        scale.forecast(dd.from_pandas(short, npartitions=2), client=client)


# -- bad input across the calls ------------------------------------------------------------------
def test_empty_partitions_and_partition_schemas_logs_alerts(client, shared_data):
    """An empty partition changes nothing for log mining and correlation; a log partition
    without 'message' is named in the error."""
    from jupyter_ops.aiops import correlate, mine_templates
    from jupyter_ops.datasets import incident_scenario

    lines = _loghub_lines(shared_data)[:3000]
    bag = db.from_delayed([dask.delayed(lines[:1000]), dask.delayed([]),
                           dask.delayed(lines[1000:])])
    pd.testing.assert_frame_equal(mine_templates(lines).templates,
                                  mine_templates(bag, client=client).templates)
    good = pd.DataFrame({"message": lines[:50]})
    bad = pd.DataFrame({"text": lines[50:100]})
    frames = dd.from_delayed([dask.delayed(good), dask.delayed(bad)], meta=good.iloc[:0],
                             verify_meta=False)
    with pytest.raises(OpsInputError, match="partition 1 of the logs has no 'message'"):
        mine_templates(frames, client=client)
    s = incident_scenario(seed=1, hours=24, n_incidents=12, with_metrics=False,
                          with_logs=False)
    al = s.alerts
    ddf = dd.from_delayed([dask.delayed(al.iloc[:400]), dask.delayed(al.iloc[:0]),
                           dask.delayed(al.iloc[400:])], meta=al.iloc[:0])
    a, b = correlate(al, topology=s.topology), correlate(ddf, topology=s.topology,
                                                         client=client)
    pd.testing.assert_series_equal(a.assignments, b.assignments)
    empty = dd.from_pandas(al.iloc[:0], npartitions=1)
    with pytest.raises(OpsInputError, match="alerts are empty"):
        correlate(empty, client=client)


def test_unreachable_scheduler_every_call():
    from jupyter_ops import scale
    from jupyter_ops.aiops import correlate, detect_anomalies, mine_templates
    from jupyter_ops.mlops import check_quality, profile
    from jupyter_ops.scale import _dask

    df = _frame(50, 0.0, 16)
    calls = [lambda a: profile(df, engine="dask", client=a),
             lambda a: check_quality(df, engine="dask", client=a),
             lambda a: mine_templates(["a b", "a c"], engine="dask", client=a),
             lambda a: detect_anomalies(_metrics(1), engine="dask", client=a),
             lambda a: scale.forecast(_metrics(1), client=a),
             lambda a: correlate(pd.DataFrame({"timestamp": ["2024-01-01"], "service": ["x"]}),
                                 engine="dask", client=a)]
    old = _dask.CONNECT_TIMEOUT
    _dask.CONNECT_TIMEOUT = 1
    try:
        for call in calls:
            with pytest.raises(OpsInputError, match="cannot reach the Dask scheduler at"):
                call("tcp://127.0.0.1:9")
    finally:
        _dask.CONNECT_TIMEOUT = old


def _slow_slice(pieces, kwargs, *, marker: str):
    from jupyter_ops.scale.correlate import _run

    _hold_first_task(marker)
    return _run(pieces, kwargs)


def test_worker_killed_during_correlate_result_still_exact(client, monkeypatch, tmp_path):
    """The loaded partitions are kept on the workers between rounds: when a worker dies the
    scheduler recomputes what it held, and the assignments are still the single-process
    ones."""
    import cloudpickle

    import jupyter_ops.scale.correlate as sc
    from jupyter_ops.aiops import correlate
    from jupyter_ops.datasets import incident_scenario

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    s = incident_scenario(seed=0, hours=48, n_incidents=30, with_metrics=False,
                          with_logs=False)
    a = correlate(s.alerts, topology=s.topology)
    monkeypatch.setattr(sc, "_run", functools.partial(_slow_slice, marker=str(tmp_path / "held")))
    client.wait_for_workers(2, timeout=60)
    before = set(client.run(os.getpid).values())
    killed = _kill_the_holding_worker(tmp_path / "held")
    b = correlate(dd.from_pandas(s.alerts, npartitions=4), topology=s.topology, client=client)
    assert killed, "no worker was killed while a slice ran"
    pd.testing.assert_series_equal(a.assignments, b.assignments)
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != before


def test_value_keys_equal_values_share_a_key():
    """The shuffle key of check_quality: values pandas calls equal share a key across dtypes,
    units, time zones and Python number types (so every copy meets in one bucket)."""
    from jupyter_ops.scale.quality import row_keys, value_keys

    k = value_keys
    assert (k(pd.Series([1, 2, -0])) == k(pd.Series([1.0, 2.0, 0.0]))).all()
    assert (k(pd.Series([1, 1.0, True, None], dtype=object))[:3] == k(pd.Series([1]))[0]).all()
    t = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-06-01 12:00"], utc=True))
    assert (k(t) == k(t.dt.tz_convert("Europe/Paris"))).all()
    assert (k(t) == k(t.astype("datetime64[us, UTC]"))).all()
    assert k(pd.Series(["a", "b"], dtype=object))[0] == k(pd.Series(["a"], dtype="string"))[0]
    a = pd.DataFrame({"x": [1, 2], "s": ["u", "v"]})
    b = pd.DataFrame({"x": [1.0, 2.0], "s": pd.Series(["u", "v"], dtype=object)})
    assert (row_keys(a) == row_keys(b)).all()
    assert row_keys(a)[0] != row_keys(a)[1]
