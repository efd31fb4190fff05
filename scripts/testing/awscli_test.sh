#!/usr/bin/env bash
# The Step Functions API of `stepcart serve` through the AWS CLI (`aws stepfunctions ... --endpoint-url`):
# starts the server on a free 127.0.0.1 port with a fresh store, runs the main flows, prints `ok - <what>`
# per check and stops at the first failure (exit 1, with the server's log). The server is killed at exit.
#
#   scripts/testing/awscli_test.sh
#   STEPCART_BIN=target/debug/stepcart       the binary (default: $CARGO_TARGET_DIR or target, debug)
#   STEPCART_AWSCLI_VENV=.tools/awscli-py    where AWS CLI v1 is installed from PyPI (Debian's awscli if
#                                            pip cannot install it)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
venv="${STEPCART_AWSCLI_VENV:-$root/.tools/awscli-py}"
bin="${STEPCART_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/stepcart}"
machine_checkout="arn:aws:states:us-east-1:000000000000:stateMachine:stepcart-local-checkout"
role="arn:aws:iam::000000000000:role/x"

note() { printf '%s\n' "$*" >&2; }

# ----------------------------------------------------------------------------------------- the AWS CLI
if [ ! -x "$venv/bin/aws" ]; then
  note "installing AWS CLI v1 into $venv"
  if ! { python3 -m venv "$venv" >&2 &&
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'awscli>=1.33,<2' >&2; }; then
    note "pip could not install awscli; trying Debian's package"
    if ! command -v aws >/dev/null 2>&1; then
      apt-get install -y -q awscli >&2
    fi
  fi
fi
if [ -x "$venv/bin/aws" ]; then
  aws_cli="$venv/bin/aws"
else
  aws_cli=$(command -v aws)
fi
note "$("$aws_cli" --version 2>&1)"

if [ ! -x "$bin" ]; then
  note "no stepcart binary at $bin: build it (cargo build --workspace --all-features) or set STEPCART_BIN"
  exit 1
fi

# Dummy credentials, no user configuration, no pager.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
work=$(mktemp -d "${TMPDIR:-/tmp}/stepcart-awscli.XXXXXX")
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"

# ---------------------------------------------------------------------------------------- the server
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --addr 127.0.0.1:0 --db "$work/stepcart.db" --stripe-webhook-secret whsec_test \
  >"$work/server.out" 2>"$work/server.log" </dev/null &
server_pid=$!
url=""
for _ in $(seq 1 300); do
  line=$(head -n 1 "$work/server.out" 2>/dev/null || true)
  case $line in
    "listening on http://"*)
      url=${line#listening on }
      break
      ;;
  esac
  if ! kill -0 "$server_pid" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  note "stepcart serve did not print 'listening on http://ADDR'; its log:"
  cat "$work/server.log" >&2
  exit 1
fi
note "server at $url"

# ------------------------------------------------------------------------------------------- helpers
checks=0
ok() {
  checks=$((checks + 1))
  printf 'ok - %s\n' "$*"
}
fail() {
  printf 'not ok - %s\n' "$*"
  note "server log (tail):"
  tail -n 40 "$work/server.log" >&2 || true
  exit 1
}
sfn() { "$aws_cli" stepfunctions --endpoint-url "$url" --output json "$@"; }
# A field of the answer as text, through the CLI's own --query (JMESPath).
sfn_text() { "$aws_cli" stepfunctions --endpoint-url "$url" --output text "$@"; }
expect_eq() { # what got expected
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$3', got '$2'"; fi
}
# Two JSON texts are the same document.
same_json() {
  python3 -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' "$1" "$2"
}
expect_json() { # what got expected
  if same_json "$2" "$3"; then ok "$1"; else fail "$1: expected $3, got $2"; fi
}
# A call that must fail with a service error: exit code 254 or 255 and the code in stderr.
expect_error() { # what code args...
  local what=$1 code=$2 rc=0 err
  shift 2
  err=$(sfn "$@" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" -eq 0 ]; then
    fail "$what: expected $code, the call succeeded"
  fi
  case $rc in 254 | 255) ;; *) fail "$what: expected exit code 254 or 255, got $rc ($err)" ;; esac
  case $err in
    *"($code)"*) ok "$what -> $code (exit $rc)" ;;
    *) fail "$what: expected $code in stderr, got: $err" ;;
  esac
}
wait_done() { # execution-arn -> final status
  local status=RUNNING
  for _ in $(seq 1 300); do
    status=$(sfn_text describe-execution --execution-arn "$1" --query status)
    [ "$status" = RUNNING ] || break
    sleep 0.1
  done
  printf '%s\n' "$status"
}

