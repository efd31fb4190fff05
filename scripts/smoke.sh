#!/usr/bin/env bash
# Starts one checkout through a deployed environment's API and waits until it SUCCEEDED.
#
#   scripts/smoke.sh ENV [--cart FILE] [--timeout SECONDS]
#
# Reads the API URL and API key id from the environment's Terraform outputs (scripts/deploy.sh ENV apply
# first), the key's value from API Gateway, POSTs the cart (default examples/carts/happy-path.json, whose
# SKUs must be in the environment's catalog: stepcart aws bootstrap) with a fresh Idempotency-Key, then polls
# GET /checkouts/{key} every 2 s. Exit 0 when the execution SUCCEEDED; 1 when it FAILED, TIMED_OUT or
# ABORTED, the API refused the request, or it was still running after the timeout (default 120 s); 2 bad usage.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/aws-env.sh
. "$root/scripts/lib/aws-env.sh"

usage() {
  echo "usage: scripts/smoke.sh ENV [--cart FILE] [--timeout SECONDS]"
}

bad_usage() {
  echo "smoke.sh: $*" >&2
  usage >&2
  exit 2
}

env=""
cart="$root/examples/carts/happy-path.json"
timeout=120
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --cart)
      [ "$#" -ge 2 ] || bad_usage "--cart needs a file"
      cart=$2
      shift
      ;;
    --timeout)
      [ "$#" -ge 2 ] || bad_usage "--timeout needs a number of seconds"
      timeout=$2
      shift
      ;;
    -*) bad_usage "unknown option '$1'" ;;
    *)
      [ -z "$env" ] || bad_usage "unexpected argument '$1'"
      env=$1
      ;;
  esac
  shift
done
[ -n "$env" ] || bad_usage "missing ENV"
stepcart_is_environment "$root" "$env" || bad_usage "unknown environment '$env'"
[ -f "$cart" ] || bad_usage "no cart file '$cart'"
[[ "$timeout" =~ ^[0-9]+$ ]] || bad_usage "--timeout must be a whole number of seconds"

stepcart_require_tools terraform aws curl python3 || exit 1

tf_output() { terraform -chdir="$root/environments/$env" output -raw "$1"; }
api_url=$(tf_output api_url) || {
  echo "no api_url output for $env: deploy it first (scripts/deploy.sh $env apply)" >&2
  exit 1
}
key_id=$(tf_output api_key_id 2>/dev/null || true)
if [ -z "$key_id" ] || [ "$key_id" = "null" ]; then
  echo "$env has no API key (api_authorization = AWS_IAM): smoke.sh signs no requests; use awscurl" >&2
  exit 1
fi
api_key=$(aws apigateway get-api-key --api-key "$key_id" --include-value --query value --output text)

# Execution names: 1-80 characters, no whitespace or special characters.
name="smoke-$(date -u +%Y%m%dT%H%M%SZ)-$$-${RANDOM}"
body=$(mktemp)
trap 'rm -f "$body"' EXIT

# field FILE KEY: a top-level string field of a JSON document ("" when absent or not JSON).
field() {
  python3 -c 'import json,sys
try:
    value = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except Exception:
    value = ""
print(value if isinstance(value, str) else json.dumps(value))' "$1" "$2"
}

echo "POST $api_url/checkouts (Idempotency-Key: $name)" >&2
status=$(curl -sS -o "$body" -w '%{http_code}' -X POST "$api_url/checkouts" \
  -H "Content-Type: application/json" -H "x-api-key: $api_key" -H "Idempotency-Key: $name" \
  --data-binary "@$cart")
if [ "$status" != "202" ] && [ "$status" != "200" ]; then
  echo "the API answered $status:" >&2
  cat "$body" >&2
  echo >&2
  exit 1
fi
echo "started $(field "$body" executionArn)" >&2

deadline=$((SECONDS + timeout))
while :; do
  status=$(curl -sS -o "$body" -w '%{http_code}' "$api_url/checkouts/$name" -H "x-api-key: $api_key")
  if [ "$status" != "200" ]; then
    echo "GET /checkouts/$name answered $status:" >&2
    cat "$body" >&2
    echo >&2
    exit 1
  fi
  execution_status=$(field "$body" status)
  case "$execution_status" in
    SUCCEEDED)
      echo "SUCCEEDED: $(field "$body" output)" >&2
      exit 0
      ;;
    FAILED | TIMED_OUT | ABORTED)
      echo "$execution_status: $(field "$body" error): $(field "$body" cause)" >&2
      exit 1
      ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "still ${execution_status:-unknown} after ${timeout}s: giving up" >&2
    exit 1
  fi
  sleep 2
done
