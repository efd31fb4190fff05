# Least-privilege IAM statements and environment variables of every function, built from the matrix in
# functions.tf and the ARNs of the deployed tables, parameters, topic and key. This module creates nothing
# and needs no provider to evaluate (scripts/infra_tests evaluates it with Terraform itself).

locals {
  # arn:<partition>:states:<region>:<account>:execution:<state machine name>: (the ARNs of its executions).
  execution_arn_prefix = "${replace(var.state_machine_arn, ":stateMachine:", ":execution:")}:"

  # Services through which a function may use the environment's KMS key.
  kms_services = {
    for name, fn in local.functions : name => concat(
      ["lambda.${var.region}.amazonaws.com"],
      length(fn.tables) > 0 ? ["dynamodb.${var.region}.amazonaws.com"] : [],
      fn.stripe_secret_key || fn.stripe_webhook_secret ? ["ssm.${var.region}.amazonaws.com"] : [],
      fn.publish_notifications ? ["sns.${var.region}.amazonaws.com"] : [],
    )
  }

  policy_statements = {
    for name, fn in local.functions : name => concat(
      [
        for table, access in fn.tables : {
          sid       = "Table${replace(title(table), "-", "")}"
          actions   = [for a in access.actions : "dynamodb:${a}"]
          resources = [var.table_arns[table]]
          conditions = length(access.leading_keys) == 0 ? [] : [{
            test     = "ForAllValues:StringLike"
            variable = "dynamodb:LeadingKeys"
            values   = access.leading_keys
          }]
        }
      ],
      fn.stripe_secret_key ? [{
        sid        = "ReadStripeSecretKey"
        actions    = ["ssm:GetParameter"]
        resources  = [var.stripe_secret_key_parameter_arn]
        conditions = []
      }] : [],
      fn.stripe_webhook_secret ? [{
        sid        = "ReadStripeWebhookSecret"
        actions    = ["ssm:GetParameter"]
        resources  = [var.stripe_webhook_secret_parameter_arn]
        conditions = []
      }] : [],
      fn.task_callbacks ? [{
        # A task token issued by a service-integration Task cannot be scoped by IAM: the token is the capability.
        sid        = "AnswerTaskTokens"
        actions    = ["states:SendTaskSuccess", "states:SendTaskFailure"]
        resources  = ["*"]
        conditions = []
      }] : [],
      fn.describe_executions ? [{
        # Only the executions of this environment's checkout state machine (never StartExecution or history).
        sid        = "DescribeCheckoutExecutions"
        actions    = ["states:DescribeExecution"]
        resources  = ["${local.execution_arn_prefix}*"]
        conditions = []
      }] : [],
      fn.publish_notifications ? [{
        sid        = "PublishNotifications"
        actions    = ["sns:Publish"]
        resources  = [var.notifications_topic_arn]
        conditions = []
      }] : [],
      [{
        sid       = "UseEnvironmentKeyThroughServices"
        actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        resources = [var.kms_key_arn]
        conditions = [{
          test     = "StringEquals"
          variable = "kms:ViaService"
          values   = local.kms_services[name]
        }]
      }],
    )
  }

  environment = {
    for name, fn in local.functions : name => merge(
      {
        STEPCART_BACKEND = "aws"
        STEPCART_PAYMENT = "stripe"
        STEPCART_ENV     = var.environment
        RUST_LOG         = var.rust_log
      },
      { for table in keys(fn.tables) : "STEPCART_TABLE_${upper(table)}" => var.table_names[table] },
      fn.stripe_secret_key ? {
        STEPCART_STRIPE_SECRET_KEY_PARAMETER = var.stripe_secret_key_parameter_name
        STRIPE_API_BASE                      = var.stripe_api_base
      } : {},
      fn.stripe_webhook_secret ? {
        STEPCART_STRIPE_WEBHOOK_SECRET_PARAMETER = var.stripe_webhook_secret_parameter_name
      } : {},
      fn.describe_executions ? {
        STEPCART_STATE_MACHINE_ARN = var.state_machine_arn
      } : {},
      fn.publish_notifications ? {
        STEPCART_NOTIFICATIONS_TOPIC_ARN = var.notifications_topic_arn
      } : {},
    )
  }
}
