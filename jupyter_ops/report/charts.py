"""Charts of a report as embedded SVG, rendered so that no spec can fetch, crash or leak.

Three defences, in order:

1. :func:`jupyter_ops.safetext.safe_spec` removes every URL (``data.url``, image ``url``,
   ``href``, ``usermeta``) and makes control characters visible in every string, so a chart
   is drawn from inline data only and the text vl-convert lays out is valid XML.
2. vl-convert is called with ``allowed_base_urls=[]``: even a URL we missed is refused
   (network and file access off).
3. vl-convert *aborts the process* (a Rust panic in a function that cannot unwind, no
   Python exception) when a text it measures holds a character XML forbids. Strings in the
   spec are made safe by (1), but a Vega expression in a tampered spec can still build such
   a character at render time (``"calculate": "'\\x1b'"``). Specs this process built from
   its own results are rendered in-process (fast); specs read from a report JSON file --
   which anyone could have edited -- are rendered in a separate Python process, so a panic
   costs that chart, not the kernel or the CLI. Measured on the 2-core dev machine (loaded):
   one chart in-process 0.35 s warm / 1.9 s cold, in a worker process 2.7 s for one chart and
   3.4 s for three (one worker per report, not per chart).

Any rendering failure degrades to the section without its chart plus a note saying why.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from typing import Any

from ..htmltext import esc
from ..safetext import safe_spec

__all__ = ["chart_html", "render_svgs", "WORKER_TIMEOUT"]

#: seconds a worker process may take for all charts of one report
WORKER_TIMEOUT = 300.0

# The worker imports only vl_convert (not jupyter_ops), so it runs whatever sys.path is.
# One JSON line per spec in, one JSON line per chart out (flushed), so when a spec kills
# the worker the parent knows which one it was and restarts after it.
_WORKER = r"""
import json, sys
import vl_convert as vlc
for line in sys.stdin:
    job = json.loads(line)
    try:
        out = {"svg": vlc.vegalite_to_svg(job["spec"], vl_version=job["vl_version"],
                                          allowed_base_urls=[])}
    except Exception as e:
        lines = [x.strip() for x in str(e).splitlines() if x.strip()] or [type(e).__name__]
        out = {"error": next((x for x in lines if x.startswith("Error")), lines[0])[:300]}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
"""


def render_svgs(specs: list[dict[str, Any]], isolate: bool) -> list[tuple[str | None, list[str]]]:
    """SVG text (or None) and notes for each Vega-Lite spec, in order.

    Parameters
    ----------
    specs : list of dict
        Vega-Lite specs; they are made safe here (see the module docstring).
    isolate : bool
        Render in a separate process (for specs that came from a file).
    """
    jobs = []
    results: list[tuple[str | None, list[str]]] = []
    for spec in specs:
        notes: list[str] = []
        clean = safe_spec(spec, notes) if isinstance(spec, dict) else None
        if clean is None:
            notes.append("chart spec is not a JSON object")
        results.append((None, notes))
        jobs.append(None if clean is None else {"spec": clean, "vl_version": _vl_version(clean)})
    todo = [i for i, j in enumerate(jobs) if j is not None]
    if not todo:
        return results
    outs = _render_isolated([jobs[i] for i in todo]) if isolate else [_render_here(jobs[i]) for i in todo]
    for i, out in zip(todo, outs, strict=True):
        svg, notes = out.get("svg"), results[i][1]
        if svg is None:
            notes.append(f"chart not rendered: {out.get('error') or 'unknown error'}")
        results[i] = (svg, notes)
    return results


def chart_html(svg: str | None, notes: list[str], title: str) -> str:
    """An ``<img>`` with the SVG as a ``data:`` URI (or nothing) plus the notes, escaped."""
    parts = []
    if svg is not None:
        data = base64.b64encode(svg.encode("utf-8", "backslashreplace")).decode("ascii")
        parts.append(f'<img class="jops-chart" alt="{esc(title or "chart")}" '
                     f'src="data:image/svg+xml;base64,{data}">')
    parts += [f'<div class="jops-note">{esc(n)}</div>' for n in notes]
    return "".join(parts)


def _render_here(job: dict[str, Any]) -> dict[str, Any]:
    import vl_convert as vlc

    try:
        return {"svg": vlc.vegalite_to_svg(job["spec"], vl_version=job["vl_version"],
                                          allowed_base_urls=[])}
    except Exception as e:  # vl-convert raises ValueError for invalid specs and refused URLs
        # its message is "Vega-Lite to SVG conversion failed:" then the JS error and a stack
        lines = [x.strip() for x in str(e).splitlines() if x.strip()] or [type(e).__name__]
        return {"error": next((x for x in lines if x.startswith("Error")), lines[0])[:300]}


def _render_isolated(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Render ``jobs`` in worker processes; a worker that dies costs only the chart it was on."""
    outs: list[dict[str, Any]] = []
    while len(outs) < len(jobs):
        rest = jobs[len(outs):]
        payload = "".join(json.dumps(j) + "\n" for j in rest)
        try:
            proc = subprocess.run([sys.executable, "-c", _WORKER], input=payload, text=True,
                                  capture_output=True, timeout=WORKER_TIMEOUT, encoding="utf-8")
        except subprocess.TimeoutExpired:
            outs += [{"error": f"renderer took longer than {WORKER_TIMEOUT:.0f} s"}] * len(rest)
            break
        done = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        outs += done[:len(rest)]
        if len(outs) < len(jobs):
            # the worker died on the next spec (e.g. vl-convert aborted): skip it, go on
            why = _death(proc)
            outs.append({"error": f"the chart renderer failed on this chart ({why})"})
    return outs


def _death(proc: subprocess.CompletedProcess) -> str:
    lines = [x for x in (proc.stderr or "").splitlines() if x.strip()]
    panic = next((x for x in lines if "panicked" in x or "Error" in x), "")
    reason = f"exit status {proc.returncode}"
    if "NonXmlChar" in proc.stderr or "ParsingFailed" in proc.stderr:
        reason += ", a character XML forbids"
    elif panic:
        reason += ", " + panic.strip()[:120]
    return reason


def _vl_version(spec: dict[str, Any]) -> str | None:
    """The vl-convert Vega-Lite version closest to the spec's ``$schema``."""
    m = re.search(r"/v(\d+)\.(\d+)", str(spec.get("$schema", "")))
    if not m:
        return None
    import vl_convert as vlc

    want = f"{m.group(1)}.{m.group(2)}"
    versions = [v.lstrip("v") for v in vlc.get_vegalite_versions()]
    if want in versions:
        return want
    same_major = [v for v in versions if v.split(".")[0] == m.group(1)]
    return same_major[-1] if same_major else None
