"""``profile``: a small, mergeable, JSON-serialisable summary of a reference dataset.

A nightly drift check should not reload the training data: compute ``profile(reference)``
once, save it (JSON, never pickle) and pass it to :func:`~jupyter_ops.mlops.drift` in place of
the reference frame. Profiles of chunks merge into exactly the profile of the whole (the
merge adds counts; only the float moments can differ in the last bits).

What a column keeps:

* numbers: counts of missing and infinite values, min, max, sum and sum of squares, and a
  log-bucket quantile sketch with relative accuracy 0.5% (DDSketch-style: a value ``x`` falls
  in bucket ``ceil(log_gamma |x|)``, ``gamma = 1.005/0.995``; buckets are fixed by the value
  alone, so merging is adding counts). While a column has at most 50 distinct values its exact
  value counts are kept as well, and every test on it is then exact;
* categories: exact counts per category (up to 10,000 categories; beyond, the column is marked
  as an identifier and skipped by drift);
* datetime and text columns: row and missing counts only.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OpsInputError
from ._colstats import MAX_CATEGORIES, SMALL_UNIQUE, ColumnStats, detect_kind, from_series
from .stattests import Counted

__all__ = ["profile", "Profile", "SKETCH_ALPHA"]

SCHEMA = "jupyter-ops.profile/1"
#: relative accuracy of the numeric quantile sketch
SKETCH_ALPHA = 0.005
_GAMMA = (1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA)
_LOG_GAMMA = math.log(_GAMMA)
#: values closer to zero than this share the zero bucket
_ZERO = 1e-12


class Profile:
    """Summary of a dataset's columns; see the module docstring for what each column keeps.

    Use :func:`profile` to make one, :meth:`merge` to combine chunk profiles,
    :meth:`save` / :meth:`load` to store it as JSON.
    """

    def __init__(self, columns: dict[str, dict[str, Any]], n_rows: int) -> None:
        self._cols = columns
        self.n_rows = int(n_rows)

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def column(self, name: str) -> dict[str, Any]:
        """The raw JSON summary of one column."""
        return self._cols[name]

    # -- combining -------------------------------------------------------------------------
    def merge(self, other: Profile) -> Profile:
        """The profile of the two datasets stacked (same columns required)."""
        if not isinstance(other, Profile):
            raise OpsInputError(f"can only merge a Profile with a Profile, got {type(other).__name__}")
        if set(self._cols) != set(other._cols):
            raise OpsInputError(f"cannot merge profiles with different columns: {sorted(set(self._cols) ^ set(other._cols))}")
        return Profile({c: _merge_col(self._cols[c], other._cols[c]) for c in self._cols},
                       self.n_rows + other.n_rows)

    def __add__(self, other: Profile) -> Profile:
        return self.merge(other)

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "n_rows": self.n_rows, "sketch_alpha": SKETCH_ALPHA,
                "columns": self._cols}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise OpsInputError(f"not a jupyter-ops profile (expected schema {SCHEMA!r})")
        if data.get("sketch_alpha") != SKETCH_ALPHA:
            raise OpsInputError("profile made with a different sketch accuracy; recompute it")
        cols, n_rows = data.get("columns"), data.get("n_rows")
        if (not isinstance(cols, dict) or not all(isinstance(c, dict) for c in cols.values())
                or not isinstance(n_rows, int) or isinstance(n_rows, bool) or n_rows < 0):
            raise OpsInputError("profile is damaged or was edited (columns/n_rows malformed); "
                                "recompute it with 'jupyter-ops mlops profile'")
        return cls(dict(cols), n_rows)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the profile as JSON (atomically)."""
        from ..atomic import write_atomic

        path = Path(path)
        write_atomic(path, json.dumps(self.to_json(), separators=(",", ":"), allow_nan=False))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Profile:
        """Read a profile written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise OpsInputError(f"profile file not found: {path}")
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
            raise OpsInputError(f"{path} is not a profile JSON file: {type(e).__name__}: {e}")
        return cls.from_json(data)

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON (used as the input hash in provenance)."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and _equal(self.to_json(), other.to_json())

    def __repr__(self) -> str:
        return f"Profile({self.n_rows:,} rows, {len(self._cols)} columns)"

    # -- for drift -------------------------------------------------------------------------
    def stats(self, name: str) -> ColumnStats:
        """The column as a :class:`ColumnStats` (exact where the profile is exact)."""
        c = self._cols[name]
        st = ColumnStats(name=name, kind=c["kind"], dtype=c["dtype"], n_rows=c["n_rows"],
                         n_missing=c["n_missing"], notes=list(c.get("notes", [])))
        if c["kind"] == "numeric":
            st.n_inf = c["n_inf"]
            if c.get("small") is not None:
                vals = np.array(c["small"][0], dtype="float64")
                cnts = np.array(c["small"][1], dtype="int64")
                order = np.argsort(vals)
                sample = Counted(vals[order], cnts[order], exact=True)
            else:
                vals, cnts = _sketch_values(c)
                sample = Counted(vals, cnts, exact=False)
                n = c["count"]
                if n:
                    mean = c["sum"] / n
                    sample.sd = math.sqrt(max(c["sumsq"] / n - mean * mean, 0.0))
            st.sample = sample
            st.n_unique = c["n_unique_small"] if c.get("small") is not None else len(vals)
        elif c["kind"] == "categorical":
            st.too_many = c["too_many"]
            st.n_unique = c["n_unique"]
            if c["counts"] is not None:
                s = pd.Series(c["counts"][1], index=pd.Index(c["counts"][0], dtype=object), dtype="int64")
                st.counts = s.sort_values(ascending=False, kind="stable")
        return st


def profile(df: Any, columns: list[str] | None = None, *, engine: str | None = None,
            client: Any = None, progress: bool = False) -> Profile:
    """Summarise a frame for later drift checks.

    Parameters
    ----------
    df : DataFrame
        Reference data (or one chunk of it: ``profile(a).merge(profile(b))`` equals
        ``profile(pd.concat([a, b]))``).
    columns : list of str, optional
        Columns to keep (default all).
    engine : {None, "dask"}
        ``"dask"`` (implied by a Dask DataFrame; ``df`` may then be Parquet/CSV paths):
        profile the partitions on a Dask cluster and merge them (same profile).
    client : distributed.Client or str, optional
        Dask client or scheduler address (default: the current client, if any).
    progress : bool
        Dask only: show a progress bar.

    Returns
    -------
    Profile

    Notes
    -----
    With a profile as reference, chi-squared, Jensen-Shannon and PSI on categories are exact;
    numeric columns with at most 50 distinct values are exact for every test. Other numeric
    columns use the sketch: KS and Wasserstein are approximate (each value is known within
    0.5% of its magnitude; the KS statistic can be off by up to the reference mass of one
    sketch bucket), the Wasserstein normalisation uses the exact standard deviation.
    """
    from ..scale import is_dask

    if engine is not None or is_dask(df):
        from ..scale.drift import _check_engine, profile_dask

        _check_engine(engine)
        return profile_dask(df, columns, client=client, progress=progress)
    if not isinstance(df, pd.DataFrame):
        raise OpsInputError(f"profile() needs a DataFrame, got {type(df).__name__}")
    cols = [str(c) for c in df.columns]
    df = df.set_axis(cols, axis=1)
    if columns is not None:
        missing = [c for c in columns if c not in cols]
        if missing:
            raise OpsInputError(f"column(s) {missing} not found; the frame has {cols[:20]}")
        cols = list(columns)
    return Profile({c: _profile_col(df[c]) for c in cols}, len(df))


def _profile_frame(df: pd.DataFrame, kinds: dict[str, str]) -> Profile:
    """Profile of one partition, with the column kinds decided for the whole dataset."""
    return Profile({c: _profile_col(df[c], kinds[c]) for c in df.columns}, len(df))


def _profile_col(s: pd.Series, kind: str | None = None) -> dict[str, Any]:
    kind = kind or detect_kind(s)
    base: dict[str, Any] = {"kind": kind, "dtype": str(s.dtype), "n_rows": int(len(s))}
    if kind == "numeric":
        st = from_series(s, kind=kind)
        x = st.sample
        base.update(n_missing=st.n_missing, n_inf=st.n_inf, count=x.n)
        v = np.repeat(x.values, x.counts) if x.n else np.zeros(0)
        base.update(sum=float(v.sum()), sumsq=float(np.dot(v, v)),
                    min=float(x.values[0]) if x.n else None,
                    max=float(x.values[-1]) if x.n else None)
        base.update(_sketch(x.values, x.counts))
        if x.n_unique <= SMALL_UNIQUE:
            base["small"] = [x.values.tolist(), x.counts.tolist()]
            base["n_unique_small"] = x.n_unique
        else:
            base["small"] = None
        return base
    if kind == "categorical":
        st = from_series(s, kind=kind)
        base.update(n_missing=st.n_missing, notes=st.notes, n_unique=st.n_unique,
                    too_many=st.too_many)
        if st.too_many:
            base["counts"] = None
        else:
            c = st.counts.sort_index()
            base["counts"] = [c.index.tolist(), [int(v) for v in c.to_numpy()]]
        return base
    base["n_missing"] = int(s.isna().sum())
    return base


def _sketch(values: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    pos, neg = values > _ZERO, values < -_ZERO
    zero = int(counts[~(pos | neg)].sum())

    def buckets(v: np.ndarray, c: np.ndarray) -> list[list[int]]:
        if not len(v):
            return [[], []]
        keys = np.ceil(np.log(v) / _LOG_GAMMA).astype("int64")
        uk, inv = np.unique(keys, return_inverse=True)
        return [uk.tolist(), np.bincount(inv, weights=c).astype("int64").tolist()]

    return {"zero": zero, "pos": buckets(values[pos], counts[pos]),
            "neg": buckets(-values[neg], counts[neg])}


def _sketch_values(c: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Bucket representatives (sorted) and counts."""
    def rep(keys: list[int]) -> np.ndarray:
        k = np.asarray(keys, dtype="float64")
        return 2.0 * np.exp(k * _LOG_GAMMA) / (_GAMMA + 1.0)

    nv, nc = rep(c["neg"][0]), np.asarray(c["neg"][1], dtype="int64")
    pv, pc = rep(c["pos"][0]), np.asarray(c["pos"][1], dtype="int64")
    vals = np.concatenate([-nv[::-1], [0.0] if c["zero"] else [], pv])
    cnts = np.concatenate([nc[::-1], [c["zero"]] if c["zero"] else [], pc]).astype("int64")
    # min and max are exact: the outer buckets are represented by them
    if len(vals):
        vals = np.clip(vals, c["min"], c["max"])
        vals[0], vals[-1] = c["min"], c["max"]
    return vals, cnts


