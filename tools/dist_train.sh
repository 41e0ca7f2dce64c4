#!/usr/bin/env bash
# Trains with NPROC processes: one per GPU, or CPU processes without GPUs.
# Usage: bash tools/dist_train.sh CONFIG NPROC [train.py options]
set -euo pipefail
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
