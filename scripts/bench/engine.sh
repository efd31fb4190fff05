#!/usr/bin/env bash
# Engine throughput and memory (issue [2 of 6]): stepcart against aws-local-stepfunctions, in-process,
# nothing persisted, for the 10-state Pass/Choice workflow and the checkout workflow with stub tasks.
#
#   scripts/bench/engine.sh            installs the peer into .tools/, builds stepcart (release), measures
#
# Environment: STEPCART_ITERATIONS (default 200000), PEER_ITERATIONS (default 5000), PARK (memory
# mode executions, default 20000), OUT (JSON lines, default target/bench/engine.jsonl).
# Prints a Markdown table (executions/s, ratio stepcart/peer) and the memory per parked execution.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
stepcart_n=${STEPCART_ITERATIONS:-200000}
peer_n=${PEER_ITERATIONS:-5000}
park_k=${PARK:-20000}
out=${OUT:-target/bench/engine.jsonl}
mkdir -p "$(dirname "$out")" .tools
: >"$out"

echo "installing aws-local-stepfunctions 3.x into .tools/" >&2
npm install --prefix .tools --no-audit --no-fund --loglevel=error aws-local-stepfunctions@3 >&2
echo "building stepcart (release)" >&2
cargo build --release -q -p stepcart >&2
bin=target/release/stepcart

busy=$(pgrep -c rustc || true)
echo "load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg); other rustc processes: ${busy}" >&2

ten=(scripts/bench/workflows/ten-state.asl.json --input scripts/bench/ten-state-input.json)
checkout=(workflows/checkout.asl.json --input examples/carts/happy-path.json --stubs scripts/bench/checkout-stubs.json)

record() { # label engine workflow concurrency command...
  local label=$1 engine=$2 workflow=$3 concurrency=$4
  shift 4
  local line
  if ! line=$("$@"); then
    echo "FAILED: $*" >&2
    echo "$line" >&2
    exit 1
  fi
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(label=sys.argv[2], engine=sys.argv[3], workflow=sys.argv[4], concurrencyArg=int(sys.argv[5]), load=open("/proc/loadavg").read().split()[:3]); print(json.dumps(d))' \
    "$line" "$label" "$engine" "$workflow" "$concurrency" >>"$out"
  echo "  $engine $workflow c=$concurrency: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["executionsPerSecond"], "exec/s,", d["succeeded"], "succeeded,", d["notSucceeded"], "not")' "$line")" >&2
}

for workflow in ten-state checkout; do
  if [ "$workflow" = ten-state ]; then args=("${ten[@]}"); else args=("${checkout[@]}"); fi
  for c in 1 2 64; do
    record "$workflow c=$c" stepcart "$workflow" "$c" "$bin" bench "${args[@]}" --iterations "$stepcart_n" --concurrency "$c"
    record "$workflow c=$c" peer "$workflow" "$c" node scripts/bench/peer.mjs "${args[@]}" --iterations "$peer_n" --concurrency "$c"
    if [ "$c" = 2 ]; then
      # The other layout: one multi-thread runtime whose workers share one parsed definition.
      record "$workflow c=$c shared" stepcart-shared "$workflow" "$c" "$bin" bench "${args[@]}" --iterations "$stepcart_n" --concurrency "$c" --layout shared
    fi
  done
done

parked=(scripts/bench/workflows/ten-state-parked.asl.json --input scripts/bench/ten-state-input.json --stubs scripts/bench/park-stubs.json --park "$park_k")
for mode in snapshot live; do
  line=$("$bin" bench "${parked[@]}" --park-mode "$mode")
  echo "$line" >>"$out"
  echo "  memory ($mode): $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["rssPerExecutionKiB"], "KiB per parked execution")' "$line")" >&2
done

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
runs = {(r["workflow"], r["concurrencyArg"], r["engine"]): r for r in rows if "engine" in r}
print("| workflow | concurrency | stepcart exec/s | stepcart runtime | peer exec/s | peer runtime | stepcart/peer |")
print("|---|---|---|---|---|---|---|")
for wf in ("ten-state", "checkout"):
    for c in (1, 2, 64):
        s, p = runs[(wf, c, "stepcart")], runs[(wf, c, "peer")]
        print(f"| {wf} | {c} | {s['executionsPerSecond']:,.0f} | {s['runtime']} | {p['executionsPerSecond']:,.0f} | {p['runtime']} | {s['executionsPerSecond'] / p['executionsPerSecond']:.1f}x |")
        shared = runs.get((wf, c, "stepcart-shared"))
        if shared:
            print(f"| {wf} | {c}, shared definition | {shared['executionsPerSecond']:,.0f} | {shared['runtime']} | {p['executionsPerSecond']:,.0f} | {p['runtime']} | {shared['executionsPerSecond'] / p['executionsPerSecond']:.1f}x |")
print()
print("| workflow | stepcart c=2 / c=1, per-thread | c=2 / c=1, shared definition | peer c=2 / c=1 |")
print("|---|---|---|---|")
for wf in ("ten-state", "checkout"):
    one = runs[(wf, 1, "stepcart")]["executionsPerSecond"]
    two = runs[(wf, 2, "stepcart")]["executionsPerSecond"]
    shared = runs[(wf, 2, "stepcart-shared")]["executionsPerSecond"]
    peer = runs[(wf, 2, "peer")]["executionsPerSecond"] / runs[(wf, 1, "peer")]["executionsPerSecond"]
    print(f"| {wf} | {two / one:.2f}x | {shared / one:.2f}x | {peer:.2f}x |")
print()
print("| memory mode | parked executions | KiB per execution | snapshot JSON bytes |")
print("|---|---|---|---|")
for r in rows:
    if "mode" in r:
        print(f"| {r['mode']} | {r['parkedExecutions']} | {r['rssPerExecutionKiB']} | {r['snapshotJsonBytes']} |")
PY
