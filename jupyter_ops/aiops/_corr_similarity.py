"""Message similarity of alerts: ids and numbers masked vectorised, then token-Jaccard clusters
of the distinct templates (one of the four link rules of :func:`~jupyter_ops.aiops.correlate`)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ._incidents import Graph

_TOKEN = re.compile(r"[a-z][a-z0-9_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def tokens(text: str, drop: frozenset = frozenset()) -> frozenset:
    """Lower-case word tokens of a name/message (CamelCase split, digits and services dropped)."""
    words = _TOKEN.findall(_CAMEL.sub(" ", text).lower())
    return frozenset(w for w in words if w not in drop and not w.isdigit())


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _message_clusters(df: pd.DataFrame, threshold: float, graph: Graph,
                      cache: dict[str, tuple[np.ndarray, Any]] | None = None) -> np.ndarray:
    """Cluster ids of ``name + message`` texts whose token Jaccard >= threshold."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    # factorize the (name, message) pairs as integers: no million-row string concatenation
    cache = {} if cache is None else cache
    for col in ("name", "message"):
        if col not in cache:
            cache[col] = pd.factorize(df[col])
    nc, nu = cache["name"]
    mc, mu = cache["message"]
    pair = nc.astype(np.int64) * (len(mu) + 1) + mc
    codes, upair = pd.factorize(pair)
    nu_a, mu_a = np.asarray(nu, dtype=object), np.asarray(mu, dtype=object)
    upair = np.asarray(upair, dtype=np.int64)
    uniques = [f"{a} {b}" for a, b in zip(nu_a[upair // (len(mu) + 1)],
                                         mu_a[upair % (len(mu) + 1)], strict=False)]
    drop = frozenset(w for s in graph.names for w in _TOKEN.findall(s.lower())) | {
        "critical", "error", "warning", "info", "unknown"}
    toks = [tokens(str(u), drop) for u in uniques]
    u = len(uniques)
    if u > 20_000:  # too many distinct texts for pairwise similarity: exact text only
        return codes.astype(np.int64)
    # texts that differ only in dropped words (service names, numbers) have one token set:
    # compare distinct sets only (numbered by first text, so the cluster labels stay those of
    # a text-by-text comparison); an empty set shares no token and links to nothing
    set_ids: dict[Any, int] = {}
    tid = np.array([set_ids.setdefault(ts if ts else (None, r), len(set_ids))
                    for r, ts in enumerate(toks)], dtype=np.int64)
    toks = [k if isinstance(k, frozenset) else frozenset() for k in set_ids]
    u = len(toks)
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for r, ts in enumerate(toks):
        for w in ts:
            rows.append(r)
            cols.append(vocab.setdefault(w, len(vocab)))
    x = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                          shape=(u, max(1, len(vocab))))
    inter = (x @ x.T).tocoo()
    size = np.asarray(x.sum(axis=1)).ravel()
    union = size[inter.row] + size[inter.col] - inter.data
    jac = np.where(union > 0, inter.data / np.maximum(union, 1), 1.0)
    keep = jac >= threshold
    g = sparse.coo_matrix((np.ones(int(keep.sum())), (inter.row[keep], inter.col[keep])),
                          shape=(u, u))
    _, lab = connected_components(g, directed=False)
    return lab[tid][codes].astype(np.int64)
