#!/usr/bin/env bash
# Quick start 1: sets up .venv, then runs the DisCo story on the digits data
# (teacher, MoCo-v2 student, DisCo student, evaluation table).
# Usage: bash tools/demo.sh [digits_demo.py options, e.g. --seeds 0 1 2]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
# As in an activated environment: tools that call `python` find this one.
export PATH="${DISCO_VENV:-$ROOT/.venv}/bin:$PATH"
exec python tools/digits_demo.py "$@"
