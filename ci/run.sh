#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: the main job. Boots the virtual board and records the state of
# every CMA area into results/<run-id>/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/ci/lib.sh"

run_id=$(date +%Y%m%d-%H%M%S)-$(series_hash)
dir=$ROOT/results/$run_id
mkdir -p "$dir"
info "run: booting the board (results: results/$run_id)"
VM_QUIET=1 "$ROOT/ci/vm/run.sh" -- "ci/board/status.sh > '$dir/board.txt'" </dev/null
cp "$ROOT/build/vm/last/console.log" "$dir/console.log"
cat "$dir/board.txt"
echo "run: results in results/$run_id"
