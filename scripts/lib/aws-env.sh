# Shared by scripts/setup-backend.sh, scripts/deploy.sh and scripts/smoke.sh (sourced, not run).
# shellcheck shell=bash

# The environments this repository defines: the folders of environments/.
stepcart_environments() {
  local root=$1 dir
  for dir in "$root"/environments/*/; do
    [ -f "$dir/main.tf" ] && basename "$dir"
  done
}

stepcart_is_environment() {
  local root=$1 env=$2
  [[ "$env" =~ ^[a-z][a-z0-9-]*$ ]] && [ -f "$root/environments/$env/main.tf" ]
}

# The region everything goes to: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's, else us-east-1.
stepcart_region() {
  local region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  if [ -z "$region" ]; then
    region=$(aws configure get region 2>/dev/null || true)
  fi
  printf '%s\n' "${region:-us-east-1}"
}

# The environment's state bucket: STEPCART_STATE_BUCKET, else stepcart-tfstate-<env>-<account>-<region>
# (bucket names are global, so the account and region make it unique).
stepcart_state_bucket() {
  local env=$1 account=$2 region=$3
  printf '%s\n' "${STEPCART_STATE_BUCKET:-stepcart-tfstate-$env-$account-$region}"
}

# Prints the account id of the current credentials, or explains what is wrong and returns 1.
stepcart_account_id() {
  local out err status
  err=$(mktemp)
  status=0
  out=$(aws sts get-caller-identity --query Account --output text 2>"$err") || status=$?
  if [ "$status" -ne 0 ] || ! [[ "$out" =~ ^[0-9]{12}$ ]]; then
    {
      echo "no usable AWS credentials: 'aws sts get-caller-identity' failed (exit $status):"
      sed 's/^/    /' "$err"
      echo "Configure credentials first (aws configure, aws sso login, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)."
    } >&2
    rm -f "$err"
    return 1
  fi
  rm -f "$err"
  printf '%s\n' "$out"
}

# Checks that every named command is on PATH; names each missing one with how to get it.
stepcart_require_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "missing tools: ${missing[*]}" >&2
  for tool in "${missing[@]}"; do
    case "$tool" in
      terraform) echo "  terraform: Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)" >&2 ;;
      aws) echo "  aws: AWS CLI v2 (apt-get install awscli, or AWS's installer)" >&2 ;;
      cargo) echo "  cargo: the Rust toolchain (rustup)" >&2 ;;
      cargo-lambda) echo "  cargo-lambda: pip install cargo-lambda ziglang (cross-compiles the arm64 Lambdas)" >&2 ;;
      curl) echo "  curl: apt-get install curl" >&2 ;;
      python3) echo "  python3: apt-get install python3" >&2 ;;
      *) echo "  $tool" >&2 ;;
    esac
  done
  return 1
}
