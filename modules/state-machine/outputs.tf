output "arn" {
  description = "ARN of the state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "role_arn" {
  description = "ARN of the state machine's role."
  value       = aws_iam_role.this.arn
}

output "invoked_function_arns" {
  description = "The Lambda ARNs the role may invoke (exactly the definition's functions)."
  value       = local.invoked_arns
}

output "log_group_name" {
  description = "Log group of the execution history."
  value       = aws_cloudwatch_log_group.this.name
}
