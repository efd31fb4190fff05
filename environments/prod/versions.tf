terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Partial configuration: scripts/deploy.sh passes bucket and region at init
  # (-backend-config=bucket=stepcart-tfstate-<env>-<account>-<region> -backend-config=region=<region>).
  # use_lockfile: S3-native state locking (Terraform >= 1.10), no DynamoDB lock table.
  backend "s3" {
    key          = "stepcart/prod/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
