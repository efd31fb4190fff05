# Every setting of the environment. The three environments declare the same variables with the same types
# and validations; only the defaults differ (scripts/infra_tests checks it). Override any of them in
# terraform.tfvars (see terraform.tfvars.example).

variable "environment" {
  description = "Name of the environment: resources are named stepcart-<environment>-*."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment))
    error_message = "environment must be 2 to 21 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "aws_region" {
  description = "AWS region of the environment."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as us-east-1."
  }
}

variable "lambda_zip_dir" {
  description = "Folder holding <function>/bootstrap.zip for every function; null means the repository's target/lambda (cargo-lambda's default)."
  type        = string
  default     = null
}

variable "lambda_memory_mb" {
  description = "Memory of every function, in MB (CPU scales with it)."
  type        = number
  default     = 128

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be from 128 to 10240."
  }
}

variable "lambda_memory_overrides" {
  description = "Memory in MB of particular functions, by task name (e.g. { \"authorize-payment\" = 256 })."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.lambda_memory_overrides) : m >= 128 && m <= 10240])
    error_message = "Every override must be from 128 to 10240 MB."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of particular functions, by task name (e.g. { \"stripe-webhook\" = 20 }); the others share the account's pool. The account must keep 100 unreserved."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for c in values(var.reserved_concurrency) : c >= 0])
    error_message = "Reserved concurrency must be >= 0."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group (functions, state machine, API access logs), in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention values."
  }
}

variable "lambda_application_log_level" {
  description = "Lowest level of the functions' log lines that Lambda keeps."
  type        = string
  default     = "DEBUG"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.lambda_application_log_level)
    error_message = "lambda_application_log_level must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  }
}

variable "rust_log" {
  description = "RUST_LOG filter of every function."
  type        = string
  default     = "stepcart=debug,info"
}

variable "state_machine_log_level" {
  description = "Execution history logged by the state machine: ALL in dev, ERROR in prod."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR or FATAL."
  }
}

variable "state_machine_include_execution_data" {
  description = "Log states' input and output (personal data: dev only)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Deletion protection of the DynamoDB tables."
  type        = bool
  default     = false
}

variable "point_in_time_recovery_days" {
  description = "How many days back the tables can be restored."
  type        = number
  default     = 7

  validation {
    condition     = var.point_in_time_recovery_days >= 1 && var.point_in_time_recovery_days <= 35
    error_message = "point_in_time_recovery_days must be from 1 to 35."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period of a scheduled deletion of the environment's KMS key."
  type        = number
  default     = 7

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be from 7 to 30."
  }
}

variable "stripe_api_base" {
  description = "Base URL of the Stripe API."
  type        = string
  default     = "https://api.stripe.com/"
}

variable "api_stage_name" {
  description = "Stage of the API (first path segment of its URLs)."
  type        = string
  default     = "v1"
}

variable "api_authorization" {
  description = "Authorization of /checkouts: API_KEY or AWS_IAM."
  type        = string
  default     = "API_KEY"

  validation {
    condition     = contains(["API_KEY", "AWS_IAM"], var.api_authorization)
    error_message = "api_authorization must be API_KEY or AWS_IAM."
  }
}

variable "api_throttle_rate_limit" {
  description = "Requests per second the API accepts (stage and per key)."
  type        = number
  default     = 10
}

variable "api_throttle_burst_limit" {
  description = "Request burst the API accepts (stage and per key)."
  type        = number
  default     = 20
}

variable "api_daily_quota" {
  description = "Requests per day per API key; null for none."
  type        = number
  default     = 10000
}

variable "api_execution_logging_level" {
  description = "API Gateway execution logging: OFF, ERROR or INFO."
  type        = string
  default     = "INFO"
}

variable "manage_api_gateway_account" {
  description = "Whether this environment owns the account-wide API Gateway CloudWatch role (set true in exactly one environment per account and region)."
  type        = bool
  default     = true
}

variable "alarm_emails" {
  description = "E-mail addresses that receive the alarms."
  type        = list(string)
  default     = []
}

variable "executions_failed_alarm_threshold" {
  description = "Failed checkouts per 5 minutes that raise the alarm (declined cards and stock-outs included)."
  type        = number
  default     = 1
}

variable "lambda_errors_alarm_threshold" {
  description = "Errors of one function per 5 minutes that raise its alarm (business errors included)."
  type        = number
  default     = 1
}
