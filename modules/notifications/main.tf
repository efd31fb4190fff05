# Customer notifications: notify-customer publishes to an SNS FIFO topic (MessageDeduplicationId = the
# notification's dedup key, MessageGroupId = the customer); the topic delivers to an SQS FIFO queue that the
# mail sender consumes. Messages SNS cannot deliver, and messages the sender fails on max_receive_count
# times, land in the dead-letter queue (alarmed by modules/monitoring). Everything is encrypted with the
# environment's key.

locals {
  topic_name = "${var.name_prefix}-notifications.fifo"
  queue_name = "${var.name_prefix}-notifications.fifo"
  dlq_name   = "${var.name_prefix}-notifications-dlq.fifo"
}

resource "aws_sns_topic" "notifications" {
  name                        = local.topic_name
  display_name                = "stepcart notifications"
  fifo_topic                  = true
  content_based_deduplication = false
  kms_master_key_id           = var.kms_key_arn
  tags                        = var.tags
}

resource "aws_sqs_queue" "dlq" {
  name                              = local.dlq_name
  fifo_queue                        = true
  message_retention_seconds         = var.dlq_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_sqs_queue" "notifications" {
  name                              = local.queue_name
  fifo_queue                        = true
  content_based_deduplication       = false
  deduplication_scope               = "messageGroup"
  fifo_throughput_limit             = "perMessageGroupId"
  message_retention_seconds         = var.message_retention_seconds
  visibility_timeout_seconds        = 60
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.notifications.arn]
  })
}

data "aws_iam_policy_document" "queues" {
  for_each = {
    notifications = aws_sqs_queue.notifications.arn
    dlq           = aws_sqs_queue.dlq.arn
  }

  statement {
    sid       = "TopicDeliversHere"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [each.value]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.notifications.arn]
    }
  }

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "notifications" {
  queue_url = aws_sqs_queue.notifications.id
  policy    = data.aws_iam_policy_document.queues["notifications"].json
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.queues["dlq"].json
}

resource "aws_sns_topic_subscription" "queue" {
  topic_arn            = aws_sns_topic.notifications.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.notifications.arn
  raw_message_delivery = true

  # What SNS cannot deliver to the queue goes to the dead-letter queue instead of being dropped.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
  })

  depends_on = [aws_sqs_queue_policy.notifications, aws_sqs_queue_policy.dlq]
}
