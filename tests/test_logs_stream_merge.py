"""Mergeable miner state and streamed file mining: equal to one pass; odd files handled."""

from __future__ import annotations

import gzip
import random

import pandas as pd
import pytest

from jupyter_ops.aiops import mine_templates
from jupyter_ops.aiops._logparser import ParserState
from jupyter_ops.aiops.logmining import stream_templates

SETS = ["HDFS", "Linux", "OpenSSH", "Mac"]


@pytest.fixture(scope="module")
def lines(shared_data):
    out: list[str] = []
    for d in SETS:
        path = shared_data / "loghub-2k" / d / f"{d}_2k.log_structured_corrected.csv"
        out += pd.read_csv(path, dtype=str, keep_default_na=False)["Content"].tolist()
    return out


def _mine_partition(lines: list[str], start: int, stop: int) -> ParserState:
    st = ParserState()
    st.add(lines[start:stop], start=start)
    st.regroup()
    return st


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merge_of_random_partitions_equals_one_pass(lines, seed):
    rng = random.Random(seed)
    k = rng.randint(2, 7)
    cuts = sorted(rng.sample(range(1, len(lines)), k - 1))
    bounds = list(zip([0] + cuts, cuts + [len(lines)], strict=True))
    parts = [_mine_partition(lines, a, b) for a, b in bounds]
    rng.shuffle(parts)  # commutative: any order
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    one = ParserState()
    one.add(lines)
    one.regroup()
    assert merged.templates == one.templates
    assert merged.keys == one.keys
    assert merged.count.tolist() == one.count.tolist()
    assert merged.first_line.tolist() == one.first_line.tolist()
    assert merged.last_line.tolist() == one.last_line.tolist()
    assert merged.example == one.example
    assert merged.key_group.tolist() == one.key_group.tolist()
    # associative: (a+b)+c == a+(b+c)
    if len(parts) >= 3:
        left = parts[0].merge(parts[1]).merge(parts[2])
        right = parts[0].merge(parts[1].merge(parts[2]))
        assert left.to_dict() == right.to_dict()


def test_merge_refuses_different_settings():
    with pytest.raises(ValueError, match="different masks or thresholds"):
        ParserState(threshold=4).merge(ParserState(threshold=5))


def test_stream_equals_mine_templates(tmp_path, lines):
    path = tmp_path / "app.log.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    whole = mine_templates(lines)
    streamed = stream_templates(path, chunk_lines=997)
    cols = ["template_id", "template", "count", "first_line", "last_line", "example"]
    pd.testing.assert_frame_equal(streamed.templates[cols], whole.templates[cols])
    assert streamed.n_lines == len(lines)
    assert len(streamed.assignments) == 0  # no per-line data kept
    # and the path reader of mine_templates gives the same
    pd.testing.assert_frame_equal(mine_templates(path).templates[cols], whole.templates[cols])


def test_odd_files(tmp_path):
    crlf = tmp_path / "crlf.log"
    crlf.write_bytes(b"\xef\xbb\xbf" + b"".join(b"user %s logged in\r\n" % u for u in (b"a", b"b", b"c", b"d"))
                     + b"\r\n")
    t = mine_templates(crlf)
    assert t.templates["template"].tolist() == ["user <*> logged in"]
    assert t.issues["crlf_line_ends"] == 5 and t.issues["empty_lines"] == 1
    blank = tmp_path / "blank.log"
    blank.write_text("\n  \n\t\n\n")
    for result in (mine_templates(blank), stream_templates(blank)):
        assert len(result.templates) == 0 and result.issues["empty_lines"] == 4
    mixed = tmp_path / "mixed.log"  # UTF-8, Latin-1 and binary bytes in one file
    mixed.write_bytes("caf\u00e9 opened 1\n".encode() + b"caf\xe9 opened 2\n\x00\xff\xfe\n"
                      + b"x" * 1_000_000 + b"\n")
    t = mine_templates(mixed)
    assert t.issues["undecodable_lines"] == 2 and t.issues["long_lines"] == 1
    tpl = dict(zip(t.templates["template_id"], t.templates["template"], strict=True))
    from jupyter_ops.aiops import render_template

    msgs = t.lines["message"].tolist()
    assert [render_template(tpl[a], p) for a, p in zip(t.assignments, t.parameters,
                                                       strict=True)] == msgs
    s = stream_templates(mixed, chunk_lines=2)
    assert s.templates["count"].sum() == 4 and s.issues["undecodable_lines"] == 2