greeter='{"StartAt": "Check", "States": {
  "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Greet"}], "Default": "Refuse"},
  "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('"'"'hello {}'"'"', $.who)"}, "End": true},
  "Refuse": {"Type": "Fail", "Error": "NotOk", "Cause": "ok was not true"}}}'

# ---------------------------------------------------------------------------------------------- flows
got=$(sfn_text list-state-machines --query "stateMachines[?name=='stepcart-local-checkout'].stateMachineArn | [0]")
expect_eq "list-state-machines shows the checkout machine" "$got" "$machine_checkout"

machine=$(sfn_text create-state-machine --name greeter --definition "$greeter" --role-arn "$role" \
  --query stateMachineArn)
expect_eq "create-state-machine" "$machine" "arn:aws:states:us-east-1:000000000000:stateMachine:greeter"

got=$(sfn_text describe-state-machine --state-machine-arn "$machine" --query '[name, type, roleArn]')
expect_eq "describe-state-machine" "$got" "$(printf 'greeter\tSTANDARD\t%s' "$role")"
definition=$(sfn_text describe-state-machine --state-machine-arn "$machine" --query definition)
expect_json "describe-state-machine returns the definition" "$definition" "$greeter"

got=$(sfn_text list-state-machines --query 'length(stateMachines)')
expect_eq "list-state-machines lists both machines" "$got" "2"

expect_error "create-state-machine with a bad definition" InvalidDefinition \
  create-state-machine --name broken --role-arn "$role" \
  --definition '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}'

run1=$(sfn_text start-execution --state-machine-arn "$machine" --name run-1 \
  --input '{"ok": true, "who": "ada"}' --query executionArn)
expect_eq "start-execution" "$run1" "arn:aws:states:us-east-1:000000000000:execution:greeter:run-1"
expect_eq "describe-execution: SUCCEEDED" "$(wait_done "$run1")" SUCCEEDED
output=$(sfn_text describe-execution --execution-arn "$run1" --query output)
expect_json "describe-execution: output" "$output" '{"greeting": "hello ada"}'

# As on AWS: once an execution has ended, its name cannot be started again, whatever the input.
expect_error "start-execution with the same name and input after it ended" ExecutionAlreadyExists \
  start-execution --state-machine-arn "$machine" --name run-1 --input '{"ok": true, "who": "ada"}'
expect_error "start-execution with the same name and another input" ExecutionAlreadyExists \
  start-execution --state-machine-arn "$machine" --name run-1 --input '{"ok": true, "who": "bob"}'

