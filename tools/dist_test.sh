#!/usr/bin/env bash
# Tests a checkpoint with NPROC processes (GPUs, or CPU processes).
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py options]
set -euo pipefail
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
