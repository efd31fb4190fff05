variable "name_prefix" {
  description = "Prefix of the alarm, topic and dashboard names, e.g. stepcart-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 41 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "state_machine_arn" {
  description = "ARN of the checkout state machine."
  type        = string
}

variable "function_names" {
  description = "Names of the Lambda functions to alarm on (errors and throttles) and chart."
  type        = list(string)

  validation {
    condition     = length(var.function_names) > 0
    error_message = "function_names must not be empty."
  }
}

variable "dlq_names" {
  description = "Names of the dead-letter queues whose depth must stay 0."
  type        = list(string)
  default     = []
}

variable "api_name" {
  description = "Name of the REST API (ApiName dimension)."
  type        = string
}

variable "api_stage_name" {
  description = "Stage of the REST API (Stage dimension)."
  type        = string
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses."
  }
}

variable "period_seconds" {
  description = "Period of every alarm's metric, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.period_seconds)
    error_message = "period_seconds must be 60, 300, 900 or 3600."
  }
}

variable "executions_failed_threshold" {
  description = "Failed executions per period that raise the alarm. Business failures (declined cards, out of stock) are FAILED executions too, so prod sets this above the normal rate."
  type        = number
  default     = 1

  validation {
    condition     = var.executions_failed_threshold >= 1
    error_message = "executions_failed_threshold must be at least 1."
  }
}

variable "lambda_errors_threshold" {
  description = "Errors of one function per period that raise its alarm. Business errors (InvalidCart, PaymentDeclined ...) are Lambda errors too."
  type        = number
  default     = 1

  validation {
    condition     = var.lambda_errors_threshold >= 1
    error_message = "lambda_errors_threshold must be at least 1."
  }
}

variable "api_5xx_threshold" {
  description = "5XX responses of the API per period that raise the alarm."
  type        = number
  default     = 1

  validation {
    condition     = var.api_5xx_threshold >= 1
    error_message = "api_5xx_threshold must be at least 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the alarm topic (its key policy must let cloudwatch.amazonaws.com use it)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
