#!/usr/bin/env bash
# stepcart serve under load (issue [5 of 6]):
#  1. checkouts per second through POST /checkouts to completion on the durable SQLite store, with
#     p50/p99 latency: wrk keeps C connections busy, each request carries a unique Idempotency-Key and
#     `Prefer: wait=10`, so every response arrives when its checkout has ended (start-to-end latency);
#     then `stepcart check` verifies the store's invariants after the run;
#  2. the Step Functions API side by side with a peer, moto's server (Step Functions executing ASL),
#     both driven by the same boto3 client with a 10-state Pass/Choice workflow.
#
#   scripts/bench/serve-load.sh    builds stepcart (release), installs wrk (Debian) and moto (PyPI) if
#                                  missing, prints JSON lines and a Markdown table
#
# Environment: DURATION (seconds per wrk run, default 20), CONNECTIONS (default "4 8 16"),
# API_EXECUTIONS (stepcart, default 2000), PEER_EXECUTIONS (moto, default 100).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
duration=${DURATION:-20}
connections=${CONNECTIONS:-"4 8 16"}
api_n=${API_EXECUTIONS:-2000}
peer_n=${PEER_EXECUTIONS:-100}
tools=$root/.tools
mkdir -p "$tools"

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian)" >&2
  apt-get install -y -q wrk >&2 || { apt-get update -q >&2 && apt-get install -y -q wrk >&2; }
fi
if [ ! -x "$tools/aws-py/bin/moto_server" ]; then
  python3 -m venv "$tools/aws-py" >&2
  "$tools/aws-py/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6' >&2
fi
echo "building stepcart (release)" >&2
cargo build --release -q -p stepcart >&2
bin=$root/target/release/stepcart

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_stepcart() { # db -> sets $port and $server
  "$bin" serve --addr 127.0.0.1:0 --db "$1" >"$work/serve.out" 2>"$work/serve.err" &
  server=$!
  pids+=("$server")
  for _ in $(seq 100); do
    if grep -q '^listening on' "$work/serve.out" 2>/dev/null; then
      port=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.out")
      return
    fi
    sleep 0.1
  done
  echo "stepcart serve did not start:" >&2
  cat "$work/serve.err" >&2
  exit 1
}

echo "load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
results=()
for c in $connections; do
  db=$work/load-$c.db
  "$bin" seed --catalog scripts/bench/load/catalog.json --db "$db" >&2
  start_stepcart "$db"
  # A short warm-up, so that the first connections do not measure page-cache misses.
  (cd scripts/bench/load && wrk -t1 -c"$c" -d2s -s checkout.lua "http://127.0.0.1:$port" -- "warm" cart.json >/dev/null)
  line=$(cd scripts/bench/load && wrk -t1 -c"$c" -d"${duration}s" -s checkout.lua "http://127.0.0.1:$port" -- "c$c" cart.json | tail -1)
  kill "$server"
  wait "$server" 2>/dev/null || true
  "$bin" check --db "$db" >&2
  line=${line%\}}", \"connections\": $c}"
  echo "$line"
  results+=("$line")
done

echo "the Step Functions API: stepcart serve vs moto server (boto3, 4 clients, 10-state workflow)" >&2
start_stepcart "$work/api.db"
stepcart_line=$("$tools/aws-py/bin/python" scripts/bench/serve-peer.py --endpoint "http://127.0.0.1:$port" \
  --executions "$api_n" --clients 4 --label stepcart)
echo "$stepcart_line"
moto_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$tools/aws-py/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf -X POST "http://127.0.0.1:$moto_port/moto-api/config" -H 'Content-Type: application/json' \
  -d '{"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}}' >/dev/null
moto_line=$("$tools/aws-py/bin/python" scripts/bench/serve-peer.py --endpoint "http://127.0.0.1:$moto_port" \
  --executions "$peer_n" --clients 4 --label moto)
echo "$moto_line"

python3 - "$stepcart_line" "$moto_line" "${results[@]}" <<'PY'
import json, sys
stepcart, moto = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("\n| connections | checkouts/s (to completion) | p50 ms | p90 ms | p99 ms | max ms | failed |")
print("|---|---|---|---|---|---|---|")
for line in sys.argv[3:]:
    r = json.loads(line)
    print(f"| {r['connections']} | {r['checkoutsPerSecond']:.0f} | {r['p50Ms']:.1f} | {r['p90Ms']:.1f} | {r['p99Ms']:.1f} | {r['maxMs']:.1f} | {r['failed'] + r['errors']} |")
ratio = stepcart["executionsPerSecond"] / moto["executionsPerSecond"]
print("\n| Step Functions API, 10-state workflow | executions/s | p50 ms | p99 ms |")
print("|---|---|---|---|")
for r in (stepcart, moto):
    print(f"| {r['label']} ({r['executions']} executions) | {r['executionsPerSecond']} | {r['p50Ms']} | {r['p99Ms']} |")
print(f"\nstepcart / moto: {ratio:.1f}x")
PY
