variable "name_prefix" {
  description = "Prefix of the topic and queue names, e.g. stepcart-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 41 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the topic and the queues."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "message_retention_seconds" {
  description = "How long the delivery queue keeps an undelivered notification."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "dlq_retention_seconds" {
  description = "How long the dead-letter queue keeps a notification that could not be delivered (for inspection and redrive)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_retention_seconds >= 60 && var.dlq_retention_seconds <= 1209600
    error_message = "dlq_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "max_receive_count" {
  description = "Receives of a message by the mail sender before it moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be from 1 to 1000."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
