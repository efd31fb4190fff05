variable "name" {
  description = "Name of the state machine, e.g. stepcart-dev-checkout."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,80}$", var.name))
    error_message = "name must be 1 to 80 letters, digits, '-' or '_'."
  }
}

variable "definition_path" {
  description = "Path of the ASL definition template: the repository's workflows/checkout.asl.json, the same file the local engine runs."
  type        = string

  validation {
    condition     = fileexists(var.definition_path)
    error_message = "definition_path must name an existing file."
  }
}

variable "function_arns" {
  description = "Template variables: each <task>_function_arn placeholder of the definition => the Lambda ARN it invokes. Must name exactly the definition's placeholders; the role may invoke exactly these ARNs."
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.function_arns) : can(regex("^[a-z0-9_]+_function_arn$", k))])
    error_message = "Every key must be a <task>_function_arn placeholder name."
  }

  validation {
    condition     = alltrue([for v in values(var.function_arns) : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", v))])
    error_message = "Every value must be an unqualified Lambda function ARN."
  }

  # Exactly the definition's placeholders: a missing one would fail templatefile, an extra one would let the
  # role invoke a function the definition never calls.
  validation {
    condition = (
      length(setsubtract(keys(var.function_arns), flatten(regexall("\\$\\{([a-z0-9_]+_function_arn)\\}", file(var.definition_path))))) == 0 &&
      length(setsubtract(flatten(regexall("\\$\\{([a-z0-9_]+_function_arn)\\}", file(var.definition_path))), keys(var.function_arns))) == 0
    )
    error_message = "function_arns must name exactly the <task>_function_arn placeholders of the definition, no more, no fewer."
  }
}

variable "log_level" {
  description = "Execution history logged to CloudWatch Logs: ALL (every event), ERROR (failures) or FATAL."
  type        = string

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL (OFF is not allowed: failures must be logged)."
  }
}

variable "include_execution_data" {
  description = "Log states' input and output (customer e-mail and address included): dev only."
  type        = bool
}

variable "log_retention_days" {
  description = "Retention of the state machine's log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention values."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log group; null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "tracing_enabled" {
  description = "X-Ray tracing of executions."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
