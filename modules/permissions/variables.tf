variable "environment" {
  description = "Environment name (dev, staging, prod, ...), passed to the functions as STEPCART_ENV."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment))
    error_message = "environment must be 2 to 21 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the environment (scopes kms:ViaService)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "table_names" {
  description = "Table names by logical table, from modules/dynamodb."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["catalog", "stock", "reservations", "orders", "payments", "idempotency"], keys(var.table_names))) == 0
    error_message = "table_names must name the six tables of docs/data-model.md."
  }
}

variable "table_arns" {
  description = "Table ARNs by logical table, from modules/dynamodb."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["catalog", "stock", "reservations", "orders", "payments", "idempotency"], keys(var.table_arns))) == 0
    error_message = "table_arns must give the six tables of docs/data-model.md."
  }
}

variable "kms_key_arn" {
  description = "The environment's KMS key (tables, parameters, topic and environment variables are encrypted with it)."
  type        = string
}

variable "stripe_secret_key_parameter_name" {
  description = "Name of the SSM SecureString holding the Stripe secret key."
  type        = string
}

variable "stripe_secret_key_parameter_arn" {
  description = "ARN of the SSM SecureString holding the Stripe secret key."
  type        = string
}

variable "stripe_webhook_secret_parameter_name" {
  description = "Name of the SSM SecureString holding the Stripe webhook signing secret."
  type        = string
}

variable "stripe_webhook_secret_parameter_arn" {
  description = "ARN of the SSM SecureString holding the Stripe webhook signing secret."
  type        = string
}

variable "stripe_api_base" {
  description = "Base URL of the Stripe API, passed to the functions that call Stripe as STRIPE_API_BASE."
  type        = string
  default     = "https://api.stripe.com/"

  validation {
    condition     = can(regex("^https?://[^ ]+/$", var.stripe_api_base))
    error_message = "stripe_api_base must be a URL ending in '/'."
  }
}

variable "notifications_topic_arn" {
  description = "ARN of the notifications topic (SNS FIFO) notify-customer publishes to."
  type        = string
}

variable "state_machine_arn" {
  description = "ARN of the environment's checkout state machine, built from its name (not module.state_machine's output: the state machine depends on the functions, so that would be a cycle). checkout-status may describe its executions only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$", var.state_machine_arn))
    error_message = "state_machine_arn must be a state machine ARN: arn:<partition>:states:<region>:<account>:stateMachine:<name>."
  }
}

variable "rust_log" {
  description = "RUST_LOG filter of every function (tracing's EnvFilter syntax)."
  type        = string
  default     = "info"

  validation {
    condition     = can(regex("^[A-Za-z0-9_:=,.-]+$", var.rust_log))
    error_message = "rust_log must be an EnvFilter directive such as info or stepcart=debug,info."
  }
}
