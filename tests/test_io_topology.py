"""load_topology: tables, edge lists, adjacency dicts, errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from jupyter_ops.errors import OpsInputError
from jupyter_ops.io import load_topology


def _edges(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(frame["caller"], frame["callee"], strict=True))


def test_adjacency_dict_with_duplicates_and_self_loop(tmp_path):
    adj = {"web": ["api", "api", "cache"], "api": ["db"], "db": ["db"], "cache": []}
    path = tmp_path / "topo.json"
    path.write_text(json.dumps(adj))
    for got in (load_topology(adj), load_topology(path)):
        assert _edges(got) == [("web", "api"), ("web", "cache"), ("api", "db"), ("db", "db")]
        assert isinstance(got.index, pd.RangeIndex)


def test_edge_lists():
    assert _edges(load_topology([["a", "b"], ["b", "c"], ["a", "b"]])) == [("a", "b"),
                                                                           ("b", "c")]
    records = [{"caller": "a", "callee": "b", "rps": 10}, {"caller": "b", "callee": "c",
                                                           "rps": 3}]
    got = load_topology(records)
    assert _edges(got) == [("a", "b"), ("b", "c")]
    assert got["rps"].tolist() == [10, 3]


def test_table_with_mapping(tmp_path):
    path = tmp_path / "edges.csv"
    pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"]}).to_csv(path, index=False)
    got = load_topology(path, columns={"source": "caller", "target": "callee"})
    assert _edges(got) == [("a", "b"), ("b", "c")]
    assert pd.api.types.is_string_dtype(got["caller"].dtype)


def test_topology_errors():
    with pytest.raises(OpsInputError, match=r"^topology are missing column 'caller'; columns "
                                            r"found: source, target. Map yours with "
                                            r"columns=\{'source': 'caller'\}$"):
        load_topology(pd.DataFrame({"source": ["a"], "target": ["b"]}))
    with pytest.raises(OpsInputError, match=r"the topology input is empty \(0 rows\)"):
        load_topology({"a": []})
    with pytest.raises(OpsInputError, match=r"rows must be \[caller, callee\] pairs; row 1 has "
                                            r"3 items"):
        load_topology([["a", "b"], ["a", "b", "c"]])
    with pytest.raises(OpsInputError, match=r"1 topology edges have an empty 'callee', e.g. "
                                            r"rows 1"):
        load_topology(pd.DataFrame({"caller": ["a", "b"], "callee": ["b", None]}))
