"""The built wheel carries the prebuilt lab extension: installed where no Node.js exists,
JupyterLab lists it enabled and OK and starts with it without errors.

Slow-ish (builds and installs a wheel, starts JupyterLab twice): marked ``wheel`` so it can be
deselected locally with ``-m "not wheel"``; CI runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.wheel


def _run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> str:
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}:\n{out[-4000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel .`` (runs the hatch build hook; reuses a prebuilt extension if present)."""
    out = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ)
    # the build hook calls jlpm / jupyter-builder from this environment when it must build
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", str(ROOT), "-w", str(out)], env, ROOT, timeout=600)
    (whl,) = out.glob("jupyter_ops-*.whl")
    return whl


@pytest.fixture(scope="module")
def nodeless_venv(wheel, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the wheel installed; dependencies come from this environment's
    site-packages (appended by a .pth), the lab extension only from the wheel; no node on PATH."""
    base = tmp_path_factory.mktemp("venv")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (site / "outer-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --ignore-installed: without it pip uninstalls the outer (editable) jupyter-ops first
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
          "--prefix", str(venv), str(wheel)], dict(os.environ), base)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VIRTUAL_ENV"))}
    env.update({
        "PATH": str(venv / "bin"),
        "HOME": str(base / "home"),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    })
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("npm", path=env["PATH"]) is None
    return py, env


def test_wheel_holds_the_prebuilt_extension_and_server_config(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    data = "jupyter_ops-" + wheel.name.split("-")[1] + ".data/data/"
    ext = data + "share/jupyter/labextensions/jupyter-ops/"
    assert ext + "package.json" in names
    assert ext + "install.json" in names
    assert ext + "schemas/jupyter-ops/plugin.json" in names
    assert any(n.startswith(ext + "static/remoteEntry.") for n in names)
    assert data + "etc/jupyter/jupyter_server_config.d/jupyter_ops.json" in names
    # no build inputs or node_modules in the wheel
    assert not [n for n in names if "/node_modules/" in n or n.endswith((".ts", ".tsx"))]


def test_extension_listed_enabled_and_ok_without_node(nodeless_venv):
    py, env = nodeless_venv
    out = _run([str(py), "-m", "jupyterlab.labextensions", "list"], env, Path(env["HOME"]).parent)
    line = next((ln for ln in out.splitlines() if "jupyter-ops" in ln), "")
    plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
    assert re.search(r"jupyter-ops v\S+ enabled OK", plain), out
    # found in the fresh venv's prefix, i.e. installed from the wheel
    assert f"{py.parents[1]}/share/jupyter/labextensions" in out, out
    out = _run([str(py), "-m", "jupyter_server.extension.serverextension", "list"], env,
               Path(env["HOME"]).parent)
    assert re.search(r"jupyter_ops\s+enabled", re.sub(r"\x1b\[[0-9;]*m", "", out)), out


def test_browser_check_without_node(nodeless_venv):
    """JupyterLab's own check, as the extension template runs it where Node.js is absent."""
    py, env = nodeless_venv
    out = _run([str(py), "-m", "jupyterlab.browser_check", "--no-browser-test",
                "--ServerApp.allow_root=True"], env, Path(env["HOME"]).parent)
    assert "jupyter-ops server extension loaded" in out


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_browser_check_in_chromium_without_node(nodeless_venv):
    """The same check with the browser step in Chromium: the page starts without errors and
    the jupyter-ops plugins are activated."""
    pytest.importorskip("playwright")
    py, env = nodeless_venv
    script = ROOT / "tests" / "browser" / "_browser_check.py"
    out = _run([str(py), str(script), "--ServerApp.allow_root=True"], env,
               Path(env["HOME"]).parent, timeout=240)
    assert "Browser check passed" in out, out[-3000:]
