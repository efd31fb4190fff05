# One stepcart environment, composed from ../../modules only. The three environments' main.tf are the same
# file (scripts/infra_tests checks it): everything that differs between them is a value in variables.tf,
# versions.tf (the state key) and terraform.tfvars.

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      project     = "stepcart"
      environment = var.environment
      managed_by  = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name_prefix        = "stepcart-${var.environment}"
  state_machine_name = "${local.name_prefix}-checkout"
  # Built from its parts, not taken from module.state_machine: the state machine depends on the functions, and
  # checkout-status (STEPCART_STATE_MACHINE_ARN, states:DescribeExecution) must not depend on it in turn.
  state_machine_arn = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:stateMachine:${local.state_machine_name}"
  # Relative to the environment folder, so plans do not change with the checkout's location.
  repository_root = "${path.root}/../.."
  lambda_zip_dir  = var.lambda_zip_dir == null ? "${local.repository_root}/target/lambda" : var.lambda_zip_dir
  functions       = module.permissions.functions
}

module "kms" {
  source = "../../modules/kms"

  name_prefix             = local.name_prefix
  deletion_window_in_days = var.kms_deletion_window_days
}

module "config" {
  source = "../../modules/config"

  environment     = var.environment
  kms_key_arn     = module.kms.key_arn
  stripe_api_base = var.stripe_api_base
}

module "dynamodb" {
  source = "../../modules/dynamodb"

  name_prefix                 = local.name_prefix
  deletion_protection         = var.deletion_protection
  point_in_time_recovery_days = var.point_in_time_recovery_days
  kms_key_arn                 = module.kms.key_arn
}

module "notifications" {
  source = "../../modules/notifications"

  name_prefix = local.name_prefix
  kms_key_arn = module.kms.key_arn
}

module "permissions" {
  source = "../../modules/permissions"

  environment                          = var.environment
  region                               = data.aws_region.current.region
  table_names                          = module.dynamodb.table_names
  table_arns                           = module.dynamodb.table_arns
  kms_key_arn                          = module.kms.key_arn
  stripe_secret_key_parameter_name     = module.config.stripe_secret_key_parameter_name
  stripe_secret_key_parameter_arn      = module.config.stripe_secret_key_parameter_arn
  stripe_webhook_secret_parameter_name = module.config.stripe_webhook_secret_parameter_name
  stripe_webhook_secret_parameter_arn  = module.config.stripe_webhook_secret_parameter_arn
  stripe_api_base                      = var.stripe_api_base
  notifications_topic_arn              = module.notifications.topic_arn
  state_machine_arn                    = local.state_machine_arn
  rust_log                             = var.rust_log
}

module "functions" {
  source   = "../../modules/lambda-function"
  for_each = local.functions

  function_name                  = "${local.name_prefix}-${each.key}"
  description                    = each.value.description
  zip_path                       = "${local.lambda_zip_dir}/${each.key}/bootstrap.zip"
  memory_size                    = lookup(var.lambda_memory_overrides, each.key, var.lambda_memory_mb)
  timeout                        = each.value.timeout
  environment                    = each.value.environment
  policy_statements              = each.value.policy_statements
  reserved_concurrent_executions = lookup(var.reserved_concurrency, each.key, null)
  log_retention_days             = var.log_retention_days
  application_log_level          = var.lambda_application_log_level
  kms_key_arn                    = module.kms.key_arn
}

module "state_machine" {
  source = "../../modules/state-machine"

  name            = local.state_machine_name
  definition_path = "${local.repository_root}/workflows/checkout.asl.json"
  function_arns = {
    for name, fn in local.functions : fn.placeholder => module.functions[name].arn if fn.placeholder != null
  }
  log_level              = var.state_machine_log_level
  include_execution_data = var.state_machine_include_execution_data
  log_retention_days     = var.log_retention_days
  kms_key_arn            = module.kms.key_arn
  tracing_enabled        = true
}

# The ARN the functions were given is the one the state machine got (a warning at plan/apply otherwise).
check "state_machine_arn" {
  assert {
    condition     = module.state_machine.arn == local.state_machine_arn
    error_message = "checkout-status describes ${local.state_machine_arn}, but the state machine is ${module.state_machine.arn}."
  }
}

module "api" {
  source = "../../modules/api"

  name                           = local.name_prefix
  stage_name                     = var.api_stage_name
  state_machine_arn              = module.state_machine.arn
  webhook_function_name          = module.functions["stripe-webhook"].function_name
  webhook_function_invoke_arn    = module.functions["stripe-webhook"].invoke_arn
  status_function_name           = module.functions["checkout-status"].function_name
  status_function_invoke_arn     = module.functions["checkout-status"].invoke_arn
  authorization                  = var.api_authorization
  throttle_rate_limit            = var.api_throttle_rate_limit
  throttle_burst_limit           = var.api_throttle_burst_limit
  daily_quota                    = var.api_daily_quota
  execution_logging_level        = var.api_execution_logging_level
  log_retention_days             = var.log_retention_days
  kms_key_arn                    = module.kms.key_arn
  manage_account_cloudwatch_role = var.manage_api_gateway_account
}

module "monitoring" {
  source = "../../modules/monitoring"

  name_prefix                 = local.name_prefix
  state_machine_arn           = module.state_machine.arn
  function_names              = [for name in keys(local.functions) : "${local.name_prefix}-${name}"]
  dlq_names                   = [module.notifications.dlq_name]
  api_name                    = module.api.name
  api_stage_name              = module.api.stage_name
  alarm_emails                = var.alarm_emails
  executions_failed_threshold = var.executions_failed_alarm_threshold
  lambda_errors_threshold     = var.lambda_errors_alarm_threshold
  kms_key_arn                 = module.kms.key_arn
}
