output "prefix" {
  description = "Path under which the environment's parameters live."
  value       = local.prefix
}

output "stripe_secret_key_parameter_name" {
  description = "Name of the Stripe secret key parameter (SecureString)."
  value       = aws_ssm_parameter.stripe_secret_key.name
}

output "stripe_secret_key_parameter_arn" {
  description = "ARN of the Stripe secret key parameter."
  value       = aws_ssm_parameter.stripe_secret_key.arn
}

output "stripe_webhook_secret_parameter_name" {
  description = "Name of the Stripe webhook signing secret parameter (SecureString)."
  value       = aws_ssm_parameter.stripe_webhook_secret.name
}

output "stripe_webhook_secret_parameter_arn" {
  description = "ARN of the Stripe webhook signing secret parameter."
  value       = aws_ssm_parameter.stripe_webhook_secret.arn
}

output "stripe_api_base_parameter_name" {
  description = "Name of the Stripe API base URL parameter."
  value       = aws_ssm_parameter.stripe_api_base.name
}

output "stripe_api_base" {
  description = "The Stripe API base URL."
  value       = var.stripe_api_base
}
