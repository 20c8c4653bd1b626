"""The hostile corpus through loaders, core functions, reports, magics and the CLI.

Each case asserts: no crash (an input problem may only be a one-line ``OpsInputError``), the
data intact (the text arrives, escaped visibly in HTML/Markdown, exact in JSON), no raw
control/bidi character in any rendered output. Charts are rendered for real (vl-convert in
this process: a regression would abort the test run, which is loud on purpose).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_ops.report import Report

#: hostile strings that can live in a UTF-8 file
FILE_SAFE = {
    "esc": "\x1b[31mred\x1b[0m",
    "nul": "nul\x00byte",
    "bel": "bell\x07ring",
    "fffe": "non\ufffechar",
    "rtl": "user\u202egnp.exe",
    "c1": "csi\x9b2J",
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "md": "![i](http://127.0.0.1:9/p.png) [x](javascript:alert(1)) <http://127.0.0.1:9/>",
    "formula": "=cmd|' /C calc'!A0",
}
#: also a lone surrogate (possible in Python strings, never in a UTF-8 file)
CORPUS = {**FILE_SAFE, "surrogate": "lone\ud800half"}
RAW_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
VISIBLE = {"esc": "\\x1b[31mred", "nul": "nul\\x00byte", "bel": "bell\\x07ring",
           "fffe": "non\\ufffechar", "rtl": "user\\u202egnp.exe", "c1": "csi\\x9b2J",
           "surrogate": "lone\\ud800half"}


def check_outputs(report: Report, expect: list[str], tmp_path: Path) -> dict[str, str]:
    """Render all formats; nothing raw, every expected visible form present; JSON exact."""
    outs = {}
    for fmt in ("html", "md", "json"):
        path = report.save(tmp_path / f"out.{fmt}")
        text = path.read_bytes().decode("utf-8")  # always valid UTF-8
        outs[fmt] = text
        if fmt != "json":
            assert not RAW_BAD.search(text), (fmt, RAW_BAD.search(text))
            assert "<script>" not in text
            for shown in expect:
                assert shown in text, (fmt, shown)
    assert "<img src=x" not in outs["html"] and "![i](" not in outs["md"]
    back = Report.from_json(tmp_path / "out.json")
    assert len(back.sections) == len(report.sections)
    return outs


def test_text_log_with_every_hostile_line_mines_and_reports(tmp_path):
    from jupyter_ops.aiops.logmining import mine_templates

    lines = [f"2024-05-01T10:00:{i:02d}Z ERROR svc {text} id={i}".encode()
             for i, text in enumerate(FILE_SAFE.values())]
    lines.append(b"2024-05-01T10:00:30Z INFO latin1 caf\xe9 and \xff\xfe bytes")
    lines.append(b"2024-05-01T10:00:31Z INFO long " + b"x" * 1_000_000)
    (tmp_path / "h.log").write_bytes(b"\n".join(lines) + b"\n")
    result = mine_templates(str(tmp_path / "h.log"))
    assert result.lines.shape[0] == len(lines)
    msgs = "\n".join(result.lines["message"].astype(str))
    for name, text in FILE_SAFE.items():
        assert text.split("\x00")[0][:6] in msgs, name  # arrived (NUL may end a C string)
    assert "caf" in msgs
    # the miner turns tokens that differ between lines into <*>: only what survives into a
    # template is rendered, and that must be visible
    check_outputs(Report("logs").add(result), ["\\x1b"], tmp_path)


def correlate_and_report(tmp_path, corpus):
    from jupyter_ops.aiops.correlation import correlate

    ts = pd.date_range("2024-05-01", periods=len(corpus), freq="30s", tz="UTC")
    alerts = pd.DataFrame({"timestamp": ts, "service": [f"svc-{t}" for t in corpus.values()],
                           "name": list(corpus.values()), "severity": "critical",
                           "message": list(corpus.values())}, dtype=object)
    alerts["timestamp"] = ts
    corr = correlate(alerts)
    assert corr.assignments.notna().all()
    return check_outputs(Report("alerts").add(corr), [VISIBLE["esc"]], tmp_path)


def test_alert_names_and_services_correlate_and_report(tmp_path):
    correlate_and_report(tmp_path, FILE_SAFE)


def test_alert_name_with_a_lone_surrogate_correlates(tmp_path):
    outs = correlate_and_report(tmp_path, CORPUS)
    assert VISIBLE["surrogate"] in outs["html"]


def test_metric_names_with_control_characters_detect_and_chart(tmp_path):
    from jupyter_ops.aiops.anomaly import detect_anomalies

    rng = np.random.default_rng(0)
    ts = pd.date_range("2024-05-01", periods=200, freq="1min", tz="UTC")
    frames = []
    for name in ("esc", "rtl", "fffe", "bel"):
        v = rng.normal(10, 1, len(ts))
        v[150:153] = 80
        frames.append(pd.DataFrame({"timestamp": ts, "service": "api", "metric": CORPUS[name],
                                    "value": v}))
    result = detect_anomalies(pd.concat(frames, ignore_index=True), window=60)
    assert len(result.episodes) >= 4  # every series' spike found under its own name
    outs = check_outputs(Report("m").add(result), [VISIBLE["esc"], VISIBLE["rtl"]], tmp_path)
    assert 'class="jops-chart"' in outs["html"]


def test_column_names_through_drift_quality_and_profile(tmp_path):
    from jupyter_ops.mlops.driftcheck import drift
    from jupyter_ops.mlops.profiling import Profile, profile
    from jupyter_ops.mlops.quality import check_quality

    rng = np.random.default_rng(2)
    names = [CORPUS[k] for k in ("esc", "bel", "rtl", "html", "formula")]
    ref = pd.DataFrame({n: rng.normal(0, 1, 300) for n in names})
    cur = pd.DataFrame({n: rng.normal(2 if i == 0 else 0, 1, 300) for i, n in enumerate(names)})
    cur[names[3]] = cur[names[3]].astype(str).where(cur.index > 5, CORPUS["nul"])
    r = drift(ref, cur, multivariate=False)
    assert set(r.columns["column"]) | set(r.skipped["column"]) == set(names)
    assert bool(r.columns.set_index("column").loc[names[0], "drifted"])
    q = check_quality(cur, reference=ref)
    p = profile(ref)
    p.save(tmp_path / "p.json")
    assert set(Profile.load(tmp_path / "p.json").columns) == set(names)
    check_outputs(Report("d").add(r).add(q), [VISIBLE["esc"], VISIBLE["bel"]], tmp_path)


def test_table_files_with_hostile_cells_load_intact(tmp_path):
    from jupyter_ops.io import read_table

    df = pd.DataFrame({"k": list(FILE_SAFE), "v": list(FILE_SAFE.values())})
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_json(tmp_path / "t.json", orient="records")
    df.to_parquet(tmp_path / "t.parquet")
    for suffix in ("csv", "json", "parquet"):
        back = read_table(tmp_path / f"t.{suffix}")
        assert dict(zip(back["k"], back["v"], strict=True)) == FILE_SAFE, suffix


def test_non_utf8_and_garbage_table_files_are_one_line_input_errors(tmp_path):
    from jupyter_ops.errors import OpsInputError
    from jupyter_ops.io import read_table

    (tmp_path / "bin.parquet").write_bytes(b"\x00\xff" * 100)
    (tmp_path / "latin1.csv").write_bytes(b"a,b\ncaf\xe9,1\n")
    with pytest.raises(OpsInputError) as e:
        read_table(tmp_path / "bin.parquet")
    assert "\n" not in str(e.value)
    back = read_table(tmp_path / "latin1.csv")  # read (intact or as an error), never a crash
    assert back.shape == (1, 2)


def test_a_deeply_nested_json_table_is_a_one_line_input_error(tmp_path):
    from jupyter_ops.errors import OpsInputError
    from jupyter_ops.io import read_table

    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(OpsInputError):
        read_table(tmp_path / "deep.json")


def test_magics_in_a_real_shell_show_hostile_text_escaped(ip, tmp_path):
    rng = np.random.default_rng(3)
    ip.user_ns["ref"] = pd.DataFrame({CORPUS["esc"]: rng.normal(0, 1, 200),
                                      CORPUS["rtl"]: rng.normal(0, 1, 200)})
    ip.user_ns["cur"] = ip.user_ns["ref"] + 3
    lines = [f"2024-05-01T10:00:{i:02d}Z WARN {t} n={i}" for i, t in enumerate(FILE_SAFE.values())]
    (tmp_path / "h.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ip.run_line_magic("mlops_drift", "ref cur --no-multivariate -o d")
    ip.run_line_magic("aiops_logs", "h.log -o t")
    bundle = ip.user_ns["d"]._repr_mimebundle_()
    html = bundle[0]["text/html"] if isinstance(bundle, tuple) else bundle["text/html"]
    assert "\\x1b" in html and not RAW_BAD.search(html)
    ip.run_line_magic("ops_report", "out.html")
    out = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert not RAW_BAD.search(out) and "\\u202e" in out


def test_cli_on_a_hostile_log_writes_every_format(tmp_path, monkeypatch, capsys):
    from jupyter_ops.cli import main

    monkeypatch.chdir(tmp_path)
    lines = [f"2024-05-01T10:00:{i:02d}Z ERROR {t} id={i}" for i, t in enumerate(FILE_SAFE.values())]
    Path("h.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for fmt in ("html", "md", "json"):
        assert main(["aiops", "logs", "h.log", "--report", f"r.{fmt}", "--csv", "t.csv"]) == 0
        text = Path(f"r.{fmt}").read_text(encoding="utf-8")
        if fmt != "json":
            assert not RAW_BAD.search(text) and "\\x1b" in text
        else:
            assert "\\u001b[" in text and json.loads(text)  # exact data, JSON-escaped
    capsys.readouterr()


def test_lone_surrogate_in_a_log_message_mines(tmp_path):
    from jupyter_ops.aiops.logmining import mine_templates

    logs = pd.DataFrame({"message": [f"user {CORPUS['surrogate']} id={i}" for i in range(5)]},
                        dtype=object)
    result = mine_templates(logs)
    check_outputs(Report("s").add(result), [VISIBLE["surrogate"]], tmp_path)
