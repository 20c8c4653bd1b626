"""The linking engine of alert correlation: vectorised links between alerts (fingerprint,
topology + time, shared labels, message similarity), connected groups, the incident-span cap and
the noise decision. :func:`~jupyter_ops.aiops.correlate` and
:class:`~jupyter_ops.aiops.AlertCorrelator` both run :func:`link`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ._corr_flags import _resolved_ns, _small, _source_pairs, _time_order
from ._corr_similarity import _message_clusters
from ._incidents import (
    SEVERITY_BY_RANK,
    SEVERITY_RANK,
    Graph,
    to_ns,
    to_timedelta,
)

# link reasons, by priority (lower = preferred when explaining why an alert joined)
R_NONE, R_DUP, R_FP, R_SAME, R_NEIGH, R_LABEL, R_SIM, R_TIME, R_ABSENT = range(9)


def _settings(window: Any, by: Any, similarity: float | None, hops: int, min_severity: str,
              similarity_window: Any, flap_count: int, flap_resolve: Any, flap_gap: Any,
              chunk_size: int, max_span: Any = "4h") -> dict[str, Any]:
    win = to_timedelta(window, "window")
    span = to_timedelta(max_span, "max_span") if max_span is not None else None
    if span is not None and span < win:
        raise OpsInputError(f"max_span={max_span!r} is shorter than window={window!r}; an "
                            "incident must be able to hold two linked alerts")
    sim_win = to_timedelta(similarity_window, "similarity_window") if similarity_window \
        is not None else 2 * win
    if hops < 0:
        raise OpsInputError(f"hops={hops} must be >= 0 (0 = same service only)")
    if similarity is not None and not 0 < similarity <= 1:
        raise OpsInputError(f"similarity={similarity} must be in (0, 1], or None to turn it off")
    if min_severity not in SEVERITY_RANK:
        raise OpsInputError(f"min_severity={min_severity!r} is not one of "
                            f"{', '.join(SEVERITY_BY_RANK[1:])}")
    by_list = [by] if isinstance(by, str) else list(by or [])
    fr = to_timedelta(flap_resolve, "flap_resolve")
    fg = to_timedelta(flap_gap, "flap_gap")
    params = dict(window=str(win), by=by_list or None, similarity=similarity, hops=hops,
                  min_severity=min_severity, similarity_window=str(sim_win),
                  flap_count=flap_count, flap_resolve=str(flap_resolve), flap_gap=str(flap_gap),
                  max_span=str(span) if span is not None else None)
    return dict(max_span=span, win=win, sim_win=sim_win, by=by_list, similarity=similarity, hops=hops,
                min_severity=min_severity, flap_count=flap_count, flap_resolve=fr,
                flap_gap=fg, chunk=max(1000, int(chunk_size)), params=params)


def _link_args(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: cfg[k] for k in ("win", "sim_win", "by", "similarity", "hops", "min_severity",
                                "flap_count", "flap_resolve", "flap_gap", "chunk", "max_span")}


def _check_by(df: pd.DataFrame, by: list[str]) -> None:
    for key in by:
        if key in df.columns:
            continue
        if "labels" not in df.columns or not (_label_codes(df, key) >= 0).any():
            raise OpsInputError(f"by={key!r}: the alerts have no column {key!r} and no label "
                                f"{key!r} in their 'labels'; columns found: "
                                f"{', '.join(map(str, df.columns))}")


def _hashable(df: pd.DataFrame, codes: dict[str, tuple[np.ndarray, Any]] | None = None) -> str:
    """A 256-bit BLAKE2b digest of the alerts as given to the linking (provenance), from the
    columns' raw bytes.

    ``hash_input`` hashes every cell through pandas' object hashing (about 1.5 s for a million
    alerts with distinct messages); here times are hashed as int64 nanoseconds and text as
    its UTF-8 bytes plus lengths (Arrow buffers, the same under pandas 2 and 3), the index
    and the column names included. Columns of few distinct values (service, fingerprint,
    severity, name, and the message unless it is mostly distinct) are hashed as their
    factorization - first-appearance codes plus the distinct texts, a function of the column
    alone - which is a fraction of the bytes; ``codes`` reuses the factorizations the linking
    already made (``_State.codes``). Dict ``labels`` are left out (slow to hash; the other
    columns identify the alerts).
    """
    import hashlib
    import json

    from ._corr_similarity import mostly_distinct

    h = hashlib.blake2b(b"alerts-v2", digest_size=32)  # 64 hex digits
    cols = [c for c in df.columns if c != "labels"]
    h.update(json.dumps([str(c) for c in cols]).encode())
    idx = df.index
    if isinstance(idx, pd.RangeIndex):
        h.update(f"range {idx.start} {idx.stop} {idx.step}".encode())
    else:
        h.update(pd.util.hash_pandas_object(pd.Series(idx.astype(str), dtype=object),
                                            index=False).to_numpy().tobytes())
    codes = {} if codes is None else codes
    for c in cols:
        h.update(str(c).encode() + b"\0")
        col = df[c]
        # which columns are hashed factorized depends on the data only, never on the cache
        fac = None
        if c in _FACTORED and not pd.api.types.is_datetime64_any_dtype(col.dtype) and not (
                c == "message" and mostly_distinct(col)):
            fac = codes.get(c) or pd.factorize(col)
        if fac is not None:
            fc = np.asarray(fac[0])  # int32 codes when they fit: half the bytes to hash
            h.update(b"f" + fc.astype(np.int32 if len(fac[1]) < 2**31 - 1 else np.int64,
                                      copy=False).tobytes())
            col = pd.Series(np.asarray(fac[1], dtype=object), dtype=object)
        part = _column_bytes(col)
        for piece in (part.parts if isinstance(part, _Chain) else (part,)):
            h.update(piece)
    return h.hexdigest()


_FACTORED = ("service", "fingerprint", "severity", "name", "message")


def _column_bytes(col: pd.Series) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return b"t" + to_ns(col).tobytes()
    if pd.api.types.is_numeric_dtype(col.dtype) and not isinstance(col.dtype, pd.StringDtype):
        return f"n{col.dtype}".encode() + col.to_numpy(dtype="float64", na_value=np.nan).tobytes()
    try:
        arr = pa.array(col.array, from_pandas=True)  # zero-copy for Arrow-backed text
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        arr = pa.array(col.astype(str).to_numpy(dtype=object), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type not in (pa.string(), pa.large_string()):
        arr = arr.cast(pa.string()) if pa.types.is_string(arr.type) else pa.array(
            col.astype(str).to_numpy(dtype=object), type=pa.large_string())
    if arr.null_count:
        arr = pc.fill_null(arr, "\x00<NA>")
    width = np.int32 if arr.type == pa.string() else np.int64
    off = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset:arr.offset + len(arr) + 1]
    off = off.astype(np.int64)  # string and large_string hash alike
    data = arr.buffers()[2]
    body = memoryview(data)[int(off[0]):int(off[-1])] if data is not None and len(off) else b""
    return _Chain(b"s", (off - off[0]).tobytes(), body)


class _Chain:
    """Parts fed to the hash one after the other (no copy of a text buffer)."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

