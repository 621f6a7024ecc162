# Alarms to one SNS topic, and one dashboard. docs/runbooks/dashboard-and-alarms.md explains each.
resource "aws_sns_topic" "alarms" {
  name              = "${local.prefix}-alarms"
  kms_master_key_id = aws_kms_key.hub.arn
  tags              = local.tags
}

resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = templatefile("${local.policies}/alarm-topic.json.tftpl", {
    topic_arn  = aws_sns_topic.alarms.arn
    account_id = local.account_id
  })
}

resource "aws_sns_topic_subscription" "alarm_email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each            = var.customers
  alarm_name          = "${local.prefix}-${each.key}-dlq-not-empty"
  alarm_description   = "Triggers of ${each.key} failed ${var.max_receive_count} times and wait in the DLQ (runbook: dlq-redrive.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.trigger_dlq[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_trigger" {
  for_each            = var.customers
  alarm_name          = "${local.prefix}-${each.key}-oldest-trigger"
  alarm_description   = "A trigger of ${each.key} has waited over ${var.oldest_message_alarm_seconds}s: the worker is failing, throttled or stopped."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.trigger[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "worker_errors" {
  for_each            = var.customers
  alarm_name          = "${local.prefix}-${each.key}-worker-errors"
  alarm_description   = "The worker of ${each.key} failed whole invocations (crash, timeout, cold-start error)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.worker[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "worker_throttles" {
  for_each            = var.customers
  alarm_name          = "${local.prefix}-${each.key}-worker-throttles"
  alarm_description   = "The worker of ${each.key} was throttled (account concurrency exhausted)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.worker[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "ses_events_dlq_not_empty" {
  alarm_name          = "${local.prefix}-ses-events-dlq-not-empty"
  alarm_description   = "SES events (bounces, complaints) could not be processed."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.ses_events_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = local.tags
}

locals {
  codes = sort(keys(var.customers))
  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title  = "Triggers waiting (per customer)"
        region = local.region
        stat   = "Maximum"
        period = 60
        metrics = [for code in local.codes : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.trigger[code].name, { label = code }]]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title  = "Age of oldest trigger, seconds"
        region = local.region
        stat   = "Maximum"
        period = 60
        metrics = [for code in local.codes : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", aws_sqs_queue.trigger[code].name, { label = code }]]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title  = "Dead letters (per customer)"
        region = local.region
        stat   = "Maximum"
        period = 60
        metrics = [for code in local.codes : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.trigger_dlq[code].name, { label = code }]]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title  = "Worker errors and throttles"
        region = local.region
        stat   = "Sum"
        period = 300
        metrics = concat(
          [for code in local.codes : ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.worker[code].function_name, { label = "${code} errors" }]],
          [for code in local.codes : ["AWS/Lambda", "Throttles", "FunctionName", aws_lambda_function.worker[code].function_name, { label = "${code} throttles" }]]
        )
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title   = "Worker duration p95, ms"
        region  = local.region
        stat    = "p95"
        period  = 300
        metrics = [for code in local.codes : ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.worker[code].function_name, { label = code }]]
      }
    },
    {
      type = "alarm", x = 12, y = 12, width = 12, height = 6
      properties = {
        title = "Alarms"
        alarms = concat(
          [for code in local.codes : aws_cloudwatch_metric_alarm.dlq_not_empty[code].arn],
          [for code in local.codes : aws_cloudwatch_metric_alarm.oldest_trigger[code].arn],
          [for code in local.codes : aws_cloudwatch_metric_alarm.worker_errors[code].arn],
          [for code in local.codes : aws_cloudwatch_metric_alarm.worker_throttles[code].arn]
        )
      }
    }
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.prefix
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
