#!/usr/bin/env bash
# Lab-extension steps of CI, run from the repository root after
#   apt-get install -y chromium  and  .venv/bin/pip install -e ".[test]"
# (the editable install already ran the hatch build hook: jlpm install && jlpm build in
# labextension/, and installed the extension and the server-extension config into .venv).
# Usage: bash .ci/labextension.sh [VENV]   (default .venv)
set -euo pipefail
VENV="${1:-.venv}"
export PATH="$PWD/$VENV/bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# link the extension's build output so JupyterLab serves the tree's build (idempotent)
jupyter labextension develop --overwrite . >/dev/null
# (captured first: grep -q closing the pipe early would fail the script under pipefail)
labext="$(jupyter labextension list 2>&1)"
echo "$labext"
grep -Eq "jupyter-ops v[^ ]+ .*enabled.*OK" <<<"$labext"
srvext="$(jupyter server extension list 2>&1)"
grep -Eq "jupyter_ops .*enabled" <<<"$srvext"
test -x /usr/bin/chromium || { echo "chromium missing: apt-get install -y chromium" >&2; exit 1; }
echo "lab extension ready (TypeScript unit, server, browser and wheel tests run under pytest)"
