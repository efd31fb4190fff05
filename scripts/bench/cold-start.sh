#!/usr/bin/env bash
# Lambda cold start (issue [3 of 6]: under 30 ms with all clients configured): each function's release
# binary (x86_64, this machine) started against the Runtime API emulator of
# tasks/lambdas/tests/runtime_api.rs with STEPCART_BACKEND=aws, timed from process start to its first
# `/runtime/invocation/next` request. Prints one JSON line per function (median, min, max over RUNS).
#
#   scripts/bench/cold-start.sh [RUNS]      default 10
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-10}
echo "load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
STEPCART_COLD_START_RUNS=$runs cargo test --release -q -p stepcart-lambdas --test runtime_api \
  cold_start_with_every_client_configured -- --nocapture --test-threads 1 2>&1 | grep '^{"function"'