def test_lone_surrogate_and_epoch_timestamps():
    t = mine_templates(pd.DataFrame({"message": pd.Series(["bad \ud800 byte 1", "bad x 2"],
                                                           dtype=object),
                                     "timestamp": [1717000000, 1717000060]}))
    assert t.issues["undecodable_lines"] == 1
    assert "\ud800" not in t.to_json()
    assert len(t.templates) == 2  # builds (pyarrow strings on pandas 3 cannot hold surrogates)
    assert str(t.templates["first_seen"].min().date()) == "2024-05-29"


def test_cli_raw_streams_and_table_fits_the_terminal(tmp_path, capsys, monkeypatch):
    from jupyter_ops.cli import main

    log = tmp_path / "plain.log"
    long = "very long message " + "word " * 200
    log.write_text("".join(f"user {u} logged in\n" for u in "abcd") + "\n" + long + "\n")
    monkeypatch.setenv("COLUMNS", "60")
    assert main(["aiops", "logs", str(log)]) == 2  # no timestamps: the error offers --raw
    assert "--raw" in capsys.readouterr().err
    state = tmp_path / "state.json"
    assert main(["aiops", "logs", str(log), "--raw", "--state", str(state)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["template_id", "count", "template"]
    assert out[2].startswith("T1           4      user <*> logged in")  # left-aligned
    assert all(len(line) <= 60 for line in out[1:]) and out[3].endswith("…")
    assert main(["aiops", "logs", str(log), "--raw", "--state", str(state)]) == 0
    assert capsys.readouterr().out.startswith("10 lines -> 2 templates")


def test_readable_templates_rules():
    from jupyter_ops.aiops import render_template

    lines = [f"Receiving block blk_{b} src: /10.0.0.{i}:500{i} took {i}ms"
             for i, b in enumerate(["-12", "34", "-56", "78", "90"])]
    lines += [f"generating core.{n}" for n in (12, 345, 6789, 10)]
    lines += [f"Input split: hdfs://node{i}:9000/data/part-{i}" for i in range(4)]
    # a big event with addresses, and one rare odd shape in the address position
    lines += [f"connect to 10.1.1.{i} failed" for i in range(6)] + ["connect to LOCAL(0) failed"]
    # constant verbs (2 values) split the event; 4 user names are a variable
    lines += [f"user {u} {v} the file" for u, v in zip("abcd", ["created", "deleted"] * 2,
                                                         strict=True)]
    t = mine_templates(lines)
    texts = t.templates["template"].tolist()
    assert "Receiving block blk_<*> src: /<*>:<*> took <*>ms" in texts
    assert "generating core.<*>" in texts
    assert "Input split: hdfs://<*>" in texts
    assert "connect to <*> failed" in texts and len(
        t.lines_of(t.templates.set_index("template")["template_id"]["connect to <*> failed"])
    ) == 7  # the rare LOCAL(0) line did not split off
    assert "user <*> created the file" in texts and "user <*> deleted the file" in texts
    assert len(set(texts)) == len(texts)  # no two templates with the same text
    tpl = dict(zip(t.templates["template_id"], t.templates["template"], strict=True))
    assert [render_template(tpl[a], p) for a, p in zip(t.assignments, t.parameters,
                                                       strict=True)] == lines


def test_mine_templates_continues_a_merged_state_or_a_result(lines):
    a, b = _mine_partition(lines, 0, 3000), _mine_partition(lines, 3000, 6000)
    t = mine_templates(lines[6000:], state=b.merge(a))
    whole = mine_templates(lines)
    cols = ["template_id", "template", "count", "first_line", "last_line"]
    pd.testing.assert_frame_equal(t.templates[cols], whole.templates[cols])
    assert t.assignments.index[0] == 6000 and len(t.assignments) == len(lines) - 6000
    again = mine_templates(lines[4000:], state=mine_templates(lines[:4000]))
    pd.testing.assert_frame_equal(again.templates, whole.templates)
    with pytest.raises(Exception, match="state must be"):
        mine_templates(lines[:5], state={"keys": []})


def test_select_logs_reads_epoch_seconds_as_the_loader_does():
    from jupyter_ops.aiops.logmining import select_logs
    from jupyter_ops.errors import OpsInputError

    df = pd.DataFrame({"message": ["a", "b", "c"],
                       "timestamp": [1717000000, 1717003600, 1717007200]})
    assert select_logs(df, since="2024-05-29 17:00").message.tolist() == ["b", "c"]
    assert select_logs(df, until=1717003600).message.tolist() == ["a"]
    with pytest.raises(OpsInputError, match="not a time"):
        select_logs(df, since="nonsense")
