variable "name" {
  description = "Name of the REST API, e.g. stepcart-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,60}$", var.name))
    error_message = "name must be 3 to 61 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "stage_name" {
  description = "Name of the stage the API is deployed to (the first segment of every URL)."
  type        = string
  default     = "v1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,64}$", var.stage_name))
    error_message = "stage_name must be 1 to 64 letters, digits or '_'."
  }
}

variable "state_machine_arn" {
  description = "ARN of the checkout state machine that POST /checkouts starts (API Gateway's role may start its executions only)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]+$", var.state_machine_arn))
    error_message = "state_machine_arn must be a Step Functions state machine ARN."
  }
}

variable "webhook_function_name" {
  description = "Name of the stripe-webhook Lambda behind POST /webhooks/stripe."
  type        = string
}

variable "webhook_function_invoke_arn" {
  description = "Invoke ARN of the stripe-webhook Lambda."
  type        = string
}

variable "status_function_name" {
  description = "Name of the checkout-status Lambda behind GET /checkouts/{id} (API Gateway is allowed to invoke it for that route only)."
  type        = string
}

variable "status_function_invoke_arn" {
  description = "Invoke ARN of the checkout-status Lambda."
  type        = string
}

variable "authorization" {
  description = "How callers of /checkouts authenticate: API_KEY (x-api-key header, usage plan with throttling and quota) or AWS_IAM (SigV4, execute-api:Invoke). POST /webhooks/stripe is always open and verified by its Stripe-Signature."
  type        = string
  default     = "API_KEY"

  validation {
    condition     = contains(["API_KEY", "AWS_IAM"], var.authorization)
    error_message = "authorization must be API_KEY or AWS_IAM."
  }
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second allowed on the stage (and per API key). Keep it under Step Functions' StartExecution refill rate (300/s in the large regions)."
  type        = number

  validation {
    condition     = var.throttle_rate_limit > 0 && var.throttle_rate_limit <= 10000
    error_message = "throttle_rate_limit must be from 1 to 10000."
  }
}

variable "throttle_burst_limit" {
  description = "Burst of requests allowed on the stage (and per API key)."
  type        = number

  validation {
    condition     = var.throttle_burst_limit > 0 && var.throttle_burst_limit <= 5000 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number from 1 to 5000."
  }
}

variable "daily_quota" {
  description = "Requests per day per API key (API_KEY authorization); null for no quota."
  type        = number
  default     = null

  validation {
    condition     = var.daily_quota == null || try(var.daily_quota > 0, false)
    error_message = "daily_quota must be null or positive."
  }
}

variable "execution_logging_level" {
  description = "API Gateway execution logging (OFF, ERROR or INFO). Access logs are always on."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.execution_logging_level)
    error_message = "execution_logging_level must be OFF, ERROR or INFO."
  }
}

variable "log_retention_days" {
  description = "Retention of the access log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention values."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the access log group; null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "xray_tracing_enabled" {
  description = "X-Ray tracing of API requests."
  type        = bool
  default     = true
}

variable "manage_account_cloudwatch_role" {
  description = "Create the account-wide (per region) API Gateway CloudWatch Logs role that access and execution logs need. Exactly one environment per account and region should set it."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
