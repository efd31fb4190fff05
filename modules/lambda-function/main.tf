# One Rust task function: provided.al2023 on arm64 (Graviton), its log group, and a role that holds only
# the statements it is given (plus its own logs and X-Ray).

locals {
  log_group_name = "/aws/lambda/${var.function_name}"
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a validated per-environment input (prod keeps logs 400 days, dev 14); one year everywhere would bill dev logs for nothing.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.function_name
  description          = "Execution role of ${var.function_name}: only its own logs, traces and the statements of modules/permissions."
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    # X-Ray's write actions support no resource-level permissions.
    sid       = "WriteTraces"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.policy_statements

    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by Step Functions and API Gateway only; failures are retried and caught by the state machine, an async DLQ would never receive anything.
  #checkov:skip=CKV_AWS_117:The functions reach only public AWS endpoints and Stripe; a VPC would add NAT gateways (cost, a new failure point) without isolating anything.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and a signing step in the release pipeline; packages are built from the reviewed repository by scripts/deploy.sh. Tracked as a follow-up in docs/deploy.md.
  function_name                  = var.function_name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  runtime                        = "provided.al2023"
  architectures                  = ["arm64"]
  handler                        = "bootstrap"
  filename                       = var.zip_path
  source_code_hash               = fileexists(var.zip_path) ? filebase64sha256(var.zip_path) : null
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions == null ? -1 : var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [var.environment] : []

    content {
      variables = environment.value
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.application_log_level
    system_log_level      = var.system_log_level
  }

  lifecycle {
    # Evaluated when the function is created or updated; a destroy only warns, so an environment can be
    # torn down without building the packages first.
    precondition {
      condition     = fileexists(var.zip_path)
      error_message = "No deployment package at ${var.zip_path}: build the Lambdas first (scripts/deploy.sh does, or cargo lambda build --release --arm64 --output-format zip)."
    }
  }

  # The role must be able to write logs before the first invocation.
  depends_on = [aws_iam_role_policy.this]
}
