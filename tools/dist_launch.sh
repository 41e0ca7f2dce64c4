#!/usr/bin/env bash
# Starts NPROC processes of a tool on this node: one per GPU, or CPU
# processes (gloo) when there is no GPU. Used by dist_train.sh/dist_test.sh.
# Usage: bash tools/dist_launch.sh TOOL.py NPROC [tool arguments]
# Environment: NNODES, NODE_RANK, MASTER_ADDR, PORT for several nodes (one
# launcher per node, the same MASTER_ADDR and PORT on all, a work dir every
# node shares). On SIGTERM torchrun forwards the signal and waits
# TORCH_ELASTIC_SHUTDOWN_TIMEOUT seconds (30) for the processes to save.
set -euo pipefail
TOOL=$1
NPROC=$2

PYTHONPATH="$(dirname "$0")/..:${PYTHONPATH:-}" \
python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" \
    "$(dirname "$0")/$TOOL" \
    "${@:3}" --launcher pytorch
