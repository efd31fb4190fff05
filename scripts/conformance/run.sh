#!/usr/bin/env bash
# Runs the ASL conformance suite on stepcart-asl and on aws-local-stepfunctions (the peer), then writes
# docs/conformance.md. Usage: scripts/conformance/run.sh
# Per-case results land in target/conformance/{stepcart,peer}.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CASES="$ROOT/crates/asl/tests/conformance"
TOOLS="$ROOT/.tools/conformance"
OUT="$ROOT/target/conformance"
PEER_VERSION="${PEER_VERSION:-3}"
mkdir -p "$OUT" "$TOOLS"

if [ ! -f "$TOOLS/node_modules/aws-local-stepfunctions/package.json" ]; then
  echo "installing aws-local-stepfunctions@$PEER_VERSION into $TOOLS" >&2
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "aws-local-stepfunctions@$PEER_VERSION" >&2
fi

echo "== stepcart-asl: cargo test --workspace --all-features --test conformance" >&2
rc=0
(cd "$ROOT" && CONFORMANCE_RESULTS="$OUT/stepcart.json" cargo test --workspace --all-features --test conformance -- --nocapture) || rc=$?

echo "== aws-local-stepfunctions" >&2
node "$ROOT/scripts/conformance/peer.mjs" "$CASES" "$OUT/peer.json" "$TOOLS/node_modules"

node "$ROOT/scripts/conformance/report.mjs" "$CASES" "$OUT/stepcart.json" "$OUT/peer.json" > "$ROOT/docs/conformance.md"
echo "wrote docs/conformance.md" >&2
exit "$rc"
