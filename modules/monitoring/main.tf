# Alarms to an (encrypted) alarm topic, and one dashboard: executions, functions, API, dead letters.

data "aws_region" "current" {}

locals {
  region         = data.aws_region.current.region
  alarm_actions  = [aws_sns_topic.alarms.arn]
  function_names = toset(var.function_names)
  dlq_names      = toset(var.dlq_names)
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  display_name      = "stepcart alarms (${var.name_prefix})"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# ------------------------------------------------------------------------------------------ Step Functions

resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  alarm_name          = "${var.name_prefix}-executions-failed"
  alarm_description   = "Checkout executions FAILED (business failures included): look at the execution history."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = var.state_machine_arn }
  statistic           = "Sum"
  period              = var.period_seconds
  evaluation_periods  = 1
  threshold           = var.executions_failed_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "executions_timed_out" {
  alarm_name          = "${var.name_prefix}-executions-timed-out"
  alarm_description   = "A checkout execution TIMED_OUT: a step hung beyond every timeout; reservations or payments may need an operator."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsTimedOut"
  dimensions          = { StateMachineArn = var.state_machine_arn }
  statistic           = "Sum"
  period              = var.period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "executions_throttled" {
  alarm_name          = "${var.name_prefix}-executions-throttled"
  alarm_description   = "Step Functions throttled state transitions of the checkout: checkouts slow down; raise the quota or the API throttling."
  namespace           = "AWS/States"
  metric_name         = "ExecutionThrottled"
  dimensions          = { StateMachineArn = var.state_machine_arn }
  statistic           = "Sum"
  period              = var.period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# ------------------------------------------------------------------------------------------------ Lambda

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = local.function_names

  alarm_name          = "${each.value}-errors"
  alarm_description   = "${each.value} returned errors (business errors such as PaymentDeclined count too)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = var.period_seconds
  evaluation_periods  = 1
  threshold           = var.lambda_errors_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each = local.function_names

  alarm_name          = "${each.value}-throttles"
  alarm_description   = "${each.value} was throttled: raise its reserved concurrency or the account's limit."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = var.period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# ------------------------------------------------------------------------------------------ dead letters

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.dlq_names

  alarm_name          = "${each.value}-not-empty"
  alarm_description   = "Messages in ${each.value}: notifications that could not be delivered. Inspect, fix, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = var.period_seconds
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# --------------------------------------------------------------------------------------------------- API

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${var.name_prefix}-api-5xx"
  alarm_description   = "The checkout API answered 5XX: Step Functions, the webhook function or API Gateway failed."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = var.api_name, Stage = var.api_stage_name }
  statistic           = "Sum"
  period              = var.period_seconds
  evaluation_periods  = 1
  threshold           = var.api_5xx_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# -------------------------------------------------------------------------------------------- dashboard

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = [
      {
        type   = "metric"
        x      = 0
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Checkouts"
          region = local.region
          stat   = "Sum"
          period = 60
          view   = "timeSeries"
          metrics = [
            for m in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionThrottled"] :
            ["AWS/States", m, "StateMachineArn", var.state_machine_arn]
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Checkout duration (ms)"
          region = local.region
          period = 60
          view   = "timeSeries"
          metrics = [
            ["AWS/States", "ExecutionTime", "StateMachineArn", var.state_machine_arn, { stat = "p50" }],
            ["AWS/States", "ExecutionTime", "StateMachineArn", var.state_machine_arn, { stat = "p99" }],
          ]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 6
        width  = 12
        height = 6
        properties = {
          title   = "Function errors and throttles"
          region  = local.region
          stat    = "Sum"
          period  = 60
          view    = "timeSeries"
          metrics = flatten([for f in var.function_names : [["AWS/Lambda", "Errors", "FunctionName", f], ["AWS/Lambda", "Throttles", "FunctionName", f]]])
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 6
        width  = 12
        height = 6
        properties = {
          title   = "Function duration p99 (ms)"
          region  = local.region
          stat    = "p99"
          period  = 60
          view    = "timeSeries"
          metrics = [for f in var.function_names : ["AWS/Lambda", "Duration", "FunctionName", f]]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 12
        width  = 12
        height = 6
        properties = {
          title  = "API requests and errors"
          region = local.region
          stat   = "Sum"
          period = 60
          view   = "timeSeries"
          metrics = [
            for m in ["Count", "4XXError", "5XXError"] : ["AWS/ApiGateway", m, "ApiName", var.api_name, "Stage", var.api_stage_name]
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 12
        width  = 12
        height = 6
        properties = {
          title   = "Dead letters"
          region  = local.region
          stat    = "Maximum"
          period  = 60
          view    = "timeSeries"
          metrics = [for q in var.dlq_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]]
        }
      },
    ]
  })
}
