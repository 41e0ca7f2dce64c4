#!/usr/bin/env bash
# Quick start 2: sets up .venv, then runs the test suite.
# Usage: bash tools/run_tests.sh [pytest options]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "${DISCO_VENV:-$ROOT/.venv}/bin/python" -m pytest tests "$@"