arns=("$run1")
for name in ok-1 ok-2 ok-3; do
  arns+=("$(sfn_text start-execution --state-machine-arn "$machine" --name "$name" \
    --input "{\"ok\": true, \"who\": \"$name\"}" --query executionArn)")
done
arns+=("$(sfn_text start-execution --state-machine-arn "$machine" --name ko-0 --input '{"ok": false}' \
  --query executionArn)")
for arn in "${arns[@]}"; do
  wait_done "$arn" >/dev/null
done
expect_eq "describe-execution: FAILED with the Fail state's error" \
  "$(sfn_text describe-execution --execution-arn "${arns[4]}" --query '[status, error]')" \
  "$(printf 'FAILED\tNotOk')"

got=$(sfn_text list-executions --state-machine-arn "$machine" --status-filter FAILED --query 'executions[].name')
expect_eq "list-executions --status-filter FAILED" "$got" "ko-0"
got=$(sfn_text list-executions --state-machine-arn "$machine" --status-filter SUCCEEDED \
  --query 'length(executions)')
expect_eq "list-executions --status-filter SUCCEEDED" "$got" "4"

# Pages of 2 (--page-size is the API's maxResults), walked with the CLI's --starting-token.
names=()
token=""
pages=0
while :; do
  args=(list-executions --state-machine-arn "$machine" --max-items 2 --page-size 2)
  if [ -n "$token" ]; then args+=(--starting-token "$token"); fi
  page=$(sfn "${args[@]}")
  pages=$((pages + 1))
  while IFS= read -r name; do
    [ -n "$name" ] && names+=("$name")
  done < <(python3 -c 'import json, sys; [print(e["name"]) for e in json.load(sys.stdin)["executions"]]' <<<"$page")
  token=$(python3 -c 'import json, sys; print(json.load(sys.stdin).get("NextToken") or "")' <<<"$page")
  [ -n "$token" ] || break
  [ "$pages" -lt 10 ] || fail "list-executions pagination does not end"
done
sorted=$(printf '%s\n' "${names[@]}" | sort | tr '\n' ' ')
expect_eq "list-executions --max-items 2 --starting-token: every execution once ($pages pages)" \
  "$sorted" "ko-0 ok-1 ok-2 ok-3 run-1 "

got=$(sfn_text get-execution-history --execution-arn "$run1" --query 'events[].type' | tr '\t' ' ')
expect_eq "get-execution-history: event types" "$got" \
  "ExecutionStarted ChoiceStateEntered ChoiceStateExited PassStateEntered PassStateExited ExecutionSucceeded"
got=$(sfn_text get-execution-history --execution-arn "$run1" --reverse-order --query 'events[].id' | tr '\t' ' ')
expect_eq "get-execution-history --reverse-order: ids descending" "$got" "6 5 4 3 2 1"
got=$(sfn_text get-execution-history --execution-arn "$run1" --max-items 2 --page-size 2 --query 'events[].id' |
  tr '\t' ' ' | head -n 1)
expect_eq "get-execution-history --max-items 2" "$got" "1 2"

expect_error "send-task-success with a garbage token" InvalidToken \
  send-task-success --task-token garbage --task-output '{}'
expect_error "describe-execution of an unknown execution" ExecutionDoesNotExist \
  describe-execution --execution-arn "arn:aws:states:us-east-1:000000000000:execution:greeter:nobody"
expect_error "start-execution on an unknown state machine" StateMachineDoesNotExist \
  start-execution --state-machine-arn "arn:aws:states:us-east-1:000000000000:stateMachine:nobody" --name x

sfn update-state-machine --state-machine-arn "$machine" \
  --definition "${greeter/hello/hi}" >/dev/null || fail "update-state-machine"
run2=$(sfn_text start-execution --state-machine-arn "$machine" --name after-update \
  --input '{"ok": true, "who": "ada"}' --query executionArn)
wait_done "$run2" >/dev/null
expect_json "update-state-machine: new executions use the new definition" \
  "$(sfn_text describe-execution --execution-arn "$run2" --query output)" '{"greeting": "hi ada"}'

if "$aws_cli" stepfunctions validate-state-machine-definition help >/dev/null 2>&1; then
  got=$(sfn_text validate-state-machine-definition --definition "$greeter" --query result)
  expect_eq "validate-state-machine-definition: a valid definition" "$got" OK
  got=$(sfn_text validate-state-machine-definition \
    --definition '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}' --query result)
  expect_eq "validate-state-machine-definition: an invalid definition" "$got" FAIL
else
  note "skip - validate-state-machine-definition: not in this AWS CLI"
fi

# StartSyncExecution: the CLI puts the `sync-` host prefix in front of any endpoint unless told not to.
express=$(sfn_text create-state-machine --name greeter-express --type EXPRESS --definition "$greeter" \
  --role-arn "$role" --query stateMachineArn)
sync=$(AWS_DISABLE_HOST_PREFIX_INJECTION=true sfn start-sync-execution --state-machine-arn "$express" \
  --input '{"ok": true, "who": "grace"}' 2>"$work/sync.err") || fail "start-sync-execution: $(cat "$work/sync.err")"
got=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])' <<<"$sync")
expect_eq "start-sync-execution: SUCCEEDED" "$got" SUCCEEDED
got=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["output"])' <<<"$sync")
expect_json "start-sync-execution: output" "$got" '{"greeting": "hello grace"}'

printf '# %d checks passed\n' "$checks"
