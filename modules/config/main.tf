# SSM parameters of one environment. The Stripe secrets are SecureStrings created with a placeholder:
# their real values are set outside Terraform (`aws ssm put-parameter --overwrite`, docs/deploy.md), so they
# never appear in a plan, a state file or a tfvars file, and Terraform never reverts them.

locals {
  prefix      = "/stepcart/${var.environment}"
  placeholder = "set-outside-terraform"
}

resource "aws_ssm_parameter" "stripe_secret_key" {
  name        = "${local.prefix}/stripe/secret-key"
  description = "Stripe secret API key (sk_live_... / sk_test_...). Set with: aws ssm put-parameter --overwrite --type SecureString."
  type        = "SecureString"
  tier        = "Standard"
  key_id      = var.kms_key_arn
  value       = local.placeholder
  tags        = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "stripe_webhook_secret" {
  name        = "${local.prefix}/stripe/webhook-secret"
  description = "Signing secret (whsec_...) of the Stripe webhook endpoint POST /webhooks/stripe. Set with: aws ssm put-parameter --overwrite --type SecureString."
  type        = "SecureString"
  tier        = "Standard"
  key_id      = var.kms_key_arn
  value       = local.placeholder
  tags        = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "stripe_api_base" {
  #checkov:skip=CKV2_AWS_34:A public URL, not a secret; a String parameter is readable in the console and in plans on purpose.
  name        = "${local.prefix}/stripe/api-base"
  description = "Base URL of the Stripe API."
  type        = "String"
  tier        = "Standard"
  value       = var.stripe_api_base
  tags        = var.tags
}
