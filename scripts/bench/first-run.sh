#!/usr/bin/env bash
# Times the README's first command on a fresh clone with an empty target directory: the build plus one
# complete local checkout. Prints one JSON line.
#
#   scripts/bench/first-run.sh                    crates already downloaded (~/.cargo)
#   scripts/bench/first-run.sh --cold-registry    an empty CARGO_HOME: downloads every crate, as a new machine does
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/stepcart"
cd "$work/stepcart"
export CARGO_TARGET_DIR="$work/target"
cold=false
if [ "${1:-}" = "--cold-registry" ]; then
  cold=true
  export CARGO_HOME="$work/cargo-home"
fi
start=$(date +%s.%N)
cargo run -q -- run examples/carts/happy-path.json >"$work/stdout" 2>"$work/stderr"
end=$(date +%s.%N)
grep -q "SUCCEEDED" "$work/stdout" || { cat "$work/stdout" "$work/stderr"; exit 1; }
crates=$(find "$CARGO_TARGET_DIR/debug/deps" -name '*.rlib' | wc -l)
python3 -c "import json,sys; print(json.dumps({'command': 'cargo run -- run examples/carts/happy-path.json', 'freshTargetDir': True, 'coldRegistry': sys.argv[5] == 'true', 'seconds': round(float(sys.argv[2]) - float(sys.argv[1]), 1), 'rlibsBuilt': int(sys.argv[3]), 'cores': int(sys.argv[4])}))" "$start" "$end" "$crates" "$(nproc)" "$cold"
