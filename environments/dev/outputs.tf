output "environment" {
  description = "Name of the environment."
  value       = var.environment
}

output "api_url" {
  description = "Base URL of the checkout API (POST /checkouts, GET /checkouts/{id})."
  value       = module.api.url
}

output "stripe_webhook_url" {
  description = "URL to register as the Stripe webhook endpoint."
  value       = module.api.stripe_webhook_url
}

output "api_key_id" {
  description = "Id of the default API key; its value: aws apigateway get-api-key --api-key ID --include-value --query value --output text."
  value       = module.api.api_key_id
}

output "state_machine_arn" {
  description = "ARN of the checkout state machine."
  value       = module.state_machine.arn
}

output "function_names" {
  description = "Deployed Lambda functions by task name."
  value       = { for name, m in module.functions : name => m.function_name }
}

output "table_names" {
  description = "DynamoDB tables by logical table."
  value       = module.dynamodb.table_names
}

output "stripe_secret_key_parameter" {
  description = "SSM parameter to set the Stripe secret key in (aws ssm put-parameter --overwrite --type SecureString)."
  value       = module.config.stripe_secret_key_parameter_name
}

output "stripe_webhook_secret_parameter" {
  description = "SSM parameter to set the Stripe webhook signing secret in."
  value       = module.config.stripe_webhook_secret_parameter_name
}

output "kms_key_arn" {
  description = "The environment's KMS key (pass it as --key-id when setting SecureString values)."
  value       = module.kms.key_arn
}

output "notifications_topic_arn" {
  description = "SNS FIFO topic of customer notifications."
  value       = module.notifications.topic_arn
}

output "notifications_queue_url" {
  description = "SQS FIFO queue the mail sender consumes."
  value       = module.notifications.queue_url
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = module.monitoring.alarm_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = module.monitoring.dashboard_name
}

output "account_id" {
  description = "AWS account the environment is deployed in."
  value       = data.aws_caller_identity.current.account_id
}

output "partition" {
  description = "AWS partition of the account."
  value       = data.aws_partition.current.partition
}
