locals {
  # Longer than one worker run, with room for the SQS event source's retries (AWS: 6x timeout).
  visibility_timeout_seconds = var.worker_timeout_seconds * 6
}

resource "aws_sqs_queue" "trigger_dlq" {
  for_each                  = var.customers
  name                      = "${each.value.queue_name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = merge(local.tags, { customer = each.key })
}

resource "aws_sqs_queue" "trigger" {
  for_each                   = var.customers
  name                       = each.value.queue_name
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = 345600
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.trigger_dlq[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = merge(local.tags, { customer = each.key })

  lifecycle {
    postcondition {
      condition     = each.value.queue_arn == null || each.value.queue_arn == self.arn
      error_message = "config.json's sqs_queue_arn for ${each.key} differs from the queue Terraform manages (${self.arn})."
    }
  }
}

resource "aws_sqs_queue_redrive_allow_policy" "trigger_dlq" {
  for_each  = var.customers
  queue_url = aws_sqs_queue.trigger_dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.trigger[each.key].arn]
  })
}

resource "aws_sqs_queue_policy" "trigger" {
  for_each  = var.customers
  queue_url = aws_sqs_queue.trigger[each.key].id
  policy = templatefile("${local.policies}/trigger-queue.json.tftpl", {
    queue_arn  = aws_sqs_queue.trigger[each.key].arn
    bucket_arn = local.bucket_arn
    account_id = local.account_id
  })
}

# SES events (bounces, complaints, deliveries) of every customer account arrive here by SNS.
resource "aws_sqs_queue" "ses_events_dlq" {
  name                      = "${local.prefix}-ses-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = local.tags
}

resource "aws_sqs_queue" "ses_events" {
  name                       = "${local.prefix}-ses-events"
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = 1209600
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.ses_events_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = local.tags
}

resource "aws_sqs_queue_policy" "ses_events" {
  queue_url = aws_sqs_queue.ses_events.id
  policy = templatefile("${local.policies}/ses-events-queue.json.tftpl", {
    queue_arn = aws_sqs_queue.ses_events.arn
    topic_arns = jsonencode([
      for c in values(var.customers) : "arn:${local.partition}:sns:${c.region}:${c.account_id}:${local.prefix}-ses-events"
    ])
  })
}
