"""Loghub-2.0's four parsing measures (GA, FGA, PA, FTA) and its template normalisation.

Written from the definitions in Loghub-2.0 (Jiang et al., "A Large-scale Evaluation for Log
Parsing Techniques: How Far are We?", ISSTA 2024) and its evaluator:

* every template string (predicted and labelled) is normalised first by the post-processing
  rules the evaluator applies: DS (runs of whitespace -> one space, stripped), PS (a path-like
  token ``/a/b`` -> ``<*>``), BL/US (``true``, ``false``, ``null``, ``root``, ``admin`` ->
  ``<*>``), DG (a digit-only sub-token -> ``<*>``), WV (a sub-token holding ``<*>`` -> ``<*>``),
  DV (``<*>.<*>`` -> ``<*>``), CV (``<*><*>`` -> ``<*>``). Every corrected label of the 8
  development sets is a fixed point of these rules (checked by ``bench_logs.py``);
* groups are the lines sharing a (normalised) template string, on both sides;
* **GA**: share of lines whose predicted group holds exactly the lines of their true group;
* **FGA**: F1 of the share of predicted groups that equal a true group (precision) and the
  share of true groups found exactly (recall);
* **PA**: share of lines whose normalised predicted template equals the normalised label;
* **FTA**: F1 over templates: a predicted template counts when its group equals a true group
  and its string equals that group's label (precision over predicted templates, recall over
  true templates).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

_PATH_DELIMS = r"(\s|,|!|;|:|=|\||\"|'|\[|\]|\(|\)|\{|\})"
_TOKEN_DELIMS = r"(\s|,|!|;|:|=|\||\"|'|\[|\]|\(|\)|\{|\}|\.|-|\+|@|#|\$|%|&)"
_PATH = re.compile(r"^(/[^/]+)+$")
_DIGITS = re.compile(r"^\d+$")
_WV = re.compile(r"^[^\s/]*<\*>[^\s/]*$")
_SPECIAL = {"true", "false", "null", "root", "admin"}


def normalise(template: str) -> str:
    """A template string as Loghub-2.0's evaluator compares it."""
    t = re.sub(r"\s+", " ", str(template).strip())
    t = "".join("<*>" if _PATH.match(p) else p for p in re.split(_PATH_DELIMS, t))
    out = []
    for tok in re.split(_TOKEN_DELIMS, t):
        if tok.lower() in _SPECIAL or _DIGITS.match(tok):
            tok = "<*>"
        if _WV.match(tok) and tok != "<*>/<*>":
            tok = "<*>"
        out.append(tok)
    t = "".join(out)
    for pat in ("<*>.<*>", "<*><*>"):
        while pat in t:
            t = t.replace(pat, "<*>")
    return t


def measures(pred: list[str], true: list[str]) -> dict[str, float]:
    """GA, FGA, PA, FTA of predicted vs labelled template strings (one per line)."""
    pred = [normalise(p) for p in pred]
    true = [normalise(t) for t in true]
    n = len(pred)
    p_lines: dict[str, list[int]] = defaultdict(list)
    t_lines: dict[str, list[int]] = defaultdict(list)
    for i, (p, t) in enumerate(zip(pred, true, strict=True)):
        p_lines[p].append(i)
        t_lines[t].append(i)
    t_size = {t: len(v) for t, v in t_lines.items()}
    correct_lines = correct_groups = correct_templates = 0
    for p, rows in p_lines.items():
        labels = Counter(true[i] for i in rows)
        if len(labels) == 1:
            (t, k), = labels.items()
            if t_size[t] == k:
                correct_groups += 1
                correct_lines += k
                correct_templates += p == t
    def f1(a: float, b: float) -> float:
        return 2 * a * b / (a + b) if a + b else 0.0

    pga, rga = correct_groups / len(p_lines), correct_groups / len(t_lines)
    pta, rta = correct_templates / len(p_lines), correct_templates / len(t_lines)
    return {"GA": correct_lines / n, "FGA": f1(pga, rga),
            "PA": sum(p == t for p, t in zip(pred, true, strict=True)) / n,
            "FTA": f1(pta, rta)}
