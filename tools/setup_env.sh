#!/usr/bin/env bash
# Creates the project's virtual environment (.venv, or $DISCO_VENV) with
# disco_mm installed in editable mode and the test requirements, then prints
# nothing but errors. A second run reinstalls only when setup.py or a
# requirements file changed. Needs Python >= 3.10 ($PYTHON, default python3).
#
# The versions are those of requirements/constraints.txt, on which the test
# suite last passed. DISCO_UNPINNED=1 installs the newest versions the
# requirements allow instead (in a venv of its own, e.g. with
# DISCO_VENV=.venv-newest), to try the suite against them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${DISCO_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f'disco_mm needs Python >= 3.10, found {sys.version.split()[0]}; '
             'set PYTHON=/path/to/python3.10+')
PY

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
STAMP="$VENV/.disco_mm-installed"
CONSTRAINTS=(--constraint "$ROOT/requirements/constraints.txt")
[ "${DISCO_UNPINNED:-0}" = 1 ] && CONSTRAINTS=()
WANT=$( (cat "$ROOT/setup.py" "$ROOT"/requirements/*.txt; echo "${#CONSTRAINTS[@]}") \
    | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    echo "Installing disco_mm and its requirements into $VENV ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "${CONSTRAINTS[@]}" -e "$ROOT[tests]" >&2
    echo "$WANT" > "$STAMP"
fi
