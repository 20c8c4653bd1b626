"""The IPython extension: loading, magic registration, %ops_report, light imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from IPython.core.error import UsageError

from jupyter_ops.magics import MAGIC_MODULES
from jupyter_ops.report.session import session_log
from jupyter_ops.results import Result


class Tiny(Result):
    kind = "tiny"

    def summary(self):
        return "3 things <b>found</b>"

    def tables(self):
        return {"things": pd.DataFrame({"name": ["a", "<script>x</script>", "c"]})}


def _project_magics(ip) -> set[str]:
    import importlib

    names = set()
    for mod in MAGIC_MODULES:
        for cls in importlib.import_module(mod).MAGICS:
            for kind in ("line", "cell"):
                names |= set(cls.magics[kind])
    return names


def test_load_ext_registers_every_project_magic_and_is_idempotent(ip):
    ip.run_line_magic("load_ext", "jupyter_ops")  # second time: harmless
    ip.run_line_magic("reload_ext", "jupyter_ops")
    names = _project_magics(ip)
    assert "ops_report" in names
    registered = set(ip.magics_manager.magics["line"]) | set(ip.magics_manager.magics["cell"])
    assert names <= registered
    listing = str(ip.run_line_magic("lsmagic", ""))
    for name in names:
        assert name in listing


def test_magic_help_is_real(ip):
    doc = ip.magics_manager.magics["line"]["ops_report"].__doc__
    assert "%ops_report [--title TITLE]" in doc and "--title" in doc and "--format" in doc


def test_ops_report_writes_what_was_run(ip, tmp_path):
    session_log().add(Tiny(), call="%tiny_magic data")
    ip.run_line_magic("ops_report", "r.html --title 'My <postmortem>'")
    html = (tmp_path / "r.html").read_text()
    assert "My &lt;postmortem&gt;" in html
    assert "%tiny_magic data" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script" not in html
    ip.run_line_magic("ops_report", "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["sections"][0]["provenance"]["call"] == "%tiny_magic data"
    ip.run_line_magic("ops_report", "notes.txt --format md")
    assert (tmp_path / "notes.txt").read_text().startswith("# jupyter-ops report")


def test_ops_report_errors_are_one_line_usage_errors(ip, tmp_path):
    with pytest.raises(UsageError, match="nothing to report yet"):
        ip.run_line_magic("ops_report", "r.html")
    session_log().add(Tiny(), call="%tiny")
    with pytest.raises(UsageError, match="needs a file path"):
        ip.run_line_magic("ops_report", "")
    with pytest.raises(UsageError, match=r"cannot tell the report format from 'r\.pdf'") as e:
        ip.run_line_magic("ops_report", "r.pdf")
    assert "\n" not in str(e.value)
    with pytest.raises(UsageError, match="folder .* does not exist"):
        ip.run_line_magic("ops_report", "nowhere/r.html")
    with pytest.raises(UsageError, match="invalid choice"):
        ip.run_line_magic("ops_report", "r.html --format pdf")
    assert not list(tmp_path.glob("*.html"))


def test_ops_report_list_and_clear(ip):
    session_log().add(Tiny(), call="%first")
    session_log().add(Tiny(), call="%second")
    assert ip.run_line_magic("ops_report", "--list") == "1. %first\n2. %second"
    ip.run_line_magic("ops_report", "--clear")
    assert len(session_log()) == 0


def test_import_and_load_ext_do_not_import_heavy_libraries():
    code = (
        "import sys, jupyter_ops\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'jupyter_ops')\n"
        "heavy = [m for m in ('mlflow', 'sklearn', 'altair', 'vl_convert', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported at load time: {out.stdout.strip()}"


def test_lazy_namespaces_resolve_public_names():
    import jupyter_ops
    from jupyter_ops import report

    assert jupyter_ops.report is report
    assert report.Report.__name__ == "Report"
    with pytest.raises(AttributeError):
        jupyter_ops.aiops.no_such_function  # noqa: B018


def test_a_module_imported_first_does_not_trip_over_the_lazy_namespace():
    # `from . import _common` inside io/canonical.py used to trigger a namespace scan that
    # imported io/alertmanager.py, which imports canonical back half-initialised
    code = ("import jupyter_ops.io.canonical as c\n"
            "from jupyter_ops import io\n"
            "print(io.normalize_level(['E']).iloc[0], io._common.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr.strip().splitlines()[-1:]
    assert out.stdout.split() == ["error", "jupyter_ops.io._common"]
