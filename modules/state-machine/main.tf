# The checkout saga as a Standard state machine (exactly-once, up to a year, .waitForTaskToken for
# 3-D Secure), rendered from the same ASL file the local engine runs. Its role may invoke exactly the
# functions the definition names, deliver its logs and write traces.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id        = data.aws_caller_identity.current.account_id
  partition         = data.aws_partition.current.partition
  region            = data.aws_region.current.region
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name}"

  definition    = templatefile(var.definition_path, var.function_arns)
  invoked_arns  = sort(distinct(values(var.function_arns)))
  log_group_arn = aws_cloudwatch_log_group.this.arn
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a validated per-environment input (prod keeps execution logs 400 days, dev 14).
  # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy small (AWS's advice for Step Functions).
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "StepFunctionsAssumesRoleForThisStateMachine"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "Role of the ${var.name} state machine: invokes exactly its task functions."
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "InvokeTaskFunctions"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = local.invoked_arns
  }

  statement {
    # Vended log delivery: these actions support no resource-level permissions (AWS's documented policy).
    sid    = "DeliverExecutionLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    # X-Ray's actions support no resource-level permissions.
    sid       = "WriteTraces"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  #checkov:skip=CKV_AWS_290:Only log delivery and X-Ray actions use "*"; AWS documents no resource-level permissions for them.
  #checkov:skip=CKV_AWS_355:Only log delivery and X-Ray actions use "*"; AWS documents no resource-level permissions for them.
  name   = "invoke-tasks-and-log"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:include_execution_data is a per-environment input: dev logs every state with its input and output; staging and prod log no execution data because states' input and output hold customers' personal data (e-mail, shipping address). Step Functions keeps the execution history itself for 90 days.
  name       = var.name
  type       = "STANDARD"
  role_arn   = aws_iam_role.this.arn
  definition = local.definition
  publish    = false
  tags       = var.tags

  logging_configuration {
    log_destination        = "${local.log_group_arn}:*"
    include_execution_data = var.include_execution_data
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = var.tracing_enabled
  }

  # The role must hold its permissions before Step Functions validates the definition against it.
  depends_on = [aws_iam_role_policy.this]
}
