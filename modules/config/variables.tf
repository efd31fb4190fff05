variable "environment" {
  description = "Environment name; parameters live under /stepcart/<environment>/."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment))
    error_message = "environment must be 2 to 21 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the SecureString parameters."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "stripe_api_base" {
  description = "Base URL of the Stripe API (a local Stripe API server in tests)."
  type        = string
  default     = "https://api.stripe.com/"

  validation {
    condition     = can(regex("^https://[^ ]+/$", var.stripe_api_base))
    error_message = "stripe_api_base must be an https URL ending in '/'."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
