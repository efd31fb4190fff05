#!/usr/bin/env bash
# Runs every stepcart test on a fresh machine: installs what the tests need (from crates.io, npm, PyPI or
# Debian), then runs formatting, lint, unit, integration and end-to-end tests, and an independent ASL
# validator over the checkout definition.
#
#   scripts/test.sh            everything
#   STEPCART_SKIP_LINT=1 ...   skip rustfmt and clippy (quicker local iterations)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="${STEPCART_TOOLS_DIR:-$root/.tools}"
mkdir -p "$tools"

step() { printf '\n== %s\n' "$*" >&2; }

step "toolchain"
cargo --version >&2
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy >&2
fi

if [ -z "${STEPCART_SKIP_LINT:-}" ]; then
  step "rustfmt"
  cargo fmt --all -- --check
  step "clippy (workspace, all targets and features, warnings are errors)"
  cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
fi

step "the default stepcart build carries no AWS SDK, Stripe or Lambda runtime crate"
heavy=$(cargo tree --locked -p stepcart -e normal,build --prefix none | grep -E '^(aws-|async-stripe|lambda_runtime)' | sort -u || true)
if [ -n "$heavy" ]; then
  echo "the default build pulls in:" >&2; echo "$heavy" >&2; exit 1
fi

step "ASL: the checkout definition through an independent validator (npm asl-validator)"
if command -v npm >/dev/null 2>&1; then
  if [ ! -x "$tools/node_modules/.bin/asl-validator" ]; then
    npm install --silent --no-audit --no-fund --prefix "$tools" asl-validator@4 >&2
  fi
  rendered="$tools/checkout.rendered.asl.json"
  # Fill the ${...} placeholders the way Terraform's templatefile does, with well-formed Lambda ARNs.
  python3 - "$root/workflows/checkout.asl.json" "$rendered" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def arn(match):
    name = match.group(1).removesuffix("_function_arn").replace("_", "-")
    return f"arn:aws:lambda:us-east-1:123456789012:function:stepcart-test-{name}"
rendered = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", arn, text)
assert "${" not in rendered, "unfilled placeholder"
open(sys.argv[2], "w").write(rendered)
PY
  "$tools/node_modules/.bin/asl-validator" --json-path "$rendered" >&2
else
  echo "npm is not installed: cannot run asl-validator" >&2
  exit 1
fi

step "test services from PyPI: moto (DynamoDB, SSM, SNS, Step Functions APIs), localstripe (Stripe API), the AWS CLI"
# Each in its own virtualenv under .tools; the tests start and stop the servers themselves.
venv() { # dir requirement...
  local dir=$1
  shift
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'import sys; sys.exit(0)' 2>/dev/null; then
    python3 -m venv "$dir" >&2
  fi
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
}
venv "$tools/aws-py" 'moto[server]>=5.2,<6'
venv "$tools/stripe-py" 'localstripe>=1.15,<2'
venv "$tools/awscli-py" 'awscli>=1.33,<2' # the AWS CLI v1, driving stepcart serve's Step Functions API
export STEPCART_MOTO_PYTHON="$tools/aws-py/bin/python"
export STEPCART_LOCALSTRIPE_PYTHON="$tools/stripe-py/bin/python"

step "infrastructure: terraform fmt, checkov, consistency and deploy-script tests (scripts/test-infra.sh)"
bash scripts/test-infra.sh

step "tests (unit, integration, end-to-end)"
cargo test --workspace --all-features --locked 2>&1 | tee "$tools/cargo-test.log"
# cargo prints one summary per test binary; a single closing line makes the total easy to read.
python3 - "$tools/cargo-test.log" <<'PY'
import re, sys
passed = failed = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
    if m:
        passed += int(m.group(1)); failed += int(m.group(2))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY

step "the Step Functions API of stepcart serve through the AWS CLI (scripts/testing/awscli_test.sh)"
STEPCART_AWSCLI_VENV="$tools/awscli-py" bash scripts/testing/awscli_test.sh

step "the console in headless Chromium (scripts/testing/console/console.test.mjs, screenshots in docs/screenshots)"
if [ ! -x /usr/bin/chromium ]; then
  # Debian's Chromium; the test drives it with playwright-core (no browser download).
  { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } >&2
fi
npm install --silent --no-audit --no-fund --prefix scripts/testing/console >&2
STEPCART_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/stepcart" node scripts/testing/console/console.test.mjs
