variable "function_name" {
  description = "Name of the Lambda function, e.g. stepcart-dev-reserve-stock."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1 to 64 letters, digits, '-' or '_'."
  }
}

variable "description" {
  description = "What the function does (shown in the Lambda console)."
  type        = string
  default     = ""

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters."
  }
}

variable "zip_path" {
  description = "Path of the deployment package: a zip holding the Rust binary as `bootstrap` (cargo-lambda's target/lambda/<name>/bootstrap.zip)."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must name a .zip file."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 128

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds. Keep it below the Task state's TimeoutSeconds so the function fails before the state times out."
  type        = number
  default     = 25

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "environment" {
  description = "Environment variables of the function (no secrets: secrets are read from SSM at run time)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k)) && !startswith(k, "AWS_")])
    error_message = "environment keys must be letters, digits and '_', start with a letter, and not use the reserved AWS_ prefix."
  }
}

variable "policy_statements" {
  description = "The only IAM statements the function's role gets besides writing its own logs and traces. Each is an Allow of `actions` on `resources`, with optional conditions."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid))])
    error_message = "Every statement needs an alphanumeric sid."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : length(s.actions) > 0 && length(s.resources) > 0])
    error_message = "Every statement needs at least one action and one resource."
  }

  validation {
    condition     = alltrue(flatten([for s in var.policy_statements : [for a in s.actions : a != "*" && !endswith(a, ":*")]]))
    error_message = "Wildcard actions (\"*\" or \"service:*\") are not allowed: name each action."
  }

  validation {
    condition     = length(distinct([for s in var.policy_statements : s.sid])) == length(var.policy_statements)
    error_message = "Statement sids must be unique."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for (and capping) this function; null leaves it in the account's unreserved pool."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null or a whole number >= 0."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "application_log_level" {
  description = "Lowest level of the function's own JSON log lines that Lambda keeps (advanced logging controls)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.application_log_level)
    error_message = "application_log_level must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  }
}

variable "system_log_level" {
  description = "Lowest level of the Lambda platform's log lines that are kept."
  type        = string
  default     = "WARN"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN"], var.system_log_level)
    error_message = "system_log_level must be DEBUG, INFO or WARN."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log group and the environment variables; null uses AWS-owned keys."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: Active samples and records requests; PassThrough only follows upstream decisions."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
