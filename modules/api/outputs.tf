output "rest_api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "name" {
  description = "Name of the REST API (the ApiName dimension of its metrics)."
  value       = aws_api_gateway_rest_api.this.name
}

output "stage_name" {
  description = "Name of the deployed stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "url" {
  description = "Base URL of the API, e.g. https://abc123.execute-api.us-east-1.amazonaws.com/v1 (no trailing slash)."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "checkouts_url" {
  description = "URL of POST /checkouts."
  value       = "${aws_api_gateway_stage.this.invoke_url}/checkouts"
}

output "stripe_webhook_url" {
  description = "URL to register as the Stripe webhook endpoint."
  value       = "${aws_api_gateway_stage.this.invoke_url}/webhooks/stripe"
}

output "api_key_id" {
  description = "Id of the default API key (null with AWS_IAM authorization); read its value with aws apigateway get-api-key --api-key ID --include-value."
  value       = local.api_key_required ? aws_api_gateway_api_key.default[0].id : null
}

output "access_log_group_name" {
  description = "Log group of the access logs."
  value       = aws_cloudwatch_log_group.access.name
}
