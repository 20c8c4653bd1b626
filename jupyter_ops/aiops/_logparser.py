"""The template miner's state: masking cache, distinct masked lines and their grouping.

Pipeline for a batch of lines (see ``docs/logs.md`` for the pedigree):

1. user masks (if any) replace their matches with ``<*>``;
2. every digit run becomes ``0`` (the line's *shape*; one C-level regex over the whole batch);
3. a dictionary maps each shape to a *key*: the shape with the built-in masks applied (the
   mask regex runs only on a shape never seen before, so real logs mask at dictionary speed);
4. keys (distinct masked lines, with counts, first/last line and time) are grouped into
   templates by a frequency rule in the spirit of Brain (Yu et al., 2023): within keys of the
   same token count, the tokens that share the key's most common position-wise frequency form
   its constant pattern; the other positions are variables when they take ``threshold`` or more
   distinct values (or differ only in masked parts), otherwise they split the group.

Grouping runs on the distinct keys (thousands, not millions of lines) and is recomputed from
all keys after each batch, so mining in batches gives exactly the one-shot result.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from ._masking import WILDCARD, Masker, collapse_digits, compile_user, normalize_masks

STATE_VERSION = 1
#: lines per internal chunk (bounds the temporary memory of the batch regex)
CHUNK = 65536
#: distinct shapes cached before the cache starts afresh (a cache, not state)
SHAPE_CACHE_MAX = 1_000_000
#: keys with more tokens than this are not merged with others (e.g. 1 MB garbage lines)
MAX_TOKENS = 256

_TOKEN = re.compile(r"\S+")
_SKELETON = re.compile(r"<\*>|\W")
_RUN = re.compile(r"(?:<\*>){2,}")
_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z_-]*")
_NAME_PREFIX = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*[_.-])+")
_NAT = np.iinfo(np.int64).min


class _ShapeCache(dict):
    """shape -> key id; a miss masks the shape (the only place the big regex runs)."""

    def __init__(self, state: ParserState) -> None:
        super().__init__()
        self.state = state

    def __missing__(self, shape: str) -> int:
        kid = self.state._key_of(self.state._mask(shape))
        self[shape] = kid
        return kid


class ParserState:
    """Mergeable, JSON-serialisable state of the miner (no per-line data).

    Holds the distinct masked lines (*keys*) with their counts, first/last global line
    number and time and an example line; templates are computed from them by
    :meth:`regroup`. Work splits as chunk -> partial state (:meth:`add` with the chunk's
    global ``start``) -> :meth:`merge` -> :meth:`regroup`.

    Parameters
    ----------
    masks : list, dict or str, optional
        Extra regexes whose matches are variables (see ``mine_templates``).
    threshold : int, default 4
        Distinct values that make a position of a group a variable.
    word_threshold : int, optional
        The same for positions whose values are plain words (default: ``threshold``).
    variants : {"wildcard", "prefix"}, default "wildcard"
        Which rare variable shapes join their event (see ``mine_templates``).
    """

    def __init__(self, masks: Any = None, threshold: int = 4, word_threshold: int | None = None,
                 variants: str = "wildcard") -> None:
        self.masks = normalize_masks(masks)
        self.threshold = int(threshold)
        #: distinct plain words (no digit, no variable) a position needs to be a variable
        self.word_threshold = int(word_threshold) if word_threshold is not None \
            else self.threshold
        #: "prefix": values differing only in a name prefix (rdd_<*>/broadcast_<*>) are one
        #: variable; "wildcard": also values that all hold a variable where one is a bare
        #: variable (a rare shape of a big event's variable: LOCAL(<*>) beside <*>), or 3+
        #: distinct values that all hold a variable
        if variants not in ("prefix", "wildcard"):
            raise ValueError(f"variants must be 'prefix' or 'wildcard', got {variants!r}")
        self.variants = variants
        self._user = compile_user(self.masks)
        self._mask = Masker()
        self._cache = _ShapeCache(self)
        self.keys: list[str] = []
        self._key_index: dict[str, int] = {}
        self.count = np.zeros(0, dtype=np.int64)
        self.first_line = np.zeros(0, dtype=np.int64)
        self.last_line = np.zeros(0, dtype=np.int64)
        self.first_ts = np.zeros(0, dtype=np.int64)
        self.last_ts = np.zeros(0, dtype=np.int64)
        self.example: list[str] = []
        self.n_lines = 0
        self._next_line = 0  # global number of the next line added
        # grouping (recomputed by regroup, per token-count bucket)
        self._buckets: dict[int, list[int]] = {}
        self._dirty: set[int] = set()
        self._bucket_groups: dict[int, list[tuple[list[int], str]]] = {}
        self.key_group = np.zeros(0, dtype=np.int64)
        self.templates: list[str] = []

    # -- adding lines -----------------------------------------------------------------------
    def _key_of(self, key: str) -> int:
        kid = self._key_index.get(key)
        if kid is None:
            kid = len(self.keys)
            self._key_index[key] = kid
            self.keys.append(key)
            self.example.append("")
            self._bucket(kid, key)
        return kid

    def _bucket(self, kid: int, key: str) -> None:
        n = len(key.split())
        b = n if n <= MAX_TOKENS else -(kid + 1)  # very long keys: a bucket of their own
        self._buckets.setdefault(b, []).append(kid)
        self._dirty.add(b)

    def key_ids(self, lines: list[str]) -> np.ndarray:
        """Key id of each line (adds new keys; does not count)."""
        out = np.empty(len(lines), dtype=np.int64)
        if len(self._cache) > SHAPE_CACHE_MAX:  # bounded memory on logs of endless shapes
            self._cache.clear()
        cache = self._cache
        for start in range(0, len(lines), CHUNK):
            chunk = lines[start:start + CHUNK]
            if self._user is not None:
                chunk = [self._user.sub(WILDCARD, s) for s in chunk]
            big = "\n".join(chunk)
            if big.count("\n") == len(chunk) - 1:
                shapes = collapse_digits(big).split("\n")
            else:  # some "line" holds a newline itself: collapse one by one
                shapes = [collapse_digits(s) for s in chunk]
            out[start:start + len(chunk)] = [cache[s] for s in shapes]
        return out

    def add(self, lines: list[str], ts: np.ndarray | None = None,
            start: int | None = None) -> np.ndarray:
        """Count a batch of lines (``ts``: int64 ns per line, NaT as int64 min) -> key ids.

        ``start`` is the global number of the batch's first line (default: right after the
        lines counted so far); partitions mined apart pass their offset so that
        :meth:`merge` can order templates by first appearance.
        """
        if start is not None:
            self._next_line = int(start)
        base = self._next_line
        n_before = len(self.keys)
        ids = self.key_ids(lines)
        n_keys = len(self.keys)
        grow = n_keys - n_before
        if grow:
            self.count = np.concatenate([self.count, np.zeros(grow, np.int64)])
            self.first_line = np.concatenate([self.first_line, np.full(grow, -1, np.int64)])
            self.last_line = np.concatenate([self.last_line, np.full(grow, -1, np.int64)])
            self.first_ts = np.concatenate([self.first_ts, np.full(grow, _NAT, np.int64)])
            self.last_ts = np.concatenate([self.last_ts, np.full(grow, _NAT, np.int64)])
        if len(ids):
            self.count += np.bincount(ids, minlength=n_keys)
            uniq, first = np.unique(ids, return_index=True)
            new = self.first_line[uniq] < 0
            for k, i in zip(uniq[new].tolist(), first[new].tolist(), strict=True):
                self.example[k] = lines[i]
            self.first_line[uniq[new]] = first[new] + base
            rev_uniq, rev_first = np.unique(ids[::-1], return_index=True)
            self.last_line[rev_uniq] = np.maximum(self.last_line[rev_uniq],
                                                  len(ids) - 1 - rev_first + base)
            if ts is not None:
                ok = ts != _NAT
                if ok.any():
                    k_ok, t_ok = ids[ok], ts[ok]
                    first_ts = np.full(n_keys, np.iinfo(np.int64).max, np.int64)
                    np.minimum.at(first_ts, k_ok, t_ok)
                    last_ts = np.full(n_keys, _NAT, np.int64)
                    np.maximum.at(last_ts, k_ok, t_ok)
                    seen = first_ts != np.iinfo(np.int64).max
                    cur = self.first_ts
                    self.first_ts = np.where(seen & ((cur == _NAT) | (first_ts < cur)), first_ts, cur)
                    self.last_ts = np.maximum(self.last_ts, last_ts)
        self.n_lines += len(ids)
        self._next_line = base + len(ids)
        return ids

    # -- merging ----------------------------------------------------------------------------
    def merge(self, other: ParserState) -> ParserState:
        """The state of both inputs together (a new state; neither input changes).

        Exact, associative and commutative: counts add up, first/last line and time take
        the minimum/maximum, each key keeps the example of its earliest line, and keys are
        ordered by first appearance, so mining partitions apart (each with its global
        ``start`` line) and merging gives the templates, ids and counts of one pass.

        Raises
        ------
        ValueError
            When the two states were mined with different masks or thresholds.
        """
        if self._settings() != other._settings():
            raise ValueError("cannot merge template states mined with different masks or "
                             f"thresholds ({self.masks}, {self.threshold} vs {other.masks}, "
                             f"{other.threshold})")
        index: dict[str, int] = {}
        keys: list[str] = []
        rows: list[tuple[ParserState, int]] = []
        for st in (self, other):
            for kid, key in enumerate(st.keys):
                if key not in index:
                    index[key] = len(keys)
                    keys.append(key)
                rows.append((st, kid))
        n = len(keys)
        count = np.zeros(n, np.int64)
        first_line = np.full(n, np.iinfo(np.int64).max, np.int64)
        last_line = np.full(n, -1, np.int64)
        big = np.iinfo(np.int64).max
        first_ts = np.full(n, big, np.int64)
        last_ts = np.full(n, _NAT, np.int64)
        example = [""] * n
        for st in (self, other):
            idx = np.asarray([index[k] for k in st.keys], dtype=np.int64)
            if not len(idx):
                continue
            count[idx] += st.count
            earlier = st.first_line < first_line[idx]
            for j in np.flatnonzero(earlier).tolist():
                example[idx[j]] = st.example[j]
            first_line[idx] = np.minimum(first_line[idx], st.first_line)
            last_line[idx] = np.maximum(last_line[idx], st.last_line)
            first_ts[idx] = np.minimum(first_ts[idx], np.where(st.first_ts == _NAT, big,
                                                               st.first_ts))
            last_ts[idx] = np.maximum(last_ts[idx], st.last_ts)
        first_ts[first_ts == big] = _NAT
        order = sorted(range(n), key=lambda i: (int(first_line[i]), keys[i]))
        out = ParserState(masks=self.masks, threshold=self.threshold,
                          word_threshold=self.word_threshold, variants=self.variants)
        out.keys = [keys[i] for i in order]
        out._key_index = {k: i for i, k in enumerate(out.keys)}
        for kid, key in enumerate(out.keys):
            out._bucket(kid, key)
        o = np.asarray(order, dtype=np.int64)
        out.count, out.first_line, out.last_line = count[o], first_line[o], last_line[o]
        out.first_ts, out.last_ts = first_ts[o], last_ts[o]
        out.example = [example[i] for i in order]
        out.n_lines = self.n_lines + other.n_lines
        out._next_line = max(self._next_line, other._next_line)
        out.regroup()
        return out

    # -- grouping ---------------------------------------------------------------------------
    def regroup(self) -> None:
        """Group all keys into templates (deterministic; ordered by first appearance).

        Keys of different token counts never share a template, so only the token-count
        buckets that received new keys since the last call are grouped again; the result is
        the same as grouping everything from scratch.
        """
        for b in self._dirty:
            self._bucket_groups[b] = _bucket_templates(self._buckets[b], self.keys,
                                                       self._rules())
        self._dirty.clear()
        # one template per text: groups whose templates read the same are one template
        by_text: dict[str, list[int]] = {}
        for groups in self._bucket_groups.values():
            for members, text in groups:
                by_text.setdefault(text, []).extend(members)
        final = [(sorted(m), t) for t, m in by_text.items()]
        final.sort(key=lambda x: x[0][0])  # members ascend: the first is the earliest key
        key_group = np.zeros(len(self.keys), dtype=np.int64)
        for gi, (members, _) in enumerate(final):
            key_group[members] = gi
        self.key_group = key_group
        self.templates = [t for _, t in final]

    def _rules(self) -> tuple[int, int, str]:
        return self.threshold, self.word_threshold, self.variants

    def _settings(self) -> tuple[Any, ...]:
        return (self.masks,) + self._rules()

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def ts_list(a: np.ndarray) -> list[int | None]:
            return [None if v == _NAT else int(v) for v in a.tolist()]

        return {
            "version": STATE_VERSION,
            "masks": [list(m) for m in self.masks],
            "threshold": self.threshold,
            "word_threshold": self.word_threshold,
            "variants": self.variants,
            "n_lines": self.n_lines,
            "next_line": self._next_line,
            "keys": list(self.keys),
            "count": self.count.tolist(),
            "first_line": self.first_line.tolist(),
            "last_line": self.last_line.tolist(),
            "first_ts": ts_list(self.first_ts),
            "last_ts": ts_list(self.last_ts),
            "example": list(self.example),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParserState:
        if int(d.get("version", 0)) > STATE_VERSION:
            raise ValueError(f"state version {d.get('version')} is newer than this "
                             f"jupyter-ops understands ({STATE_VERSION}); upgrade jupyter-ops")
        state = cls(masks=[tuple(m) for m in d.get("masks", [])], threshold=d.get("threshold", 4),
                    word_threshold=d.get("word_threshold"),
                    variants=d.get("variants", "wildcard"))
        state.keys = [str(k) for k in d["keys"]]
        state._key_index = {k: i for i, k in enumerate(state.keys)}
        for kid, key in enumerate(state.keys):
            state._bucket(kid, key)
        n = len(state.keys)
        state.count = np.asarray(d["count"], dtype=np.int64).reshape(n)
        state.first_line = np.asarray(d["first_line"], dtype=np.int64).reshape(n)
        state.last_line = np.asarray(d["last_line"], dtype=np.int64).reshape(n)
        state.first_ts = np.asarray([_NAT if v is None else v for v in d["first_ts"]],
                                    dtype=np.int64).reshape(n)
        state.last_ts = np.asarray([_NAT if v is None else v for v in d["last_ts"]],
                                   dtype=np.int64).reshape(n)
        state.example = [str(e) for e in d["example"]]
        state.n_lines = int(d["n_lines"])
        state._next_line = int(d.get("next_line", state.n_lines))
        state.regroup()
        return state


def _bucket_templates(ids: list[int], keys: list[str],
                      rules: tuple[int, int, str]) -> list[tuple[list[int], str]]:
    """Groups (global key ids, ascending) and their templates for the keys ``ids``."""
    toks: list[list[str]] = []
    seps: list[list[str]] = []
    for kid in ids:
        t, s = _split(keys[kid])
        toks.append(t)
        seps.append(s)
    out: list[tuple[list[int], str]] = []
    for g in _group(toks, rules):
        if len(g) == 1:  # a key on its own is its template (tokens and spaces re-joined)
            key = keys[ids[g[0]]]
            out.append(([ids[g[0]]], _RUN.sub(WILDCARD, key) if "<*><*>" in key else key))
            continue
        template = _template(g, toks, seps)
        parts = template.split(WILDCARD)
        ok = [j for j in g if match_params(parts, keys[ids[j]]) is not None]
        if len(ok) == len(g):
            out.append(([ids[j] for j in g], template))
            continue
        # keys that are no instance of the template (whitespace that differs next to a
        # constant) keep their own template, so parameters always reproduce the line
        if ok:
            out.append(([ids[j] for j in ok], _template(ok, toks, seps)))
        ok_set = set(ok)
        for j in g:
            if j not in ok_set:
                out.append(([ids[j]], _RUN.sub(WILDCARD, keys[ids[j]])))
    return out


def _split(key: str) -> tuple[list[str], list[str]]:
    """Tokens and the whitespace around them (``len(seps) == len(tokens) + 1``)."""
    return key.split(), _TOKEN.split(key)


def _group(toks: list[list[str]], rules: tuple[int, int, str]) -> list[list[int]]:
    by_len: dict[int, list[int]] = {}
    groups: list[list[int]] = []
    for i, t in enumerate(toks):
        if len(t) > MAX_TOKENS:
            groups.append([i])
        else:
            by_len.setdefault(len(t), []).append(i)
    for n, idx in by_len.items():
        if n == 0 or len(idx) == 1:
            groups.append(idx)
            continue
        # position-wise token frequencies (Counter over each column counts in C)
        freq = [Counter(col) for col in zip(*(toks[i] for i in idx), strict=True)]
        # the key's "longest common pattern": tokens sharing its most common frequency
        roots: dict[tuple, list[int]] = {}
        for i in idx:
            t = toks[i]
            fs = [f[tok] for f, tok in zip(freq, t, strict=True)]
            if min(fs) == max(fs):
                best = fs[0]
            else:  # most common frequency value; ties go to the higher frequency
                best = max(Counter(fs).items(), key=_by_count_then_value)[0]
            root = (best,) + tuple(tok if f == best else None for f, tok in zip(fs, t,
                                                                                 strict=True))
            roots.setdefault(root, []).append(i)
        for root, members in roots.items():
            free = [p for p in range(n) if root[p + 1] is None]
            groups.extend(_split_group(members, free, toks, rules))
    return groups


def _split_group(members: list[int], free: list[int], toks: list[list[str]],
                 rules: tuple[int, int, str]) -> list[list[int]]:
    """Split a pattern group at its non-pattern positions (left to right, recursively).

    A position is a variable of the (sub)group when it takes ``threshold`` or more distinct
    values or its values differ only in masked parts; otherwise each value is a child group,
    and the remaining positions are judged within each child (Brain's downward tree).
    """
    threshold, word_threshold, variants = rules
    out: list[list[int]] = []
    stack = [(members, 0)]
    while stack:
        group, start = stack.pop()
        columns = list(zip(*(toks[i] for i in group), strict=True)) if start < len(free) else []
        for k in range(start, len(free)):
            p = free[k]
            values = set(columns[p])
            if len(values) == 1:
                continue
            plain = all(_PLAIN_WORD.fullmatch(v) for v in values)
            if len(values) >= (word_threshold if plain else threshold):
                continue
            if len({_SKELETON.sub("", v) for v in values}) == 1:
                continue  # differ only in masked parts: a variable
            if all(WILDCARD in v for v in values) and (
                    len({_NAME_PREFIX.sub("", v) for v in values}) == 1
                    or (variants == "wildcard" and (WILDCARD in values or len(values) >= 3))):
                continue  # variable-shaped ids that differ in a name prefix (rdd_<*>, broadcast_<*>)
            by_value: dict[str, list[int]] = {}
            for i in group:
                by_value.setdefault(toks[i][p], []).append(i)
            stack.extend((child, k + 1) for child in reversed(list(by_value.values())))
            break
        else:
            out.append(group)
    return out


def _by_count_then_value(item: tuple[int, int]) -> tuple[int, int]:
    return item[1], item[0]


def _common_prefix(values: list[str]) -> str:
    lo, hi = min(values), max(values)
    n = 0
    for a, b in zip(lo, hi, strict=False):
        if a != b:
            break
        n += 1
    return lo[:n]


def _safe_prefix(p: str) -> str:
    """A common prefix of masked tokens, cut before any (partial) wildcard."""
    i = p.find(WILDCARD)
    if i >= 0:
        p = p[:i]
    for partial in ("<*", "<"):
        if p.endswith(partial):
            return p[: -len(partial)]
    return p


def _safe_suffix(s: str) -> str:
    i = s.rfind(WILDCARD)
    if i >= 0:
        s = s[i + len(WILDCARD):]
    for partial in ("*>", ">"):
        if s.startswith(partial):
            return s[len(partial):]
    return s


def _variable(values: list[str]) -> str:
    prefix = _safe_prefix(_common_prefix(values))
    suffix = _safe_suffix(_common_prefix([v[::-1] for v in values])[::-1])
    shortest = min(len(v) for v in values)
    if len(prefix) + len(suffix) > shortest:
        suffix = suffix[len(prefix) + len(suffix) - shortest:]
    return prefix + WILDCARD + suffix


def _template(members: list[int], toks: list[list[str]], seps: list[list[str]]) -> str:
    first = members[0]
    if len(members) == 1:
        return _RUN.sub(WILDCARD, "".join(_interleave(seps[first], toks[first])))
    n = len(toks[first])
    out_toks: list[str] = []
    var = []
    columns = list(zip(*(toks[i] for i in members), strict=True))  # transposed in C
    for p in range(n):
        values = list(dict.fromkeys(columns[p]))
        if len(values) == 1:
            out_toks.append(values[0])
            var.append(False)
        else:
            out_toks.append(_variable(values))
            var.append(True)
    out_seps: list[str] = []
    sep_columns = list(zip(*(seps[i] for i in members), strict=True))
    for g in range(n + 1):
        values = list(dict.fromkeys(sep_columns[g]))
        if len(values) == 1:
            out_seps.append(values[0])
        elif g < n and var[g]:
            out_seps.append(_common_prefix(values))  # the rest goes into the variable
        elif g > 0 and var[g - 1]:
            out_seps.append(_common_prefix([v[::-1] for v in values])[::-1])
        else:
            out_seps.append(values[0])
    return _RUN.sub(WILDCARD, "".join(_interleave(out_seps, out_toks)))


def _interleave(seps: list[str], toks: list[str]) -> list[str]:
    out = [seps[0]]
    for t, s in zip(toks, seps[1:], strict=True):
        out.append(t)
        out.append(s)
    return out


def match_params(parts: list[str], text: str) -> list[str] | None:
    """Values of the wildcards of a template (split at ``<*>`` into ``parts``) in ``text``.

    Leftmost match of each literal; falls back to a regular expression when that fails.
    Returns None when ``text`` is no instance of the template.
    """
    if len(parts) == 1:
        return [] if text == parts[0] else None
    first, last = parts[0], parts[-1]
    end = len(text) - len(last)
    if end < len(first) or not text.startswith(first) or not text.endswith(last):
        return None
    pos = len(first)
    out: list[str] = []
    for lit in parts[1:-1]:
        j = text.find(lit, pos, end) if lit else pos
        if j < 0:
            return _match_regex(parts, text)
        out.append(text[pos:j])
        pos = j + len(lit)
    if pos > end:
        return _match_regex(parts, text)
    out.append(text[pos:end])
    return out


_REGEX_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def _match_regex(parts: list[str], text: str) -> list[str] | None:
    if len(text) > 100_000:  # keep the backtracking fallback away from huge lines
        return None
    key = tuple(parts)
    rx = _REGEX_CACHE.get(key)
    if rx is None:
        if len(_REGEX_CACHE) > 512:
            _REGEX_CACHE.clear()
        rx = re.compile("(.*?)".join(re.escape(p) for p in parts), re.DOTALL)
        _REGEX_CACHE[key] = rx
    m = rx.fullmatch(text)
    return list(m.groups()) if m else None


def render(template: str, params: list[str]) -> str:
    """Put parameter values back into a template (the inverse of :func:`match_params`)."""
    parts = template.split(WILDCARD)
    if len(params) != len(parts) - 1:
        raise ValueError(f"template has {len(parts) - 1} wildcards, got {len(params)} values")
    out = [parts[0]]
    for v, p in zip(params, parts[1:], strict=True):
        out.append(v)
        out.append(p)
    return "".join(out)