def _add_buckets(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    d: dict[int, int] = dict(zip(a[0], a[1], strict=True))
    for k, v in zip(b[0], b[1], strict=True):
        d[k] = d.get(k, 0) + v
    keys = sorted(d)
    return [keys, [d[k] for k in keys]]


def _merge_col(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    # a chunk where the column is all missing may have been typed differently: adopt the other
    if a["kind"] != b["kind"]:
        if a["n_missing"] == a["n_rows"]:
            a = _empty_like(b, a)
        elif b["n_missing"] == b["n_rows"]:
            b = _empty_like(a, b)
        else:
            raise OpsInputError(f"cannot merge profiles: column kinds differ ({a['kind']} vs {b['kind']})")
    out = {"kind": a["kind"], "dtype": a["dtype"], "n_rows": a["n_rows"] + b["n_rows"],
           "n_missing": a["n_missing"] + b["n_missing"]}
    if a["kind"] == "numeric":
        out.update(n_inf=a["n_inf"] + b["n_inf"], count=a["count"] + b["count"],
                   sum=a["sum"] + b["sum"], sumsq=a["sumsq"] + b["sumsq"],
                   min=_opt(min, a["min"], b["min"]), max=_opt(max, a["max"], b["max"]),
                   zero=a["zero"] + b["zero"], pos=_add_buckets(a["pos"], b["pos"]),
                   neg=_add_buckets(a["neg"], b["neg"]))
        if a["small"] is not None and b["small"] is not None:
            d: dict[float, int] = dict(zip(a["small"][0], a["small"][1], strict=True))
            for k, v in zip(b["small"][0], b["small"][1], strict=True):
                d[k] = d.get(k, 0) + v
            if len(d) <= SMALL_UNIQUE:
                keys = sorted(d)
                out["small"] = [keys, [d[k] for k in keys]]
                out["n_unique_small"] = len(keys)
            else:
                out["small"] = None
        else:
            out["small"] = None
        return out
    if a["kind"] == "categorical":
        out["notes"] = list(dict.fromkeys(a.get("notes", []) + b.get("notes", [])))
        if a["counts"] is None or b["counts"] is None:
            out.update(counts=None, too_many=True, n_unique=max(a["n_unique"], b["n_unique"]))
            return out
        d2: dict[str, int] = dict(zip(a["counts"][0], a["counts"][1], strict=True))
        for k, v in zip(b["counts"][0], b["counts"][1], strict=True):
            d2[k] = d2.get(k, 0) + v
        if len(d2) > MAX_CATEGORIES:
            out.update(counts=None, too_many=True, n_unique=len(d2))
        else:
            keys2 = sorted(d2)
            out.update(counts=[keys2, [d2[k] for k in keys2]], too_many=False, n_unique=len(d2))
        return out
    return out


def _empty_like(template: dict[str, Any], empty: dict[str, Any]) -> dict[str, Any]:
    out = {"kind": template["kind"], "dtype": template["dtype"], "n_rows": empty["n_rows"],
           "n_missing": empty["n_missing"]}
    if template["kind"] == "numeric":
        out.update(n_inf=0, count=0, sum=0.0, sumsq=0.0, min=None, max=None, zero=0,
                   pos=[[], []], neg=[[], []], small=[[], []], n_unique_small=0)
    elif template["kind"] == "categorical":
        out.update(notes=[], counts=[[], []], too_many=False, n_unique=0)
    return out


def _opt(f: Any, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return f(a, b)


def _equal(a: Any, b: Any) -> bool:
    """Structural equality; floats (the moments) compared to 1e-12 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b
