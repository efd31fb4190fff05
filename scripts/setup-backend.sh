#!/usr/bin/env bash
# Creates the S3 bucket that holds one environment's Terraform state, once per environment and account:
# versioned (every state version can be restored), encrypted (SSE-KMS with the AWS managed key, bucket
# key on), all public access blocked, objects owned by the bucket owner, TLS-only, old state versions
# expired after 90 days. Safe to run again: every step converges.
#
#   scripts/setup-backend.sh ENV        ENV: dev, staging or prod (a folder of environments/)
#
# Uses the current AWS credentials and region (AWS_REGION, else the profile's, else us-east-1). The bucket
# is stepcart-tfstate-<env>-<account>-<region>, or STEPCART_STATE_BUCKET. scripts/deploy.sh finds it the
# same way. State locking needs nothing more: the backend uses S3's native lock file (use_lockfile).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/aws-env.sh
. "$root/scripts/lib/aws-env.sh"

usage() {
  echo "usage: scripts/setup-backend.sh ENV   (ENV: $(stepcart_environments "$root" | tr '\n' ' ' | sed 's/ $//'))"
}

if [ "$#" -eq 1 ] && { [ "$1" = "-h" ] || [ "$1" = "--help" ]; }; then
  usage
  exit 0
fi
if [ "$#" -ne 1 ]; then
  usage >&2
  exit 2
fi
env=$1
if ! stepcart_is_environment "$root" "$env"; then
  echo "setup-backend.sh: unknown environment '$env'" >&2
  usage >&2
  exit 2
fi

stepcart_require_tools aws || exit 1
account=$(stepcart_account_id) || exit 1
region=$(stepcart_region)
bucket=$(stepcart_state_bucket "$env" "$account" "$region")

echo "state bucket for $env: s3://$bucket (account $account, region $region)" >&2

if aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
  echo "bucket exists; making sure its settings are right" >&2
elif [ "$region" = "us-east-1" ]; then
  aws s3api create-bucket --bucket "$bucket" --region "$region" >/dev/null
else
  aws s3api create-bucket --bucket "$bucket" --region "$region" \
    --create-bucket-configuration "LocationConstraint=$region" >/dev/null
fi
aws s3api wait bucket-exists --bucket "$bucket"

aws s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
aws s3api put-bucket-ownership-controls --bucket "$bucket" \
  --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'
aws s3api put-bucket-versioning --bucket "$bucket" --versioning-configuration Status=Enabled
aws s3api put-bucket-encryption --bucket "$bucket" --server-side-encryption-configuration \
  '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"},"BucketKeyEnabled":true}]}'
aws s3api put-bucket-lifecycle-configuration --bucket "$bucket" --lifecycle-configuration \
  '{"Rules":[{"ID":"expire-old-state-versions","Status":"Enabled","Filter":{},"NoncurrentVersionExpiration":{"NoncurrentDays":90},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}}]}'
policy='{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*",'
policy+='"Action":"s3:*","Resource":["arn:aws:s3:::BUCKET","arn:aws:s3:::BUCKET/*"],'
policy+='"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}'
aws s3api put-bucket-policy --bucket "$bucket" --policy "${policy//BUCKET/$bucket}"

echo "ready: scripts/deploy.sh $env plan" >&2
printf '%s\n' "$bucket"
