output "topic_arn" {
  description = "ARN of the notifications topic (SNS FIFO)."
  value       = aws_sns_topic.notifications.arn
}

output "topic_name" {
  description = "Name of the notifications topic."
  value       = aws_sns_topic.notifications.name
}

output "queue_arn" {
  description = "ARN of the delivery queue the mail sender consumes."
  value       = aws_sqs_queue.notifications.arn
}

output "queue_url" {
  description = "URL of the delivery queue."
  value       = aws_sqs_queue.notifications.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue (the QueueName dimension of its metrics)."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}
