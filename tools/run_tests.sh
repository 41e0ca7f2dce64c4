#!/usr/bin/env bash
# Quick start 2: sets up .venv, then runs the test suite.
# Usage: bash tools/run_tests.sh [pytest options]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
# As in an activated environment: tools that call `python` find this one.
export PATH="${DISCO_VENV:-$ROOT/.venv}/bin:$PATH"
exec python -m pytest tests -o tmp_path_retention_policy=failed "$@"
