output "functions" {
  description = "Every function to deploy, by name (the binary name; the function is stepcart-<env>-<name>): description, placeholder (the ASL placeholder its ARN fills, or null), timeout, policy_statements (for modules/lambda-function) and environment."
  value = {
    for name, fn in local.functions : name => {
      description       = fn.description
      placeholder       = fn.placeholder
      timeout           = fn.timeout
      policy_statements = local.policy_statements[name]
      environment       = local.environment[name]
    }
  }
}

output "function_names" {
  description = "Names of the functions, sorted."
  value       = sort(keys(local.functions))
}

output "placeholders" {
  description = "ASL placeholder => function name, for the functions the state machine invokes."
  value       = { for name, fn in local.functions : fn.placeholder => name if fn.placeholder != null }
}