def cap_span(comp: np.ndarray, t: np.ndarray, max_span: pd.Timedelta | None) -> np.ndarray:
    """Cut linked groups that last longer than ``max_span`` into consecutive pieces.

    Why: links are local (each joins an alert to one a few minutes older), so a steady stream
    -- a busy system's background of unrelated alerts, 1M alerts over a week -- chains into
    one group without end. A piece covers ``[start + k * max_span, start + (k+1) * max_span)``
    of its group (anchored at the group's first alert); links across a cut are dropped. Groups
    within the cap keep their labels; the result numbers groups by first appearance when
    ``comp`` did (``t`` ascending).
    """
    if max_span is None or not len(comp):
        return comp
    n_comp = int(comp.max()) + 1
    start = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(start, comp, t)
    piece = (t - start[comp]) // max_span.value
    if not piece.any():
        return comp
    key = comp.astype(np.int64) * (int(piece.max()) + 1) + piece
    return pd.factorize(key)[0].astype(comp.dtype, copy=False)


@dataclass
class _State:
    component: np.ndarray  # per input row: incident id (0 = noise)
    parent: np.ndarray     # per input row: input position of the alert it joined (-1)
    reason: np.ndarray     # per input row: R_* code
    aux: np.ndarray        # per input row: hop distance / label key index
    flapping: np.ndarray   # per input row: part of a flapping source
    duplicate: np.ndarray  # per input row: exact duplicate of an earlier row
    graph: Graph
    msg_cluster: np.ndarray  # per input row: message-similarity cluster (-1 = none)
    by: list[str]
    raw: np.ndarray        # per input row: linked group before the noise decision
    # per input row: linked group before the max_span cut (None: nothing was cut)
    linked: np.ndarray | None = None
    # column -> (codes, uniques) of pd.factorize, shared with the incident table
    codes: dict[str, tuple[np.ndarray, Any]] = field(default_factory=dict)


