output "alarm_topic_arn" {
  description = "ARN of the alarm topic (subscribe pagers or chat integrations to it)."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of every alarm."
  value = concat(
    [
      aws_cloudwatch_metric_alarm.executions_failed.alarm_name,
      aws_cloudwatch_metric_alarm.executions_timed_out.alarm_name,
      aws_cloudwatch_metric_alarm.executions_throttled.alarm_name,
      aws_cloudwatch_metric_alarm.api_5xx.alarm_name,
    ],
    [for a in aws_cloudwatch_metric_alarm.lambda_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.lambda_throttles : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dlq_depth : a.alarm_name],
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
