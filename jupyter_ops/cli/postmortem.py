"""``jupyter-ops postmortem``: run the postmortem template notebook on your files.

papermill fills the template's ``parameters`` cell and executes it in a real kernel; nbconvert
exports the executed notebook as HTML without input cells. ``--out`` receives
``postmortem.ipynb`` (executed), ``postmortem.html`` (no code), and the report the notebook
writes (``report.json``/``.html``/``.md``, verifiable with ``jupyter-ops report verify``).

Everything is made in a temporary folder beside ``--out`` and moved in only when all of it
succeeded, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import OpsInputError

TEMPLATE = "templates/postmortem.ipynb"
OUTPUTS = ("postmortem.ipynb", "postmortem.html", "report.json", "report.html", "report.md")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "postmortem", help="run the postmortem notebook on your alerts (papermill + nbconvert)",
        description="Run the postmortem template notebook with papermill on your files, export "
        "it with nbconvert (HTML without code, and the executed notebook) and write its report "
        "to --out.")
    p.add_argument("--alerts", required=True, help="alerts file (CSV, JSON, Parquet, Alertmanager)")
    p.add_argument("--metrics", help="metric samples file (optional)")
    p.add_argument("--topology", help="service map file: caller, callee (optional)")
    p.add_argument("--deploys", help="deploys file: timestamp, service (optional)")
    p.add_argument("--logs", help="log records file (optional)")
    p.add_argument("--out", required=True, help="output folder (created; its parent must exist)")
    p.add_argument("--title", default="Postmortem", help="report title")
    p.add_argument("--window", default="5min", help="correlation window (default 5min)")
    p.add_argument("--template", help="another notebook with a 'parameters' cell to run instead")
    p.add_argument("--kernel", default=None, help="kernel name (default: the notebook's)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    inputs = {}
    for name in ("alerts", "metrics", "topology", "deploys", "logs"):
        value = getattr(args, name)
        if value is None:
            continue
        path = Path(value)
        if not path.is_file():
            raise OpsInputError(f"--{name} {value}: no such file")
        inputs[name] = str(path.resolve())
    template = Path(args.template) if args.template else None
    if template is not None and not template.is_file():
        raise OpsInputError(f"--template {args.template}: no such notebook")
    out = _out_folder(Path(args.out))
    params = {**inputs, "title": args.title, "window": args.window}
    result = run_postmortem(out, params, template=template, kernel=args.kernel,
                            timeout=args.timeout)
    for path in result:
        print(f"wrote {path}")
    return 0


def _out_folder(out: Path) -> Path:
    parent = out.resolve().parent
    if out.exists() and not out.is_dir():
        raise OpsInputError(f"--out {out} is a file; give a folder")
    if not parent.is_dir():
        raise OpsInputError(f"--out {out}: folder {parent} does not exist; create it first")
    target = out if out.exists() else parent
    if not os.access(target, os.W_OK):
        raise OpsInputError(f"--out {out}: folder {target} is read-only; choose another")
    clash = [n for n in OUTPUTS if (out / n).exists()] if out.exists() else []
    if clash:
        # replaced whole, as a set: say so rather than silently mixing two runs
        print(f"replacing {', '.join(clash)} in {out}")
    return out


def run_postmortem(out: Path, params: dict[str, Any], template: Path | None = None,
                   kernel: str | None = None, timeout: int = 600) -> list[Path]:
    """Execute the template with ``params`` and move its outputs into ``out`` (all or nothing).

    Returns the written paths. Raises :class:`OpsInputError` with the failing cell's error when
    the notebook fails (e.g. an input file lacks a column).
    """
    import papermill as pm

    out = Path(out)
    parent = out.resolve().parent
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as e:
        raise OpsInputError(f"cannot write in {parent}: {e.strerror or e}") from None
    try:
        source = template or resources.files("jupyter_ops").joinpath(TEMPLATE)
        with resources.as_file(source) if template is None else _same(source) as nb_in:
            executed = work / "postmortem.ipynb"
            try:
                pm.execute_notebook(
                    str(nb_in), str(executed), parameters={**params, "report_dir": str(work)},
                    kernel_name=kernel, cwd=str(work), progress_bar=False, log_output=False,
                    execution_timeout=timeout, report_mode=False)
            except pm.PapermillExecutionError as e:
                raise OpsInputError(
                    f"the postmortem notebook failed in cell {e.exec_count}: {e.ename}: "
                    f"{' '.join(str(e.evalue).split())[:300]}") from None
        _export_html(executed, work / "postmortem.html")
        os.makedirs(out, exist_ok=True)
        written = []
        for name in OUTPUTS:
            if (work / name).exists():
                os.replace(work / name, out / name)
                written.append(out / name)
        return written
    except OSError as e:
        raise OpsInputError(f"cannot write the postmortem to {out}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _same:
    """``with`` for a path that is already a file (mirrors ``resources.as_file``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: Any) -> None:
        return None


def _export_html(notebook: Path, target: Path) -> None:
    """nbconvert HTML without input cells; output HTML is sanitised (data never runs)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.sanitize_html = True
    body, _ = exporter.from_notebook_node(nb)
    # nbconvert's page links MathJax/require.js from a CDN: a postmortem attached to a ticket
    # must open offline and run nothing, so the page forbids scripts and remote loads
    csp = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
           "img-src data:; style-src 'unsafe-inline'; font-src data:\">")
    body = body.replace("<head>", "<head>" + csp, 1)
    target.write_text(body, encoding="utf-8")