def _link(df: pd.DataFrame, topo: pd.DataFrame | None, win: pd.Timedelta, sim_win: pd.Timedelta,
          by: list[str], similarity: float | None, hops: int, min_severity: str,
          flap_count: int, flap_resolve: pd.Timedelta, flap_gap: pd.Timedelta,
          chunk: int, max_span: pd.Timedelta | None = None) -> _State:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(df)
    ts_all = to_ns(df["timestamp"])
    order = _time_order(ts_all)  # time order -> input position
    t = ts_all[order]
    fac = {c: pd.factorize(df[c]) for c in ("service", "fingerprint", "severity")}
    svc_codes, svc_uniques = fac["service"]
    graph = Graph(topo, [str(s) for s in svc_uniques])
    gcode = np.array([graph.code[str(s)] for s in svc_uniques], dtype=np.int64)
    s = gcode[svc_codes][order]
    f = fac["fingerprint"][0][order].astype(np.int64)
    sev_codes, sev_uniques = fac["severity"]
    sev = np.array([SEVERITY_RANK.get(str(u), 0) for u in sev_uniques], dtype=np.int8)[
        sev_codes][order]
    res = _resolved_ns(df, order)
    nat = np.iinfo(np.int64).min
    w, sw = win.value, sim_win.value

    # -- fingerprint: repeats, duplicates and flapping -------------------------------
    a, b, ta, tb, ra, dup, flap = _source_pairs(t, f, res, flap_count, flap_resolve,
                                                flap_gap)
    still = (tb - ta <= w)
    if ra is not None:
        still |= (ra != nat) & (tb <= ra)
    keep = still & ~flap[a] & ~flap[b]
    fa, fb = a[keep], b[keep]

    # -- the sequence that links (flapping sources left out) -------------------------
    live = np.flatnonzero(~flap)  # time positions
    m = len(live)
    lt, ls = t[live], s[live]

    # best parent per time position: (reason, parent time position, aux)
    best_r = np.full(n, R_NONE, dtype=np.int8)
    best_p = np.full(n, -1, dtype=np.int64)
    best_x = np.zeros(n, dtype=np.int16)

    scratch = np.empty(n, dtype=np.int64)  # reused: fresh 8 MB arrays cost page faults

    def offer(child: np.ndarray, parent: np.ndarray, reason: int, aux: np.ndarray | int = 0):
        """Record a link as the explanation when nothing better explains ``child``."""
        if not len(child):
            return
        # the most recent parent wins among equal reasons (a scatter-max, no sort); a parent
        # lies on one service, so its hop distance / label key (aux) is unique per child
        # (over the children's span only: a chunk of queries touches a chunk of alerts)
        lo = int(child.min())
        rel = child - lo
        top = _top_parent(int(rel.max()) + 1, rel, parent, scratch)
        c = np.flatnonzero(top >= 0)
        better = (best_r[c + lo] == R_NONE) | (best_r[c + lo] > reason)
        c = c[better]
        best_r[c + lo] = reason
        best_p[c + lo] = top[c]
        if np.ndim(aux):
            win = parent == top[rel]
            ax = np.zeros(len(top), dtype=np.int16)
            ax[rel[win]] = np.asarray(aux, dtype=np.int16)[win]
            best_x[c + lo] = ax[c]
        else:
            best_x[c + lo] = aux

    edges_a: list[np.ndarray] = [fa]
    edges_b: list[np.ndarray] = [fb]
    dmask = t[fb] == t[fa]
    offer(fb[dmask], fa[dmask], R_DUP)
    offer(fb[~dmask], fa[~dmask], R_FP)

    # Links between *different* sources need at least one "strong" end (at or above
    # min_severity, unknown severity, or a sustained source): lone low-severity alerts attach
    # to incidents but do not chain unrelated ones together through a background of noise.
    # A source that keeps firing (a repeat within the window / while unresolved) counts as
    # strong too: a sustained warning is a symptom, a lone blip is not.
    min_rank = SEVERITY_RANK[min_severity]
    sustained = np.zeros(n, dtype=bool)
    rep = t[fb] > t[fa]  # exact duplicates do not make a source sustained
    sustained[fa[rep]] = True
    sustained[fb[rep]] = True
    sl = sev[live]
    strong = (sl >= min_rank) | (sl == 0) | sustained[live]

    def _Index(code: np.ndarray) -> _LastIndex:  # noqa: N802 - reads like the class
        return _LastIndex(code, strong, lt)

    weak_c: list[np.ndarray] = []
    weak_p: list[np.ndarray] = []

    def add(ci: np.ndarray, cj: np.ndarray, reason: int, aux: Any = 0) -> None:
        # a weak alert keeps only its most recent partner (below), so it cannot bridge groups
        st = strong[ci]
        edges_a.append(live[cj[st]])
        edges_b.append(live[ci[st]])
        weak_c.append(ci[~st])
        weak_p.append(cj[~st])
        offer(live[ci], live[cj], reason, aux)

    # -- time alone: without a topology, or for services missing from it -------------
    known = graph.in_topology[ls] if topo is not None else np.zeros(m, dtype=bool)
    if m:
        q = np.flatnonzero(~known)
        if len(q):  # (every service in the topology: no index needed)
            tindex = _Index(np.zeros(m, dtype=np.int64))
            ci, cj = tindex.last(q, np.zeros(len(q), dtype=np.int64), w, grouped=True)
            add(ci, cj, R_TIME if topo is None else R_ABSENT)
        # same service (and, with a topology, neighbours within `hops`)
        if topo is not None:
            indptr, nbr, dist = graph.hops(hops)
        else:
            indptr = np.arange(graph.n + 1)
            nbr = np.arange(graph.n)
            dist = np.zeros(graph.n, dtype=np.int16)
        sindex = _Index(ls)
        from ..progress import progress

        # a bar above 100k alerts only (correlate is sub-second below that)
        for lo in progress(range(0, m, chunk), desc="correlate", unit="chunk",
                           min_total=0 if m > 100_000 else 1 << 62):
            qi = np.arange(lo, min(m, lo + chunk))
            ci, cj = sindex.last_same(qi, w)  # same service first, then neighbours
            add(ci, cj, R_SAME)
            qi, qn, qd = _expand_grouped(qi, ls, indptr, nbr, dist)
            ci, cj = sindex.last(qi, qn, w, grouped=True)
            add(ci, cj, R_NEIGH, qd[sindex.good])

        # -- shared labels -------------------------------------------------------------
        for k, key in enumerate(by):
            codes = _label_codes(df, key)[order][live]
            q = np.flatnonzero(codes >= 0)
            ci, cj = _Index(codes).last(q, codes[q], w)
            add(ci, cj, R_LABEL, k)

    # -- message similarity: a bridge for alerts nothing earlier explains -------------------
    cl_all = np.full(n, -1, dtype=np.int64)
    if similarity is not None and m:
        cl_in = _message_clusters(df, similarity, graph, fac)
        cl_all = cl_in[order]
        cl = cl_all[live]
        base = graph.n + 1
        combo_raw = cl * base + ls
        span = (int(cl.max()) + 1) * base
        if span <= 4 * m + 1_000_000:  # dense ranks of the (cluster, service) keys: no sort
            seen = np.zeros(span, dtype=bool)
            seen[combo_raw] = True
            uniq = np.flatnonzero(seen)
            combo = (np.cumsum(seen) - 1)[combo_raw]
        else:
            uniq = np.unique(combo_raw)
            combo = np.searchsorted(uniq, combo_raw)
        if topo is not None:
            indptr, nbr, dist = graph.hops(hops)
        else:  # no topology: any service
            indptr = np.arange(0, graph.n * graph.n + 1, graph.n)
            nbr = np.tile(np.arange(graph.n), graph.n)
            dist = np.zeros(graph.n * graph.n, dtype=np.int16)
        cindex = _Index(combo)
        lonely = np.flatnonzero(best_r[live] == R_NONE)
        for lo in range(0, len(lonely), chunk):
            qi, qn, _ = _expand(lonely[lo:lo + chunk], ls, indptr, nbr, dist)
            raw = cl[qi] * base + qn
            qc = np.searchsorted(uniq, raw)
            ok = (qc < len(uniq)) & (uniq[np.minimum(qc, len(uniq) - 1)] == raw)
            ci, cj = cindex.last(qi[ok], qc[ok], sw)
            add(ci, cj, R_SIM)

    if weak_c:
        wc, wp = np.concatenate(weak_c), np.concatenate(weak_p)
        if len(wc):
            top = _top_parent(m, wc, wp)  # most recent partner of each weak alert
            c = np.flatnonzero(top >= 0)
            edges_a.append(live[top[c]])
            edges_b.append(live[c])

    # -- groups --------------------------------------------------------------------------
    ea = np.concatenate(edges_a) if edges_a else np.zeros(0, np.int64)
    eb = np.concatenate(edges_b) if edges_b else np.zeros(0, np.int64)
    g = coo_matrix((np.ones(len(ea), dtype=np.int8), (ea, eb)), shape=(n, n))
    _, linked = connected_components(g, directed=False)
    comp = cap_span(linked, t, max_span)

    # back to input order
    in_order = bool((order == np.arange(n)).all())

    def back(x: np.ndarray, dtype: Any) -> np.ndarray:
        if in_order:
            return x.astype(dtype, copy=True)
        out = np.empty(n, dtype=dtype)
        out[order] = x
        return out

    raw = back(comp, np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    has_p = best_p >= 0
    parent[order[has_p]] = order[best_p[has_p]]
    flapping = back(flap, bool)
    f_in, sev_in = back(f, np.int64), back(sev, np.int8)
    # scipy labels components in order of their lowest node (time position): with the input
    # already in time order that is the order of first appearance
    component = _decide(raw, f_in, sev_in, flapping, ts_all, SEVERITY_RANK[min_severity],
                        first_seen=in_order)
    return _State(component, parent, back(best_r, np.int8), back(best_x, np.int16), flapping,
                  back(dup, bool), graph, back(cl_all, np.int64), by, raw,
                  linked=None if linked is comp else back(linked, np.int64), codes=fac)

def _decide(comp: np.ndarray, f: np.ndarray, sev: np.ndarray, flap: np.ndarray,
            t: np.ndarray, min_rank: int, first_seen: bool = False) -> np.ndarray:
    """Incident id per alert (0 = noise) from raw linked groups: lone low-severity sources and
    flapping alerts are noise; ids 1..K follow the groups' first alert. ``first_seen``: the
    group labels already run 0.. in order of first appearance."""
    n = len(comp)
    if not n:
        return np.zeros(0, dtype=np.int64)
    if not first_seen:
        comp = pd.factorize(comp)[0]
    n_comp = int(comp.max()) + 1
    first_src = np.full(n_comp, -1, dtype=np.int64)
    first_src[comp[::-1]] = f[::-1]
    multi = np.zeros(n_comp, dtype=bool)
    np.logical_or.at(multi, comp, f != first_src[comp])
    max_sev = np.zeros(n_comp, dtype=np.int8)
    np.maximum.at(max_sev, comp, sev)
    has_live = np.zeros(n_comp, dtype=bool)
    has_live[comp[~flap]] = True
    noise_comp = (~multi & (max_sev < min_rank)) | ~has_live
    is_noise = noise_comp[comp] | flap
    comp_first = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(comp_first, comp, t)
    inc_comps = np.flatnonzero(~noise_comp)
    inc_comps = inc_comps[np.argsort(comp_first[inc_comps], kind="stable")]
    comp_id = np.zeros(n_comp, dtype=np.int64)
    comp_id[inc_comps] = np.arange(1, len(inc_comps) + 1)
    return np.where(is_noise, 0, comp_id[comp])


class _LastIndex:
    """"The last alert with code c strictly before position i": over all alerts for a strong
    asker, over strong alerts only for a weak one.

    One sorted array of ``code * m + position`` keys; the strong-only answer is the all-alerts
    answer stepped back to the last strong alert of the same code (a forward fill in key
    order), so there is one binary search per query.
    """

    def __init__(self, code: np.ndarray, strong: np.ndarray, lt: np.ndarray) -> None:
        m = len(code)
        self.m, self.strong, self.lt = m, strong, lt
        pos = np.flatnonzero(code >= 0).astype(np.int64)
        c = code[pos]
        o = np.argsort(_small(c), kind="stable")  # by code, then position (radix sort)
        pos, c = pos[o], c[o].astype(np.int64)
        self.key, self.pos = c * m + pos, pos
        back = np.where(strong[pos], np.arange(len(pos)), -1)
        np.maximum.accumulate(back, out=back)
        ok = back >= 0
        ok[ok] = c[back[ok]] == c[ok]
        self.prev_strong = np.where(ok, back, -1)
        self.rank: np.ndarray | None = None  # key rank of each position (when asked)
        self.good = np.zeros(0, dtype=np.int64)

    def last_same(self, qi: np.ndarray, win_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`last` for the alerts' own codes: the previous key, no search needed."""
        if self.rank is None:
            self.rank = np.full(self.m, -1, dtype=np.int64)
            self.rank[self.pos] = np.arange(len(self.pos))
        r = self.rank[qi]
        j = r - 1
        jj = np.maximum(j, 0)
        ok = (r >= 1) & (self.key[jj] >= self.key[np.maximum(r, 0)] - qi)  # same code
        return self._answer(qi, j, ok, win_ns)

    def last(self, qi: np.ndarray, qc: np.ndarray, win_ns: int,
             grouped: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Links ``(asker, partner)`` within ``win_ns``; ``self.good`` indexes the answered
        queries. ``grouped``: the queries come in runs of one code with ``qi`` ascending
        (sorted needles keep the binary search in cache: several times faster than random
        ones at a million keys); otherwise they are grouped here."""
        base = np.asarray(qc, dtype=np.int64) * self.m
        if grouped:
            j = np.searchsorted(self.key, base + qi, side="left") - 1
        else:
            o = np.argsort(_small(qc), kind="stable")
            j = np.empty(len(qi), dtype=np.int64)
            j[o] = np.searchsorted(self.key, (base + qi)[o], side="left") - 1
        ok = (j >= 0) & (self.key[np.maximum(j, 0)] >= base)  # same code
        return self._answer(qi, j, ok, win_ns)

    def _answer(self, qi: np.ndarray, j: np.ndarray, ok: np.ndarray,
                win_ns: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.flatnonzero(ok)
        q, jj = qi[idx], j[idx]
        lq = self.lt[q]
        # the latest candidate already too old: no partner (a weak asker's is older still)
        near = lq - self.lt[self.pos[jj]] <= win_ns
        idx, q, jj, lq = idx[near], q[near], jj[near], lq[near]
        weak = ~self.strong[q]
        if weak.any():
            jj[weak] = self.prev_strong[jj[weak]]
            keep = jj >= 0
            p = self.pos[np.maximum(jj, 0)]
            keep &= lq - self.lt[p] <= win_ns
            idx, q, p = idx[keep], q[keep], p[keep]
        else:
            p = self.pos[jj]
        self.good = idx
        return q, p

def _top_parent(size: int, child: np.ndarray, parent: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
    """Per child (0..size-1) the largest (most recent) parent, -1 where none."""
    top = np.empty(size, dtype=np.int64) if out is None else out[:size]
    top.fill(-1)
    np.maximum.at(top, child, parent)
    return top


def _expand_grouped(i: np.ndarray, svc: np.ndarray, indptr: np.ndarray, nbr: np.ndarray,
                    dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alert, neighbouring service, hops) pairs for the ascending alerts ``i`` (the alert's
    own service left out), in runs of one (service, neighbour) pair with the alerts ascending
    inside each run."""
    o = i[np.argsort(_small(svc[i]), kind="stable")]  # alerts by service, ascending
    n_svc = len(indptr) - 1
    cnt = np.bincount(svc[o], minlength=n_svc)
    off = np.cumsum(cnt) - cnt
    ps = np.repeat(np.arange(n_svc), np.diff(indptr))  # the service of each CSR pair
    size = cnt[ps]
    keep = (size > 0) & (dist > 0)  # other services only
    ps, pc, pd_, size = ps[keep], nbr[keep], dist[keep], size[keep]
    total = int(size.sum())
    within = np.arange(total) - np.repeat(np.cumsum(size) - size, size)
    qi = o[np.repeat(off[ps], size) + within]
    return qi, np.repeat(pc.astype(np.int64), size), np.repeat(pd_, size)


def _expand(i: np.ndarray, svc: np.ndarray, indptr: np.ndarray, nbr: np.ndarray,
            dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alert, neighbouring service, hops) pairs for the alerts ``i``."""
    start = indptr[svc[i]]
    cnt = indptr[svc[i] + 1] - start
    qi = np.repeat(i, cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    k = np.repeat(start, cnt) + offs
    return qi, nbr[k].astype(np.int64), dist[k]


def _label_codes(df: pd.DataFrame, key: str) -> np.ndarray:
    if key in df.columns:
        vals = df[key]
    else:
        vals = pd.Series([d.get(key) if isinstance(d, dict) else _label_from_text(d, key)
                          for d in df["labels"]], index=df.index, dtype=object)
    codes = pd.factorize(vals.astype(object).where(vals.notna(), None))[0]
    return codes.astype(np.int64)


def _label_from_text(value: Any, key: str) -> Any:
    if isinstance(value, str):  # "k=v,k2=v2"
        for part in re.split(r"[,;]\s*", value):
            k, sep, v = part.partition("=")
            if sep and k.strip() == key:
                return v.strip()
    return None


def label_value(labels: Any, key: str) -> Any:
    return labels.get(key) if isinstance(labels, dict) else _label_from_text(labels, key)
