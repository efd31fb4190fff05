#!/usr/bin/env bash
# Deploys one stepcart environment: checks the tools and AWS credentials, builds the Lambda packages,
# then terraform init / plan / apply in environments/ENV, and prints the API URL.
#
#   scripts/deploy.sh ENV [plan|apply|destroy] [--yes] [--skip-build]
#
#   ENV           dev, staging or prod (a folder of environments/)
#   plan          (default) build, init and show the plan; changes nothing
#   apply         build, init, plan, then apply exactly that plan
#   destroy       init, plan the destruction, then apply it (no build; tables with deletion protection
#                 refuse: set deletion_protection = false and apply first)
#   --yes         do not ask; prod otherwise asks you to type "prod" before apply or destroy
#   --skip-build  use the packages already in the zip folder (CI artifacts)
#
# Environment: AWS_REGION (else the profile's region, else us-east-1), STEPCART_STATE_BUCKET (default
# stepcart-tfstate-<env>-<account>-<region>, made by scripts/setup-backend.sh), STEPCART_LAMBDA_ZIP_DIR
# (default target/lambda: <function>/bootstrap.zip per function).
#
# Exit status: 0 done, 1 a step failed or the confirmation was refused, 2 bad usage.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/aws-env.sh
. "$root/scripts/lib/aws-env.sh"

usage() {
  cat <<USAGE
usage: scripts/deploy.sh ENV [plan|apply|destroy] [--yes] [--skip-build]
  ENV: $(stepcart_environments "$root" | tr '\n' ' ' | sed 's/ $//')
USAGE
}

bad_usage() {
  echo "deploy.sh: $*" >&2
  usage >&2
  exit 2
}

step() { printf '\n==> %s\n' "$*" >&2; }

env=""
action=""
yes=0
skip_build=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    -y | --yes) yes=1 ;;
    --skip-build) skip_build=1 ;;
    -*) bad_usage "unknown option '$1'" ;;
    *)
      if [ -z "$env" ]; then
        env=$1
      elif [ -z "$action" ]; then
        action=$1
      else
        bad_usage "unexpected argument '$1'"
      fi
      ;;
  esac
  shift
done

[ -n "$env" ] || bad_usage "missing ENV"
stepcart_is_environment "$root" "$env" || bad_usage "unknown environment '$env'"
action=${action:-plan}
case "$action" in
  plan | apply | destroy) ;;
  *) bad_usage "unknown action '$action' (plan, apply or destroy)" ;;
esac

build=1
if [ "$action" = "destroy" ] || [ "$skip_build" -eq 1 ]; then
  build=0
fi

# ----------------------------------------------------------------------------------------- preflight
step "checking tools and credentials"
tools=(terraform aws)
if [ "$build" -eq 1 ]; then
  tools+=(cargo cargo-lambda)
fi
stepcart_require_tools "${tools[@]}" || exit 1

tf_version=$(terraform version 2>/dev/null | sed -n '1s/^Terraform v\([0-9][0-9.]*\).*/\1/p')
tf_major=${tf_version%%.*}
tf_minor=${tf_version#*.}
tf_minor=${tf_minor%%.*}
if ! [[ "$tf_major" =~ ^[0-9]+$ && "$tf_minor" =~ ^[0-9]+$ ]] || [ "$tf_major" -lt 1 ] ||
  { [ "$tf_major" -eq 1 ] && [ "$tf_minor" -lt 10 ]; }; then
  echo "terraform ${tf_version:-of unknown version} is too old: 1.10 or newer is needed (S3 native state locking)" >&2
  exit 1
fi

account=$(stepcart_account_id) || exit 1
region=$(stepcart_region)
bucket=$(stepcart_state_bucket "$env" "$account" "$region")
zip_dir=${STEPCART_LAMBDA_ZIP_DIR:-$root/target/lambda}
tf_vars=(-var "aws_region=$region")
if [ -n "${STEPCART_LAMBDA_ZIP_DIR:-}" ]; then
  # Otherwise the environment's default, ../../target/lambda, keeps the plan independent of where the
  # repository is checked out.
  tf_vars+=(-var "lambda_zip_dir=$STEPCART_LAMBDA_ZIP_DIR")
fi
env_dir="$root/environments/$env"
plan_file="$env_dir/.terraform/stepcart-$action.tfplan"
echo "environment $env, action $action, account $account, region $region, state s3://$bucket" >&2

# ---------------------------------------------------------------------------------------------- build
if [ "$build" -eq 1 ]; then
  step "building the Lambda packages"
  if [ -f "$root/scripts/build-lambdas.sh" ]; then
    (cd "$root" && bash scripts/build-lambdas.sh)
  else
    (cd "$root" && cargo lambda build --release --arm64 --output-format zip --package stepcart-lambdas)
  fi
fi
if [ "$action" != "destroy" ]; then
  # The functions to deploy are the keys of modules/permissions/functions.tf.
  missing=()
  while IFS= read -r function; do
    [ -f "$zip_dir/$function/bootstrap.zip" ] || missing+=("$zip_dir/$function/bootstrap.zip")
  done < <(sed -n 's/^    "\([a-z0-9-]*\)" = {$/\1/p' "$root/modules/permissions/functions.tf")
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "missing Lambda packages (build them, or set STEPCART_LAMBDA_ZIP_DIR):" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 1
  fi
fi

# ------------------------------------------------------------------------------------------ terraform
tf() { terraform -chdir="$env_dir" "$@"; }

step "terraform init (state s3://$bucket)"
tf init -input=false -reconfigure \
  -backend-config="bucket=$bucket" \
  -backend-config="region=$region"

step "terraform plan"
mkdir -p "$(dirname "$plan_file")"
if [ "$action" = "destroy" ]; then
  tf plan -input=false -destroy -out="$plan_file" "${tf_vars[@]}"
else
  tf plan -input=false -out="$plan_file" "${tf_vars[@]}"
fi

if [ "$action" = "plan" ]; then
  rm -f "$plan_file"
  echo "plan only: nothing was changed (scripts/deploy.sh $env apply to apply)" >&2
  exit 0
fi

if [ "$env" = "prod" ] && [ "$yes" -eq 0 ]; then
  printf 'This will %s prod in account %s. Type "prod" to go on: ' "$action" "$account" >&2
  answer=""
  read -r answer || true
  if [ "$answer" != "prod" ]; then
    rm -f "$plan_file"
    echo "not confirmed: nothing was changed" >&2
    exit 1
  fi
fi

step "terraform apply"
tf apply -input=false "$plan_file"
rm -f "$plan_file"

if [ "$action" = "destroy" ]; then
  echo "environment $env destroyed" >&2
  exit 0
fi

api_url=$(tf output -raw api_url)
echo >&2
echo "API URL: $api_url" >&2
echo "next: set the Stripe secrets (docs/deploy.md), then scripts/smoke.sh $env" >&2
printf '%s\n' "$api_url"
