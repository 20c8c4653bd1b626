"""The CLI exit-code contract a CI gate relies on: 0 ok, 1 finding, 2 bad input/failed write,
3 internal error (one line + a saved traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def frames(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    pd.DataFrame({"a": rng.normal(0, 1, 300), "b": rng.normal(0, 1, 300)}).to_csv("ref.csv", index=False)
    pd.DataFrame({"a": rng.normal(3, 1, 300), "b": rng.normal(0, 1, 300)}).to_csv("cur.csv", index=False)
    pd.DataFrame({"x": [1, 2], "y": [3, 4]}).to_csv("other.csv", index=False)
    Path("hdr.csv").write_text("timestamp,service,metric,value\n")
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith(("usage:", " "))]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_drift_finding_is_exit_1_and_a_clean_pair_exit_0(frames, capsys):
    assert run(capsys, "mlops", "drift", "ref.csv", "cur.csv", "--no-multivariate")[0] == 1
    assert run(capsys, "mlops", "drift", "ref.csv", "ref.csv", "--no-multivariate")[0] == 0


@pytest.mark.parametrize("args,needle", [
    (["--threshold", "-1"], "must be > 0"),
    (["--threshold", "nan"], "finite"),
    (["--threshold", "inf"], "finite"),
    (["--threshold", "0"], "must be > 0"),
    (["--drift-share", "1.5"], "(0, 1]"),
    (["--drift-share", "nan"], "finite"),
])
def test_invalid_drift_parameters_are_bad_input(frames, capsys, args, needle):
    code, _, err = run(capsys, "mlops", "drift", "ref.csv", "cur.csv", *args)
    assert code == 2
    assert needle in one_error_line(err)


def test_nothing_to_compare_is_bad_input_not_a_pass(frames, capsys):
    code, _, err = run(capsys, "mlops", "drift", "ref.csv", "other.csv")
    assert code == 2
    assert "no column could be compared" in one_error_line(err)


def test_anomalies_on_a_header_only_file_is_bad_input(frames, capsys):
    code, _, err = run(capsys, "aiops", "anomalies", "hdr.csv")
    assert code == 2
    assert "empty (0 rows)" in one_error_line(err)  # the loader names it before the CLI guard


@pytest.mark.parametrize("target", ["missing/r.html", "afile/r.html", "adir.html", "afile/r.json"])
def test_a_report_that_cannot_be_written_is_exit_2_and_leaves_nothing(frames, capsys, target):
    Path("afile").write_text("x")
    Path("adir.html").mkdir()
    before = sorted(os.listdir("."))
    code, _, err = run(capsys, "mlops", "drift", "ref.csv", "ref.csv", "--no-multivariate",
                       "--report", target)
    assert code == 2
    assert target.split("/")[0] in one_error_line(err)
    assert sorted(os.listdir(".")) == before and Path("afile").read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root can write into a read-only folder")
def test_a_read_only_folder_is_exit_2(frames, capsys):  # pragma: no cover - runs as non-root
    Path("ro").mkdir()
    os.chmod("ro", 0o555)
    try:
        code, _, err = run(capsys, "mlops", "drift", "ref.csv", "ref.csv", "--report", "ro/r.html")
    finally:
        os.chmod("ro", 0o755)
    assert code == 2 and "ro/r.html" in one_error_line(err)


def test_tampered_profiles_are_bad_input(frames, capsys):
    assert run(capsys, "mlops", "profile", "ref.csv", "p.json")[0] == 0
    good = json.loads(Path("p.json").read_text())
    col = next(iter(good["columns"]))
    tampered = {
        "cols.json": {**good, "columns": "oops"},
        "rows.json": {**good, "n_rows": "many"},
        "stats.json": {**good, "columns": {col: {"kind": "numeric"}}},
    }
    for name, data in tampered.items():
        Path(name).write_text(json.dumps(data))
        code, _, err = run(capsys, "mlops", "drift", name, "cur.csv", "--no-multivariate")
        assert code == 2, (name, err)
        assert "profile" in one_error_line(err)


def test_deep_and_non_utf8_json_are_bad_input(frames, capsys):
    Path("deep.json").write_text("[" * 100_000 + "]" * 100_000)
    Path("latin1.json").write_bytes(b'{"schema": "jupyter-ops.report/1", "title": "caf\xe9"}')
    for argv in (["report", "deep.json", "o.html"], ["report", "latin1.json", "o.html"],
                 ["mlops", "drift", "deep.json", "cur.csv"],
                 ["mlops", "quality", "deep.json"]):
        code, _, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        one_error_line(err)
    assert not Path("o.html").exists()


def test_an_internal_error_is_exit_3_with_one_line_and_a_saved_traceback(frames, capsys, monkeypatch):
    import jupyter_ops.mlops.driftcheck as dc

    def broken(*a, **k):
        raise ZeroDivisionError("a bug \x1b[2J")

    monkeypatch.setattr(dc, "drift", broken)
    code, _, err = run(capsys, "mlops", "drift", "ref.csv", "cur.csv")
    assert code == 3
    line = one_error_line(err)
    assert "internal error: ZeroDivisionError" in line and "\x1b" not in line
    path = re.search(r"traceback is in (\S+?);", line).group(1)
    saved = Path(path).read_text()
    assert "Traceback" in saved and "in broken" in saved and "mlops drift" in saved
    Path(path).unlink()


def test_csv_outputs_prefix_formula_cells(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    lines = [f"2024-05-01T10:00:{i:02d}Z INFO =cmd|' /C calc'!A0 id={i}" for i in range(20)]
    lines += ["2024-05-01T10:01:00Z INFO @SUM(1+1)*cmd|' /C calc'!A0"]
    Path("f.log").write_text("\n".join(lines) + "\n")
    assert run(capsys, "aiops", "logs", "f.log", "--csv", "t.csv")[0] == 0
    text = Path("t.csv").read_text()
    cells = [c for row in pd.read_csv("t.csv", dtype=str).itertuples(index=False) for c in row]
    assert not any(isinstance(c, str) and c.startswith(("=", "+", "-", "@")) for c in cells), text
    assert "'=cmd" in text or "'@SUM" in text


def test_exit_code_of_the_real_console_script_for_bad_input():
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "jupyter_ops", "mlops", "drift", "nope.csv", "x.csv"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_findings_printed_to_the_terminal_show_control_characters_visibly(tmp_path, monkeypatch,
                                                                           capsys):
    monkeypatch.chdir(tmp_path)
    Path("e.log").write_text("".join(f"2024-05-01T10:00:0{i}Z INFO \x1b[2J\u202e{i} ok\n"
                                     for i in range(3)), encoding="utf-8")
    code, out, err = run(capsys, "aiops", "logs", "e.log")
    assert code == 0
    assert "\\x1b[" in out and "\\u202e" in out and "\x1b" not in out and "\u202e" not in out


def test_a_tampered_report_json_is_bad_input(tmp_path, monkeypatch, capsys):
    from jupyter_ops.report import Report

    monkeypatch.chdir(tmp_path)
    good = Report("t").add(pd.DataFrame({"a": [1]})).add([{"label": "n", "value": 1}]).to_json()
    cases = {"list.json": [1, 2], "kind.json": {**good, "sections": [{"kind": "script"}]},
             "table.json": {**good, "sections": [{**good["sections"][0], "content": "x"}]},
             "rows.json": {**good, "sections": [{**good["sections"][0], "content": {
                 **good["sections"][0]["content"], "rows": [[1, 2, 3]]}}]},
             "figs.json": {**good, "sections": [{**good["sections"][1], "content": ["x"]}]}}
    for name, data in cases.items():
        Path(name).write_text(json.dumps(data))
        code, _, err = run(capsys, "report", name, "o.html")
        assert code == 2, (name, err)
        one_error_line(err)
    assert not Path("o.html").exists()
    Path("ok.json").write_text(json.dumps(good))
    assert run(capsys, "report", "ok.json", "o.html")[0] == 0
