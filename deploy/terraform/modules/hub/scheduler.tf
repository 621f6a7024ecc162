# The scheduler: EventBridge Scheduler invokes one Lambda every minute; each tick reads the index
# for the reminders, window notices and nudges due, and writes their triggers to customers/{code}/
# (If-None-Match: two ticks at once write each once). Its role reads config/ and writes only
# customers/*; it reads no archive, sends no mail and assumes no customer role.

resource "aws_cloudwatch_log_group" "scheduler" {
  name              = "/aws/lambda/${local.prefix}-scheduler"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.hub.arn
  tags              = local.tags
}

resource "aws_iam_role" "scheduler" {
  name = "${local.prefix}-scheduler"
  assume_role_policy = templatefile("${local.policies}/lambda-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "scheduler" {
  name = "schedule"
  role = aws_iam_role.scheduler.id
  policy = templatefile("${local.policies}/scheduler.json.tftpl", {
    bucket_arn    = local.bucket_arn
    kms_key_arn   = aws_kms_key.hub.arn
    secret_arn    = aws_secretsmanager_secret.runtime.arn
    db_secret_arn = local.database_secret_arn
    log_group_arn = aws_cloudwatch_log_group.scheduler.arn
  })
}

# ENIs in the VPC: the tick reads the index (RDS) from the private subnets.
resource "aws_iam_role_policy_attachment" "scheduler_vpc" {
  role       = aws_iam_role.scheduler.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "scheduler" {
  #checkov:skip=CKV_AWS_116:Invoked by EventBridge Scheduler every minute; a failed tick is repeated by the next one, a DLQ would hold nothing to act on.
  #checkov:skip=CKV_AWS_272:The zip is built and tested by `changecast package lambda` in CI; code signing needs an AWS Signer profile that this deployment does not assume.
  function_name    = "${local.prefix}-scheduler"
  role             = aws_iam_role.scheduler.arn
  runtime          = "python3.11"
  handler          = "changecast.workers.scheduler.handler"
  filename         = var.worker_zip
  source_code_hash = filebase64sha256(var.worker_zip)
  architectures    = [var.lambda_architecture]
  timeout          = 50
  memory_size      = 256
  kms_key_arn      = aws_kms_key.hub.arn

  reserved_concurrent_executions = 2 # overlapping ticks are safe; a pile-up is not useful

  environment {
    variables = local.common_env
  }

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.workers.id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.scheduler.name
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.scheduler, aws_iam_role_policy_attachment.scheduler_vpc]
}

resource "aws_iam_role" "scheduler_invoke" {
  name = "${local.prefix}-scheduler-invoke"
  assume_role_policy = templatefile("${local.policies}/scheduler-trust.json.tftpl", {
    account_id = local.account_id
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "scheduler_invoke" {
  name = "invoke-scheduler"
  role = aws_iam_role.scheduler_invoke.id
  policy = templatefile("${local.policies}/scheduler-invoke.json.tftpl", {
    kms_key_arn  = aws_kms_key.hub.arn
    function_arn = aws_lambda_function.scheduler.arn
  })
}

resource "aws_scheduler_schedule" "tick" {
  name                = "${local.prefix}-scheduler-tick"
  schedule_expression = "rate(1 minute)"
  kms_key_arn         = aws_kms_key.hub.arn # the target input, encrypted with the hub key

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.scheduler.arn
    role_arn = aws_iam_role.scheduler_invoke.arn
    input    = jsonencode({ source = "changecast.scheduler" })

    retry_policy {
      maximum_retry_attempts = 0 # the next minute's tick is the retry
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "scheduler_errors" {
  alarm_name          = "${local.prefix}-scheduler-errors"
  alarm_description   = "Scheduler ticks failed for 5 minutes (index unreachable, trigger writes refused): reminders and window notices are late."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.scheduler.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 5
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}
