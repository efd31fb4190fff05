variable "name_prefix" {
  description = "Prefix of the table names: <name_prefix>-<table>, e.g. stepcart-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 41 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "deletion_protection" {
  description = "Refuse DeleteTable on every table (turn off explicitly before destroying an environment)."
  type        = bool
}

variable "point_in_time_recovery_days" {
  description = "How many days back point-in-time recovery can restore a table."
  type        = number
  default     = 35

  validation {
    condition     = var.point_in_time_recovery_days >= 1 && var.point_in_time_recovery_days <= 35 && floor(var.point_in_time_recovery_days) == var.point_in_time_recovery_days
    error_message = "point_in_time_recovery_days must be a whole number from 1 to 35."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for server-side encryption; null uses the AWS managed key aws/dynamodb."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags for every table."
  type        = map(string)
  default     = {}
}
