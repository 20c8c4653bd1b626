"""Runbook matching: suggest remediation steps for an incident; nothing is ever executed.

A runbook file (YAML or JSON) lists signatures and their steps::

    runbooks:
      - name: Database connection pool exhausted
        match:
          service: "*-db"               # glob on the service (optional)
          alert: "DBConnections.*"      # regex on the alert name (optional)
          message: "pool exhausted"     # regex on the alert message (optional)
          root_cause: true              # only when the service is the top root cause (optional)
        steps:
          - "Check active connections on the primary"
          - title: Raise the pool size temporarily
            command: "kubectl -n shop set env deploy/payments DB_POOL_MAX=200"

A runbook matches when one alert of the incident satisfies all of its criteria. Steps are
*suggestions*: :class:`Remediation` keeps them, :meth:`Remediation.approve` records a human's
approval, and in dry-run mode (the default, and the only mode that exists) it records what
*would* run. Commands from data are never run by this package (guardrail: start with
oversight).
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import getpass
import json
import os
import re
from typing import Any

import pandas as pd

from ..errors import OpsInputError
from ..results import Result

__all__ = ["suggest_remediation", "load_runbooks", "Remediation"]


def load_runbooks(runbooks: Any) -> list[dict[str, Any]]:
    """Read and check a runbook file (``.yaml``/``.yml``/``.json``), dict or list."""
    src = "runbooks"
    if isinstance(runbooks, (str, os.PathLike)):
        path = os.fspath(runbooks)
        src = os.path.basename(path)
        if not os.path.exists(path):
            raise OpsInputError(f"runbook file not found: {path!r}")
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if path.lower().endswith(".json"):
            try:
                runbooks = json.loads(text)
            except json.JSONDecodeError as e:
                raise OpsInputError(f"{src} is not valid JSON: {e.msg} at line {e.lineno}")
        else:
            import yaml

            try:
                runbooks = yaml.safe_load(text)  # safe_load: no Python objects from data
            except yaml.YAMLError as e:
                raise OpsInputError(f"{src} is not valid YAML: {str(e).splitlines()[0]}")
    if isinstance(runbooks, dict):
        runbooks = runbooks.get("runbooks", None)
    if not isinstance(runbooks, list) or not runbooks:
        raise OpsInputError(f"{src}: expected a list of runbooks (or a mapping with a "
                            "'runbooks' list), each with 'name', 'match' and 'steps'")
    out = []
    for i, rb in enumerate(runbooks):
        where = f"{src}: runbook {i + 1}"
        if not isinstance(rb, dict):
            raise OpsInputError(f"{where} is not a mapping")
        name = str(rb.get("name") or f"runbook {i + 1}")
        match = rb.get("match") or {}
        if not isinstance(match, dict) or not match:
            raise OpsInputError(f"{where} ({name!r}) needs a 'match' mapping with service, "
                                "alert and/or message")
        unknown = set(match) - {"service", "alert", "message", "root_cause", "severity"}
        if unknown:
            raise OpsInputError(f"{where} ({name!r}): unknown match key(s) "
                                f"{', '.join(sorted(unknown))}; use service, alert, message, "
                                "severity, root_cause")
        for key in ("alert", "message"):
            if key in match:
                try:
                    re.compile(str(match[key]))
                except re.error as e:
                    raise OpsInputError(f"{where} ({name!r}): match.{key} is not a valid "
                                        f"regular expression: {e}")
        if "severity" in match:
            from .. import io

            # the alerts' severities are canonical: spell the runbook's the same way (crit, P1)
            given = match["severity"] if isinstance(match["severity"], list) \
                else [match["severity"]]
            canon = [str(c) for c in io.normalize_severity(given)]
            bad = [g for g, c in zip(given, canon, strict=True)
                   if c == "unknown" and str(g).strip().lower() != "unknown"]
            if bad:
                raise OpsInputError(f"{where} ({name!r}): match.severity {bad[0]!r} is not a "
                                    "severity; use critical, error, warning, info or unknown")
            match = {**match, "severity": canon}
        steps = rb.get("steps")
        if not isinstance(steps, list) or not steps:
            raise OpsInputError(f"{where} ({name!r}) needs a non-empty 'steps' list")
        norm = []
        for j, st in enumerate(steps):
            if isinstance(st, str):
                norm.append({"title": st, "command": ""})
            elif isinstance(st, dict) and (st.get("title") or st.get("command")):
                norm.append({"title": str(st.get("title") or st.get("command")),
                             "command": str(st.get("command") or "")})
            else:
                raise OpsInputError(f"{where} ({name!r}): step {j + 1} must be text or a "
                                    "mapping with title/command")
        out.append({"name": name, "match": match, "steps": norm})
    return out


def suggest_remediation(incident: Any, runbooks: Any, root_cause: str | None = None,
                        incident_id: int | None = None) -> Remediation:
    """Match an incident's alerts against runbooks and list the suggested steps.

    Parameters
    ----------
    incident : Incident, Correlation or DataFrame
        An :class:`~jupyter_ops.aiops.Incident` (or a Correlation with ``incident_id=``, or
        the alerts of one incident).
    runbooks : path, dict or list
        See the module docstring for the format.
    root_cause : str, optional
        The most likely root-cause service (e.g. from :func:`rank_root_causes`); runbooks
        with ``root_cause: true`` only match alerts on it, and its matches come first.
    incident_id : int, optional
        Which incident of a Correlation.

    Returns
    -------
    Remediation
        ``.steps``: ``runbook``, ``step``, ``title``, ``command`` (text only), ``matched``
        (the alert that matched), ``service``, ``status`` (``suggested``).
    """
    from ..provenance import make_provenance
    from ._incidents import canonical_alerts
    from .correlation import Correlation, Incident

    if isinstance(incident, Correlation):
        if incident_id is None:
            raise OpsInputError("suggest_remediation(correlation, ...) needs incident_id=")
        inc = incident.incident(int(incident_id))
    elif isinstance(incident, Incident):
        inc = incident
    else:
        al = canonical_alerts(incident, "incident alerts")
        inc = Incident(1, al, al["timestamp"].min(), al["timestamp"].max(),
                       tuple(dict.fromkeys(al["service"])), "incident", "unknown")
    books = load_runbooks(runbooks)
    al = inc.alerts
    # one row per distinct alert source keeps matching cheap on big incidents
    src = al.drop_duplicates(["service", "name", "message"])
    rows = []
    for rb in books:
        m = rb["match"]
        ok = pd.Series(True, index=src.index)
        if "service" in m:
            pats = m["service"] if isinstance(m["service"], list) else [m["service"]]
            ok &= src["service"].map(
                lambda s, pats=pats: any(fnmatch.fnmatchcase(s, str(p)) for p in pats))
        if "alert" in m:
            ok &= src["name"].str.contains(str(m["alert"]), regex=True, na=False)
        if "message" in m:
            ok &= src["message"].str.contains(str(m["message"]), regex=True, na=False)
        if "severity" in m:  # canonical, see load_runbooks
            ok &= src["severity"].isin(m["severity"])
        if m.get("root_cause"):
            ok &= (src["service"] == root_cause) if root_cause else False
        hit = src[ok]
        if hit.empty:
            continue
        if root_cause and (hit["service"] == root_cause).any():
            hit = hit[hit["service"] == root_cause]
        first = hit.sort_values("timestamp").iloc[0]
        for j, st in enumerate(rb["steps"], start=1):
            rows.append({"runbook": rb["name"], "step": j, "title": st["title"],
                         "command": st["command"],
                         "matched": f"{first['name']} on {first['service']}",
                         "service": first["service"],
                         "on_root_cause": bool(root_cause) and first["service"] == root_cause,
                         "status": "suggested"})
    steps = pd.DataFrame(rows, columns=["runbook", "step", "title", "command", "matched",
                                        "service", "on_root_cause", "status"])
    if len(steps):
        steps = steps.sort_values(["on_root_cause"], ascending=False, kind="stable") \
            .reset_index(drop=True)
    result = Remediation(inc, steps)
    result.provenance = make_provenance(
        "suggest_remediation", {"incident_id": inc.incident_id, "root_cause": root_cause},
        inputs={"runbooks": runbooks if isinstance(runbooks, (str, os.PathLike)) else books})
    return result


class Remediation(Result):
    """Suggested runbook steps for one incident, with a human approval log.

    Nothing here executes anything: :meth:`approve` records who approved which step and, as a
    dry run, the command that *would* be run by a human or an external tool.
    """

    kind = "remediation"

    def __init__(self, incident: Any, steps: pd.DataFrame) -> None:
        super().__init__()
        self.incident = incident
        self.steps = steps
        self.dry_run = True
        self.approvals: list[dict[str, Any]] = []

    def approve(self, index: int, by: str | None = None, note: str = "") -> dict[str, Any]:
        """Record a human's approval of step ``index`` (a row of ``.steps``); never executes.

        Returns the approval record: ``step``, ``runbook``, ``title``, ``approved_by``,
        ``approved_at``, ``dry_run`` and ``would_run`` (the command text, not run).
        """
        if not 0 <= int(index) < len(self.steps):
            raise OpsInputError(f"no step {index}; steps are numbered 0 to "
                                f"{len(self.steps) - 1}")
        row = self.steps.iloc[int(index)]
        try:
            who = by or getpass.getuser()
        except Exception:  # pragma: no cover - no login name in some containers
            who = "unknown"
        rec = {"step": int(index), "runbook": row["runbook"], "title": row["title"],
               "approved_by": who,
               "approved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
               "dry_run": True, "would_run": row["command"] or "(manual step)", "note": note}
        self.approvals.append(rec)
        self.steps.loc[self.steps.index[int(index)], "status"] = "approved (dry run)"
        return rec

    @property
    def title(self) -> str:
        return f"Remediation suggestions for incident {self.incident.incident_id}"

    def summary(self) -> str:
        if not len(self.steps):
            return "no runbook matches this incident"
        books = self.steps["runbook"].nunique()
        return (f"{books} runbook(s) match, {len(self.steps)} step(s) suggested; dry run: "
                "nothing is executed, approvals are recorded")

    def figures(self) -> list[dict[str, Any]]:
        return [{"label": "runbooks", "value": int(self.steps["runbook"].nunique())},
                {"label": "steps", "value": len(self.steps)},
                {"label": "approved", "value": len(self.approvals)},
                {"label": "mode", "value": "dry run"}]

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"steps": self.steps}
        if self.approvals:
            out["approvals"] = pd.DataFrame(self.approvals)
        return out
